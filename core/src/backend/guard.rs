//! What wraps a task: panics caught, futures dropped where their panics are caught, and
//! the "inside an async task" flag that makes blocking there a clear panic.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll};

use crate::JoinError;

/// The message of a panic payload, when it is a string (as `panic!` and `expect` make it).
///
/// A helper for backends that report a caught panic in an error of their own.
pub fn panic_message(payload: &(dyn Any + Send)) -> Option<String> {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        Some((*s).to_owned())
    } else {
        payload.downcast_ref::<String>().cloned()
    }
}

/// Futures larger than this many bytes are boxed by the spawner before they travel through
/// a backend's wrappers: moved by value, they would be copied through the stack of the
/// spawning thread (or coroutine) a few times on the way to the heap.
pub const BOX_FUTURES_OVER: usize = 1024;

/// Runs `f`, turning a panic into a [`JoinError`].
///
/// A helper for backends that run closures on threads of their own.
pub fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, JoinError> {
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(JoinError::panic)
}

std::thread_local! {
    static IN_ASYNC: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

pin_project_lite::pin_project! {
    /// Marks the thread as "inside an async task" while the wrapped future is polled.
    ///
    /// A backend whose tasks must never block wraps every task (and `block_on`'s future) in
    /// it, so that blocking calls made there by mistake are reported by
    /// [`assert_may_block`] instead of stalling a worker or deadlocking. A backend whose
    /// worker threads do nothing but poll its tasks can instead mark each worker once with
    /// [`set_polling_async`] (Smol does; Tokio cannot: its thread-start hook also runs on
    /// its blocking pool's threads, and `block_in_place` turns a worker into one). A
    /// backend whose tasks may block (stackful coroutines) does not use it.
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct AsyncScope<F> {
        #[pin]
        fut: F,
    }
}

impl<F> AsyncScope<F> {
    /// Wraps `fut`.
    pub fn new(fut: F) -> AsyncScope<F> {
        AsyncScope { fut }
    }
}

struct RestoreScope(bool);

impl Drop for RestoreScope {
    fn drop(&mut self) {
        IN_ASYNC.with(|f| f.set(self.0));
    }
}

impl<F: Future> Future for AsyncScope<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let _restore = RestoreScope(IN_ASYNC.with(|f| f.replace(true)));
        self.project().fut.poll(cx)
    }
}

/// Sets whether the current thread is polling an async task, returning the previous value.
///
/// For backends whose tasks can move to another thread in the middle of a poll (stackful
/// coroutines, where a task may block, and so suspend, inside `poll`), which therefore
/// cannot use [`AsyncScope`]: they set the flag around each poll and clear it before every
/// suspension. And for backends whose worker threads only ever poll tasks: they set it
/// once when a worker starts, instead of an [`AsyncScope`] per task.
/// [`assert_may_block`] reads it, so blocking-style code of any backend called from such a
/// task panics instead of stalling the worker.
#[inline]
pub fn set_polling_async(on: bool) -> bool {
    IN_ASYNC.with(|f| f.replace(on))
}

/// Panics with a message that names the fix if the current thread is polling an async task
/// (inside an [`AsyncScope`]): blocking there would stall the executor or deadlock.
///
/// Backends whose `block_on` must not run inside their tasks call it first; the implicit
/// API calls it through `block_on`.
#[track_caller]
pub fn assert_may_block(what: &str) {
    if IN_ASYNC.with(|f| f.get()) {
        panic!(
            "{what} called from inside an async task: blocking there would stall the \
             executor. Run blocking-style code with `anyrt::implicit::spawn` or \
             `Runtime::spawn_implicit` (or `spawn_blocking`), and `.await` async code instead"
        );
    }
}

pin_project_lite::pin_project! {
    /// A future that turns a panic in `poll` into [`JoinError::panic`], and drops the
    /// wrapped future as soon as it completes, so that a panic in its destructor is
    /// reported the same way.
    ///
    /// For backends whose executor does not catch panics itself. Made with
    /// [`with_drop_report`](CatchPanic::with_drop_report), it also catches a panic raised
    /// when the future is dropped unfinished (its task aborted, or its runtime shut down)
    /// and leaves it in a [`DropPanic`] for the task's handle to report.
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct CatchPanic<F> {
        // `None` once it has completed (and been dropped).
        #[pin]
        fut: Option<F>,
        report: Option<DropPanic>,
    }

    impl<F> PinnedDrop for CatchPanic<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(report) = *this.report {
                let mut fut = this.fut;
                if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| fut.set(None))) {
                    report.store(payload);
                }
            }
        }
    }
}

