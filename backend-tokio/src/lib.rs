//! The [tokio](https://tokio.rs) backend of [anyrt](https://docs.rs/anyrt).
//!
//! [`Tokio`] implements [`anyrt_core::Runtime`] on a tokio multi-thread runtime, either one
//! it owns ([`Tokio::new`], [`Tokio::builder`]) or one that already exists
//! ([`Tokio::from_handle`]).
//!
//! ```
//! use anyrt_core::Runtime;
//! use anyrt_tokio::Tokio;
//!
//! let rt = Tokio::new();
//! let task = rt.spawn(async { 1 + 1 });
//! assert_eq!(rt.block_on(task).unwrap(), 2);
//! ```
//!
//! Streams implement both futures-io's and tokio's `AsyncRead`/`AsyncWrite`, so code of the
//! tokio ecosystem keeps working on them.

// The one exception: the `unsafe impl` of `ReadUninit` on the streams (a promise that
// the byte count is what the socket wrote, no unsafe block).
#![deny(unsafe_code)]

mod net;
mod runtime;
mod spawn;
mod time;
#[cfg(unix)]
mod unix;

pub use net::{TcpListener, TcpStream, UdpSocket};
pub use runtime::{Builder, Tokio};
pub use spawn::{JoinHandle, TaskHandle};
pub use time::Sleep;
#[cfg(unix)]
pub use unix::{UnixDatagram, UnixListener, UnixStream};
