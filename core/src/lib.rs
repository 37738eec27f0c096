//! The traits of [anyrt](https://docs.rs/anyrt): one API over tokio, smol and green threads.
//!
//! Code written against [`Runtime`] runs unchanged on every backend. This crate holds the
//! traits, the errors ([`JoinError`], [`Elapsed`]), the timers built once on
//! [`Runtime::sleep`] ([`Timeout`], [`Interval`], [`YieldNow`]) and the address conversion
//! ([`net::ToSocketAddrs`]), and for backend authors the [`backend`] kit. It depends on no
//! runtime. Applications use the `anyrt` facade, which re-exports the traits, errors,
//! timers and the implicit API (not the kit) together with the backends.
//!
//! ```
//! use anyrt_core::{Runtime, RuntimeExt};
//! use anyrt_core::io::{AsyncReadExt, AsyncWriteExt};
//! use anyrt_core::net::TcpListener;
//! use std::time::Duration;
//!
//! /// An echo server, written once for every backend.
//! async fn serve<R: Runtime>(rt: R) -> std::io::Result<()> {
//!     let listener = rt.tcp_listen("127.0.0.1:0").await?;
//!     loop {
//!         let (mut stream, _) = listener.accept().await?;
//!         let rt2 = rt.clone();
//!         rt.spawn(async move {
//!             let mut buf = [0u8; 1024];
//!             while let Ok(Ok(n @ 1..)) = rt2.timeout(Duration::from_secs(30), stream.read(&mut buf)).await {
//!                 if stream.write_all(&buf[..n]).await.is_err() {
//!                     break;
//!                 }
//!             }
//!         });
//!     }
//! }
//! ```
//!
//! # Writing a backend
//!
//! A backend provides one `Clone + Send + Sync` handle type implementing [`Runtime`], with:
//!
//! * a [`JoinHandle`] type (drop detaches, `abort` cancels, panics are caught);
//! * a `Sleep` future that never completes early and never blocks inside `poll`;
//! * [`net::TcpListener`], [`net::TcpStream`] (futures-io `AsyncRead`/`AsyncWrite`) and
//!   [`net::UdpSocket`] whose futures return `Pending` until the socket is ready;
//! * host-name resolution off its workers ([`backend::each_addr`] does it through
//!   `spawn_blocking`).
//!
//! The [`backend`] module is the kit for this: join handles, panic catching, the misuse
//! check, address resolution. Each trait states what a backend must guarantee, and anyrt's
//! conformance suite checks it: today by adding the backend to the facade's
//! `#[anyrt::test]` stamping and running `cargo test --all-features`, so that every test in
//! the facade's `tests/` runs on it.

// Unsafe code is confined to `io` (the `ReadUninit` trait, an `unsafe trait` whose callers
// rely on its byte count) and that trait's implementations for the boxed streams.
#![deny(unsafe_code)]

pub mod backend;
pub mod dynamic;
pub mod implicit;
#[allow(unsafe_code)]
pub mod io;
pub mod net;
pub mod prelude;
mod runtime;
pub mod structured;
pub mod task;
pub mod time;

pub use runtime::{Runtime, RuntimeExt};
pub use task::{JoinError, JoinHandle};
pub use time::{Elapsed, Interval, Timeout, YieldNow};
