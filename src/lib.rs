#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub use anyrt_core::*;
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
