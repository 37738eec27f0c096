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
use std::io;
use std::sync::{Mutex, OnceLock};

use tokio::runtime::{EnterGuard, Handle, Runtime};

static RUNTIME: OnceLock<Runtime> = OnceLock::new();
static BUILDING: Mutex<()> = Mutex::new(());

thread_local! {
    /// Whether [`enter_for_good`] entered the shared runtime on this thread.
    static ENTERED: Cell<bool> = const { Cell::new(false) };
}

/// The shared runtime's handle, made on first use.
///
/// # Errors
///
/// The OS error if tokio cannot start its runtime (no descriptor or thread left for it).
/// Nothing is kept of a failure: the next call tries again.
///
/// ```
/// let handle = anyrt_core::backend::tokio_context::handle()?;
/// assert_eq!(handle.block_on(async { 1 + 1 }), 2);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn handle() -> io::Result<&'static Handle> {
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt.handle());
    }
    // One builder at a time; a failed build leaves nothing behind.
    let _building = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt.handle());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("anyrt-tokio-context")
        .enable_all()
        .build()?;
    Ok(RUNTIME.get_or_init(|| rt).handle())
}

/// Enters the shared runtime on this thread for as long as the thread lives, unless the
/// thread is in a tokio context already: for threads a backend owns and only runs its
/// tasks on. One thread-local read after the first call. If tokio cannot start its
/// runtime (no descriptor left, say), the thread stays outside (tokio's calls fail as they
/// would without the feature) and the next call tries again.
///
/// ```
/// anyrt_core::backend::tokio_context::enter_for_good();
/// assert!(tokio::runtime::Handle::try_current().is_ok());
/// ```
#[inline]
pub fn enter_for_good() {
    if ENTERED.get() {
        return;
    }
    if Handle::try_current().is_ok() {
        ENTERED.set(true);
        return;
    }
    if let Ok(handle) = handle() {
        ENTERED.set(true);
        // Never dropped: the thread stays in the context. A guard of tokio's own,
        // entered later on this thread, nests inside it and leaves in order.
        std::mem::forget(handle.enter());
    }
}

/// Enters the shared runtime until the guard drops, unless this thread is in a tokio
/// context already, or tokio cannot start its runtime (then `None`): for calls on threads
/// a backend does not own.
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
        Err(_) => handle().ok().map(Handle::enter),
    }
}
