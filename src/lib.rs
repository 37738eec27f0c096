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
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use anyrt_core::{
    Elapsed, Interval, JoinError, JoinHandle, Runtime, RuntimeExt, Timeout, YieldNow, implicit, io,
    net, prelude, task, time,
};
pub use anyrt_macros::{main, test};

#[cfg(feature = "green")]
#[cfg_attr(docsrs, doc(cfg(feature = "green")))]
pub use anyrt_green::Green;
#[cfg(feature = "smol")]
#[cfg_attr(docsrs, doc(cfg(feature = "smol")))]
pub use anyrt_smol::Smol;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
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

mod any_runtime;
mod registry;

pub use any_runtime::AnyRuntime;
pub mod testing;

/// Runs `future` to completion on the default runtime ([`runtime()`]), blocking the
/// calling thread: the body of [`#[anyrt::main]`](macro@main). With no backend enabled it
/// is a compile error that names the features to enable.
///
/// ```
/// # #[cfg(any(feature = "tokio", feature = "smol", feature = "green"))] {
/// let answer = anyrt::block_on!(async { 6 * 7 });
/// assert_eq!(answer, 42);
/// # }
/// ```
#[cfg(any(feature = "tokio", feature = "smol", feature = "green"))]
#[macro_export]
macro_rules! block_on {
    ($future:expr) => {
        $crate::Runtime::block_on(&$crate::runtime(), $future)
    };
}

/// Runs `future` to completion on the default runtime; see the documentation built with a
/// backend. With no backend enabled, as here, it is a compile error naming the features.
#[cfg(not(any(feature = "tokio", feature = "smol", feature = "green")))]
#[macro_export]
macro_rules! block_on {
    ($future:expr) => {
        ::core::compile_error!(
            "anyrt has no backend enabled: enable the `tokio`, `smol` or `green` feature of anyrt"
        )
    };
}

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
