//! Starting may's scheduler: errors instead of panics, and what runs beside it (the stack
//! overflow handler, the stall monitor).
//!
//! may starts its scheduler on the first spawn and panics if it cannot (no descriptor left
//! for its event loops, say), which poisons it for the life of the process. So anyrt-green
//! starts it on purpose, from [`crate::Builder::build`]: it first checks that the
//! descriptors may needs can be had (an error then leaves may untouched, and a later
//! `build` can try again), then spawns the first coroutine.

use std::any::Any;
use std::cell::Cell;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once, OnceLock};
use std::time::Duration;

use crate::poll_loop::lock;

static STARTED: AtomicBool = AtomicBool::new(false);
/// Why may's scheduler cannot run in this process, once that is known.
static FAILED: Mutex<Option<String>> = Mutex::new(None);

/// Stack of the first coroutine, which only installs a signal handler.
const FIRST_STACK: usize = 32 * 1024;

/// How long the first coroutine may take to run once spawned.
const FIRST_RUN: Duration = Duration::from_secs(10);

/// Starts may's scheduler, if it does not run yet.
///
/// # Errors
///
/// The OS error if the descriptors may's event loops need cannot be had (nothing is
/// started then, and a later call tries again); an error naming may's failure if may
/// itself failed to start (final for this process).
#[inline]
pub(crate) fn ensure_started() -> io::Result<()> {
    if STARTED.load(Ordering::Acquire) {
        return Ok(());
    }
    start_slow()
}

#[cold]
fn start_slow() -> io::Result<()> {
    let mut failed = lock(&FAILED);
    if STARTED.load(Ordering::Acquire) {
        return Ok(());
    }
    if let Some(why) = &*failed {
        return Err(io::Error::other(why.clone()));
    }
    preflight(crate::runtime::workers())?;
    install_panic_filter();
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    // generator (may's coroutine crate) installs its stack-overflow handler when the first
    // coroutine starts; ours must go in front of it, so the first coroutine installs it.
    let first = crate::spawn::spawn_started(FIRST_STACK, move || {
        crate::overflow::install();
        let _ = tx.send(());
    });
    if let Err(e) = first {
        let why = format!("anyrt-green: may's scheduler failed to start: {e}");
        *failed = Some(why.clone());
        return Err(io::Error::other(why));
    }
    if rx.recv_timeout(FIRST_RUN).is_err() {
        let why = format!(
            "anyrt-green: may's workers did not run their first coroutine within {FIRST_RUN:?}"
        );
        *failed = Some(why.clone());
        return Err(io::Error::new(io::ErrorKind::TimedOut, why));
    }
    crate::monitor::start();
    STARTED.store(true, Ordering::Release);
    Ok(())
}

/// Checks that may's event loops can get their descriptors (an epoll instance and an
/// eventfd per worker), and keeps one for closing sockets early (see [`placeholder_fd`]).
fn preflight(workers: usize) -> io::Result<()> {
    let mut probe = Vec::with_capacity(2 * workers);
    for _ in 0..2 * workers {
        probe.push(UnixDatagram::unbound()?);
    }
    drop(probe);
    if PLACEHOLDER.get().is_none() {
        let _ = PLACEHOLDER.set(UnixDatagram::unbound()?);
    }
    Ok(())
}

static PLACEHOLDER: OnceLock<UnixDatagram> = OnceLock::new();

/// A descriptor that stays open for the life of the process and is never read or written:
/// a closed socket's descriptor number is pointed at it (`dup2`), which closes the socket
/// at once while the number stays taken until may lets go of it (see `net.rs`).
pub(crate) fn placeholder_fd() -> Option<RawFd> {
    PLACEHOLDER.get().map(|s| s.as_raw_fd())
}

std::thread_local! {
    /// Set on may's worker threads, the first time a green coroutine runs on one.
    static WORKER: Cell<bool> = const { Cell::new(false) };
}

/// Called first by every green coroutine: marks the thread as a may worker (for the
/// overflow handler, and for the stall monitor, which watches the workers' states).
#[inline]
pub(crate) fn on_worker() {
    if !WORKER.get() {
        WORKER.set(true);
        crate::monitor::register_worker();
        // may's workers run only green coroutines: they stay in the tokio context.
        #[cfg(feature = "tokio-context")]
        anyrt_core::backend::tokio_context::enter_for_good();
    }
}

/// Whether this thread is one of may's workers.
pub(crate) fn is_worker() -> bool {
    WORKER.get()
}

/// What generator panics with when the kernel refuses a stack mapping.
const STACK_REFUSED: &str = "failed to alloc sys stack";

/// Runs `f` (a may spawn), catching a panic: may's panics there are turned into errors
/// (the panic hook stays quiet about a refused stack, see [`install_panic_filter`]).
#[inline]
pub(crate) fn quietly<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
}

/// Chains a panic hook that stays silent for generator's "failed to alloc sys stack",
/// which [`quietly`] turns into an error naming the limit. (A flag set around every spawn
/// would cost each spawn two thread-local writes; only generator panics with this text.)
fn install_panic_filter() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let refused = anyrt_core::backend::panic_message(info.payload())
                .is_some_and(|m| m.starts_with(STACK_REFUSED));
            if !refused {
                previous(info);
            }
        }));
    });
}

/// The error for a spawn in which may panicked (`payload`).
pub(crate) fn spawn_panicked(stack_bytes: usize, payload: &(dyn Any + Send)) -> io::Error {
    let what = anyrt_core::backend::panic_message(payload).unwrap_or_else(|| "a panic".into());
    if what.starts_with(STACK_REFUSED) {
        return stack_refused(stack_bytes, &what);
    }
    io::Error::other(format!("may panicked: {what}"))
}

/// The error for a coroutine stack the kernel refused to map.
fn stack_refused(stack_bytes: usize, what: &str) -> io::Error {
    let limit = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok());
    let limit = match limit {
        Some(n) => format!("{n} here, about {} green threads", n / 2),
        None => "unknown here".to_owned(),
    };
    io::Error::new(
        io::ErrorKind::OutOfMemory,
        format!(
            "the kernel refused a {stack_bytes}-byte coroutine stack ({what}). \
             Each green thread's stack is two memory mappings (the stack and its guard \
             page): raise the kernel's limit with `sysctl -w vm.max_map_count=262144` \
             (now {limit}), or check the address-space limit (`ulimit -v`)"
        ),
    )
}
