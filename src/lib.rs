//! Write concurrent Rust once — async or blocking-style — and run it on tokio, smol or green
//! threads, chosen by a Cargo feature.
//!
//! * [`Runtime`] (with [`RuntimeExt`]): spawning, timers, TCP and UDP, implemented by
//!   every backend: `Tokio`, `Smol` and `Green` (features `tokio`, `smol`, `green`).
//! * [`implicit`]: blocking-style code on any backend (coroutines on Green).
//! * [`macro@test`]: one test body, one `#[test]` per enabled backend.
//! * [`main`]: `async fn main` on [`runtime()`], the default runtime.
//!
//! ```
//! # #[cfg(feature = "tokio")] {
//! use anyrt::{Runtime, RuntimeExt};
//! use std::time::Duration;
//!
//! let rt = anyrt::Tokio::new();
//! let answer = rt.block_on(async {
//!     rt.sleep(Duration::from_millis(1)).await;
//!     rt.spawn(async { 42 }).await
//! });
//! assert_eq!(answer.unwrap(), 42);
//! # }
//! ```
//!
//! See the README for the two styles side by side, the feature table and what each
//! backend guarantees.
#![forbid(unsafe_code)]

pub use anyrt_core::{
    Elapsed, Interval, JoinError, JoinHandle, Runtime, RuntimeExt, Timeout, YieldNow, implicit, io,
    net, prelude, task, time,
};
pub use anyrt_macros::{main, test};

#[cfg(feature = "green")]
pub use anyrt_green::Green;
#[cfg(feature = "smol")]
pub use anyrt_smol::Smol;
#[cfg(feature = "tokio")]
pub use anyrt_tokio::Tokio;

/// The backend crates, for their concrete types (`anyrt::backend::tokio::TcpStream`, …).
pub mod backend {
    #[cfg(feature = "green")]
    pub use anyrt_green as green;
    #[cfg(feature = "smol")]
    pub use anyrt_smol as smol;
    #[cfg(feature = "tokio")]
    pub use anyrt_tokio as tokio;
}

cfg_if::cfg_if! {
    if #[cfg(feature = "tokio")] {
        /// The runtime `anyrt::runtime()` and `#[anyrt::main]` use: the first enabled of
        /// `Tokio`, `Smol`, `Green`.
        pub type DefaultRuntime = Tokio;
    } else if #[cfg(feature = "smol")] {
        /// The runtime `anyrt::runtime()` and `#[anyrt::main]` use: the first enabled of
        /// `Tokio`, `Smol`, `Green`.
        pub type DefaultRuntime = Smol;
    } else if #[cfg(feature = "green")] {
        /// The runtime `anyrt::runtime()` and `#[anyrt::main]` use: the first enabled of
        /// `Tokio`, `Smol`, `Green`.
        pub type DefaultRuntime = Green;
    }
}

#[cfg(any(feature = "tokio", feature = "smol", feature = "green"))]
mod default_runtime;
#[cfg(any(feature = "tokio", feature = "smol", feature = "green"))]
pub use default_runtime::runtime;

#[doc(hidden)]
pub mod __private;

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
