//! A tokio context for backends that are not tokio (the `tokio-context` feature): code
//! that calls tokio's runtime — `tokio::spawn`, `tokio::time::sleep`, `tokio::net` —
//! inside a Smol or Green task or implicit thread finds a runtime instead of panicking
//! with "there is no reactor running".
//!
//! The runtime is one small tokio runtime shared by the process (one worker thread, I/O
//! and timers enabled), made on first use, as async-compat does. It is entered:
//!
//! * for good on the threads a backend owns (Smol's workers, may's workers): one
//!   thread-local check per task start, nothing per poll ([`enter_for_good`]);
//! * for the duration of the call on other threads (`block_on` on the caller's thread,
//!   `spawn_blocking` jobs, implicit OS threads: [`enter`]).
//!
//! Neither touches a thread that is already in a tokio context (a tokio runtime's own
//! thread, or a caller inside `Handle::enter`): there, that runtime serves tokio's calls.
//!
//! Cost: one OS thread (tokio's worker) and tokio's runtime, only once something runs on
//! a backend with the feature on; tokio's futures run their I/O and timers on that thread
//! and wake the anyrt task across threads, like any cross-runtime wake.

use std::cell::Cell;
use std::sync::OnceLock;

use tokio::runtime::{EnterGuard, Handle, Runtime};

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

thread_local! {
    /// Whether [`enter_for_good`] entered the shared runtime on this thread.
    static ENTERED: Cell<bool> = const { Cell::new(false) };
}

/// The shared runtime's handle, made on first use.
///
/// # Panics
///
/// If tokio cannot start its runtime (no thread or descriptor left for it): the same
/// failure `tokio::runtime::Runtime::new` reports, at the first tokio call.
///
/// ```
/// let handle = anyrt_core::backend::tokio_context::handle();
/// assert_eq!(handle.block_on(async { 1 + 1 }), 2);
/// ```
pub fn handle() -> &'static Handle {
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("anyrt-tokio-context")
                .enable_all()
                .build()
                .expect("anyrt's tokio context: tokio could not start its runtime")
        })
        .handle()
}

/// Enters the shared runtime on this thread for as long as the thread lives, unless the
/// thread is in a tokio context already: for threads a backend owns and only runs its
/// tasks on. One thread-local read after the first call.
///
/// ```
/// anyrt_core::backend::tokio_context::enter_for_good();
/// assert!(tokio::runtime::Handle::try_current().is_ok());
/// ```
#[inline]
pub fn enter_for_good() {
    if !ENTERED.get() {
        ENTERED.set(true);
        if Handle::try_current().is_err() {
            // Never dropped: the thread stays in the context. A guard of tokio's own,
            // entered later on this thread, nests inside it and leaves in order.
            std::mem::forget(handle().enter());
        }
    }
}

/// Enters the shared runtime until the guard drops, unless this thread is in a tokio
/// context already (then `None`): for calls on threads a backend does not own.
///
/// ```
/// let guard = anyrt_core::backend::tokio_context::enter();
/// assert!(tokio::runtime::Handle::try_current().is_ok());
/// drop(guard);
/// ```
#[must_use = "the context is left when the guard drops"]
pub fn enter() -> Option<EnterGuard<'static>> {
    match Handle::try_current() {
        Ok(_) => None,
        Err(_) => Some(handle().enter()),
    }
}
