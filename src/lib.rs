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
// Unsafe code is confined to `hyper` (hyper's read buffer is uninitialised memory).
#![deny(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use anyrt_core::{
    Elapsed, Interval, JoinError, JoinHandle, Runtime, RuntimeExt, Timeout, YieldNow, dynamic,
    implicit, io, net, prelude, structured, task, time,
};

/// Runtime-neutral synchronisation, re-exported from the crates of this field rather than
/// written again: they work on every backend and between backends (an async task of one
/// and an implicit thread of another can share a channel; blocking-style code waits with
/// `implicit::block_on`, or uses the same primitives with blocking methods from
/// [`implicit::sync`]).
///
/// * channels: [`channel`](sync::channel) is async-channel (`bounded`, `unbounded`; MPMC,
///   each message to one receiver); [`broadcast`](sync::broadcast) is async-broadcast
///   (every receiver gets every message: pub/sub, shutdown notices);
/// * locks and counters: [`Mutex`](sync::Mutex), [`RwLock`](sync::RwLock),
///   [`Semaphore`](sync::Semaphore), [`Barrier`](sync::Barrier) from async-lock (no
///   poisoning);
/// * [`Event`](sync::Event) from event-listener, to build others.
///
/// ```
/// # #[cfg(feature = "tokio")] {
/// use anyrt::Runtime;
/// use anyrt::sync::{Mutex, channel};
/// use std::sync::Arc;
///
/// let rt = anyrt::Tokio::new();
/// let total = rt.block_on(async {
///     let (tx, rx) = channel::bounded(1);
///     let total = Arc::new(Mutex::new(0));
///     let t = total.clone();
///     let h = rt.spawn(async move { *t.lock().await += rx.recv().await.unwrap() });
///     tx.send(5).await.unwrap();
///     h.await.unwrap();
///     let n = *total.lock().await;
///     n
/// });
/// assert_eq!(total, 5);
///
/// // Pub/sub: both subscribers get the message.
/// let (tx, mut a) = anyrt::sync::broadcast::broadcast::<&str>(8);
/// let mut b = a.clone();
/// rt.block_on(async {
///     tx.broadcast("news").await.unwrap();
///     assert_eq!((a.recv().await.unwrap(), b.recv().await.unwrap()), ("news", "news"));
/// });
/// # }
/// ```
pub mod sync {
    pub use async_broadcast as broadcast;
    pub use async_channel as channel;
    pub use async_lock::{Barrier, Mutex, RwLock, Semaphore};
    pub use event_listener::Event;
}

/// Combining futures.
///
/// * From futures-lite: [`zip`](future::zip) and [`try_zip`](future::try_zip) run two to
///   completion, [`or`](future::or) and [`race`](future::race) take the first, and
///   [`FutureExt`](future::FutureExt) adds `.or()`, `.race()`, `.boxed()`, `.catch_unwind()`.
/// * From futures-util, the macros: [`join!`](future::join) and
///   [`try_join!`](future::try_join) for any number of futures, and
///   [`select!`](future::select) / [`select_biased!`](future::select_biased), whose
///   branches must be [`FusedFuture`](future::FusedFuture)s: every runtime's `Sleep`, a
///   [`Timeout`] and an interval's
///   [`Tick`](anyrt_core::time::Tick) are; any other future becomes one with
///   [`fuse`](future::fuse).
///
/// ```
/// # #[cfg(feature = "tokio")] {
/// use anyrt::Runtime;
/// use anyrt::future::{fuse, join, select};
/// use std::time::Duration;
///
/// let rt = anyrt::Tokio::new();
/// rt.block_on(async {
///     let (a, b, c) = join!(async { 1 }, async { 2 }, async { 3 });
///     assert_eq!(a + b + c, 6);
///
///     let (tx, rx) = anyrt::sync::channel::bounded::<&str>(1);
///     tx.send("message").await.unwrap();
///     let mut timer = std::pin::pin!(rt.sleep(Duration::from_secs(60)));
///     let mut recv = std::pin::pin!(fuse(rx.recv()));
///     let got = select! {
///         () = timer => "timed out",
///         m = recv => m.unwrap(),
///     };
///     assert_eq!(got, "message");
/// });
/// # }
/// ```
pub mod future {
    pub use futures_lite::future::{
        FutureExt, or, pending, poll_fn, race, ready, try_zip, yield_now, zip,
    };
    pub use futures_util::future::{Fuse, FusedFuture};
    pub use futures_util::{join, select, select_biased, try_join};

    /// Makes `future` a [`FusedFuture`] (it stays pending once it has completed), so it
    /// can be a branch of [`select!`]. futures-util's `FutureExt::fuse`, as a function so
    /// that it does not clash with futures-lite's [`FutureExt`].
    ///
    /// ```
    /// use anyrt::future::{FusedFuture, fuse};
    ///
    /// let f = fuse(async { 1 });
    /// assert!(!f.is_terminated());
    /// ```
    pub fn fuse<F: std::future::Future>(future: F) -> Fuse<F> {
        futures_util::FutureExt::fuse(future)
    }
}
pub use anyrt_macros::{main, test};

#[cfg(feature = "hyper")]
#[cfg_attr(docsrs, doc(cfg(feature = "hyper")))]
#[allow(unsafe_code)]
pub mod hyper;

#[cfg(feature = "green")]
#[cfg_attr(docsrs, doc(cfg(feature = "green")))]
pub use anyrt_green::Green;

/// Unmodified blocking code on green threads: opt-in patching of libc's blocking socket
/// and sleep calls, gevent's monkey-patching for Rust (feature `patch`, Linux with glibc).
///
/// After [`patch::enable()`](crate::patch::enable) (or `Green::builder().patch(true)`), plain
/// `std::net` code, `std::thread::sleep`, `getaddrinfo` and the sync APIs of crates built
/// on them (tungstenite, ureq, blocking database clients) suspend only their green thread
/// instead of a whole may worker. Everything on OS threads (so on the Tokio and Smol
/// backends), and every socket its user made non-blocking, passes through untouched.
/// Only applications enable it, never libraries: the interposed symbols are process-wide.
/// What it covers, how, and what it cannot reach (futex-based locks: use
/// [`implicit::sync`]; raw syscalls; disk files; static builds):
/// [`anyrt_green::patch`].
///
/// ```no_run
/// use std::io::{Read, Write};
///
/// anyrt::patch::enable()?;
/// let rt = anyrt::Green::new();
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let addr = listener.local_addr()?;
/// let server = anyrt::implicit::spawn(&rt, move || -> std::io::Result<()> {
///     let (mut s, _) = listener.accept()?; // plain std: suspends only this green thread
///     let mut buf = [0; 4];
///     s.read_exact(&mut buf)?;
///     s.write_all(&buf)
/// });
/// let mut c = std::net::TcpStream::connect(addr)?;
/// c.write_all(b"ping")?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[cfg(feature = "patch")]
#[cfg_attr(docsrs, doc(cfg(feature = "patch")))]
pub mod patch {
    pub use anyrt_green::patch::{enable, is_enabled};
}
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