impl<F> CatchPanic<F> {
    /// Wraps `fut`.
    pub fn new(fut: F) -> CatchPanic<F> {
        CatchPanic {
            fut: Some(fut),
            report: None,
        }
    }

    /// Wraps `fut`; a panic raised when it is dropped before it completed goes to `report`
    /// instead of unwinding out of the executor.
    pub fn with_drop_report(fut: F, report: DropPanic) -> CatchPanic<F> {
        CatchPanic {
            fut: Some(fut),
            report: Some(report),
        }
    }
}

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.project().fut;
        let Some(fut) = slot.as_mut().as_pin_mut() else {
            // Polled after completion: the output is gone.
            return Poll::Ready(Err(JoinError::cancelled()));
        };
        let out = match panic::catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(v)) => Ok(v),
            Err(payload) => Err(JoinError::panic(payload)),
        };
        // Dropped here, where a panic in its destructor is caught: the executor would drop
        // it outside any `catch_unwind` (and async-task aborts the process then). The
        // first panic wins; the output of a future whose destructor panicked is dropped.
        match panic::catch_unwind(AssertUnwindSafe(|| slot.set(None))) {
            Ok(()) => Poll::Ready(out),
            Err(payload) => {
                let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(out)));
                Poll::Ready(Err(JoinError::panic(payload)))
            }
        }
    }
}

/// The link between a [`CatchPanic`] made with
/// [`with_drop_report`](CatchPanic::with_drop_report) and its task's handle
/// ([`AsyncTaskHandle::with_drop_report`](super::AsyncTaskHandle::with_drop_report)): once
/// the handle aborts the task, a panic raised while the task's future is dropped is kept
/// for the handle, which reports it instead of a cancellation, as Tokio does.
///
/// It is a number, not shared memory: spawning costs no allocation. Only aborted tasks
/// have an entry in one process-wide table, taken (or dropped) by their handle; a panic
/// in the destructor of a task nobody aborted (dropped at shutdown) is discarded with the
/// rest of its future.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DropPanic {
    id: u64,
}

type Payload = Box<dyn Any + Send + 'static>;

/// The aborted tasks' entries: a panic raised as the future was dropped, once it was.
static ABORTED: Mutex<Option<HashMap<u64, Option<Payload>>>> = Mutex::new(None);
/// How many entries `ABORTED` holds: most tasks never touch its lock.
static ABORTED_COUNT: AtomicUsize = AtomicUsize::new(0);

fn aborted_table() -> MutexGuard<'static, Option<HashMap<u64, Option<Payload>>>> {
    ABORTED.lock().unwrap_or_else(|e| e.into_inner())
}

impl DropPanic {
    /// A fresh link, for one task's [`CatchPanic`] and its handle.
    pub fn new() -> DropPanic {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        DropPanic {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// The task is being aborted: from now on a panic as its future is dropped is kept.
    pub(super) fn aborted(self) {
        let mut table = aborted_table();
        if table
            .get_or_insert_with(HashMap::new)
            .insert(self.id, None)
            .is_none()
        {
            ABORTED_COUNT.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn store(self, payload: Payload) {
        if ABORTED_COUNT.load(Ordering::SeqCst) == 0 {
            return;
        }
        let mut table = aborted_table();
        if let Some(slot) = table.as_mut().and_then(|t| t.get_mut(&self.id))
            && slot.is_none()
        {
            *slot = Some(payload);
        }
        // Not aborted: discarded with the rest of the future.
    }

    /// Removes the task's entry: the panic, if one was raised as its future was dropped.
    pub(super) fn take(self) -> Option<JoinError> {
        if ABORTED_COUNT.load(Ordering::SeqCst) == 0 {
            return None;
        }
        let removed = aborted_table().as_mut().and_then(|t| t.remove(&self.id));
        if removed.is_some() {
            ABORTED_COUNT.fetch_sub(1, Ordering::SeqCst);
        }
        removed.flatten().map(JoinError::panic)
    }
}

impl Default for DropPanic {
    fn default() -> DropPanic {
        DropPanic::new()
    }
}
