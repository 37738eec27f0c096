//! Task handles and the errors a join can report.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_channel::oneshot;

/// A handle to a spawned task: awaiting it yields the task's output.
///
/// # Contract for implementers
///
/// * Awaiting the handle yields `Ok(output)` once the task has finished, `Err(e)` with
///   [`JoinError::is_panic`] if the task panicked (the runtime itself keeps running), and
///   `Err(e)` with [`JoinError::is_cancelled`] if the task was aborted or its runtime shut
///   down before it finished.
/// * Dropping the handle *detaches* the task: it runs on to completion and its output is
///   dropped.
/// * [`abort`](JoinHandle::abort) asks the task to stop: its future is dropped at its next
///   suspension point (at once if it is not running). Aborting a finished task has no
///   effect. A blocking task (`spawn_blocking`, `spawn_implicit`) that has already started
///   reports cancellation at once; where it runs on an OS thread (`spawn_blocking`
///   everywhere, `spawn_implicit` on Tokio and Smol) it cannot be interrupted and runs to
///   its end, while on green threads an implicit task unwinds from its current or next
///   blocking-style call.
pub trait JoinHandle<T>: Future<Output = Result<T, JoinError>> + Send + Unpin + 'static {
    /// Cancels the task at its next suspension point.
    fn abort(&self);

    /// Returns `true` once the task has finished (completed, panicked or been cancelled).
    fn is_finished(&self) -> bool;
}

/// The error a [`JoinHandle`] yields when its task did not complete normally.
pub struct JoinError {
    repr: Repr,
}

enum Repr {
    Cancelled,
    // `Box<dyn Any + Send>` is not `Sync`; the mutex makes the error `Sync` without unsafe.
    Panic(Mutex<Box<dyn Any + Send + 'static>>),
}

impl JoinError {
    /// An error for a task that was cancelled (aborted, or its runtime shut down).
    ///
    /// For backend implementers; users receive join errors from handles.
    pub fn cancelled() -> JoinError {
        JoinError {
            repr: Repr::Cancelled,
        }
    }

    /// An error for a task that panicked with `payload`.
    ///
    /// For backend implementers; users receive join errors from handles.
    pub fn panic(payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            repr: Repr::Panic(Mutex::new(payload)),
        }
    }

    /// Returns `true` if the task was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// Returns `true` if the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// Consumes the error, returning the panic payload.
    ///
    /// # Panics
    ///
    /// Panics if the error is not a panic: check [`is_panic`](JoinError::is_panic) or use
    /// [`try_into_panic`](JoinError::try_into_panic).
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("`JoinError::into_panic` called on an error that is not a panic")
    }

    /// Consumes the error, returning the panic payload if the task panicked.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(p) => Ok(p.into_inner().unwrap_or_else(|e| e.into_inner())),
            Repr::Cancelled => Err(self),
        }
    }

    /// The panic message, when the payload is a string (as `panic!` makes it).
    fn panic_message(&self) -> Option<String> {
        let Repr::Panic(p) = &self.repr else {
            return None;
        };
        let p = p.lock().unwrap_or_else(|e| e.into_inner());
        panic_message(&**p)
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("JoinError::Cancelled"),
            Repr::Panic(_) => match self.panic_message() {
                Some(m) => write!(f, "JoinError::Panic({m:?})"),
                None => f.write_str("JoinError::Panic(..)"),
            },
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("task was cancelled"),
            Repr::Panic(_) => match self.panic_message() {
                Some(m) => write!(f, "task panicked: {m}"),
                None => f.write_str("task panicked"),
            },
        }
    }
}

impl std::error::Error for JoinError {}

/// An [`io::Error`] of kind [`io::ErrorKind::Other`], as tokio makes it: not
/// `Interrupted`, which std's retry loops (`read_exact`, `write_all`) take for "try again".
impl From<JoinError> for io::Error {
    fn from(e: JoinError) -> io::Error {
        io::Error::other(e)
    }
}

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

/// A [`JoinHandle`] for a closure that runs on an OS thread of its own.
///
/// Tokio and Smol run implicit (blocking-style) tasks this way: an implicit task may block
/// for as long as it likes, or wait on another implicit task, without taking a slot of a
/// capped blocking pool. The thread costs what a `std::thread` costs (a 2 MiB virtual
/// stack reservation and a kernel task).
#[derive(Debug)]
pub struct ThreadHandle<T> {
    rx: Option<oneshot::Receiver<Result<T, JoinError>>>,
    thread: Option<std::thread::JoinHandle<()>>,
    aborted: AtomicBool,
}

impl<T: Send + 'static> ThreadHandle<T> {
    /// Spawns `f` on a new OS thread named `name`.
    ///
    /// If the OS refuses to create the thread, the handle yields a [`JoinError`] whose
    /// panic payload names the OS error: the caller is not made to panic.
    pub fn spawn<F>(name: &str, f: F) -> ThreadHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let spawned = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                // The receiver may be gone (detached handle): the output is then dropped.
                let _ = tx.send(catch_panic(f));
            });
        match spawned {
            Ok(thread) => ThreadHandle {
                rx: Some(rx),
                thread: Some(thread),
                aborted: AtomicBool::new(false),
            },
            Err(e) => ThreadHandle::failed(JoinError::panic(Box::new(format!(
                "failed to spawn an OS thread for the task: {e}"
            )))),
        }
    }

    /// A handle whose closure never ran: it reports cancellation (e.g. spawned after
    /// the runtime shut down).
    pub fn cancelled() -> ThreadHandle<T> {
        ThreadHandle::failed(JoinError::cancelled())
    }

    fn failed(err: JoinError) -> ThreadHandle<T> {
        let (tx, rx) = oneshot::channel();
        let _ = tx.send(Err(err));
        ThreadHandle {
            rx: Some(rx),
            thread: None,
            aborted: AtomicBool::new(false),
        }
    }
}

impl<T: Send + 'static> Future for ThreadHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.aborted.load(Ordering::Acquire) {
            self.rx = None;
            return Poll::Ready(Err(JoinError::cancelled()));
        }
        let Some(rx) = self.rx.as_mut() else {
            // Polled again after completion: report cancellation rather than hang.
            return Poll::Ready(Err(JoinError::cancelled()));
        };
        match Pin::new(rx).poll(cx) {
            Poll::Ready(Ok(res)) => {
                self.rx = None;
                Poll::Ready(res)
            }
            // The sender is dropped without a value only if the thread died before sending,
            // which `catch_panic` rules out short of an abort of the process.
            Poll::Ready(Err(oneshot::Canceled)) => {
                self.rx = None;
                Poll::Ready(Err(JoinError::cancelled()))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: Send + 'static> JoinHandle<T> for ThreadHandle<T> {
    fn abort(&self) {
        if !self.is_finished() {
            self.aborted.store(true, Ordering::Release);
        }
    }

    fn is_finished(&self) -> bool {
        // Dropping the std handle (when this one drops) detaches the thread.
        self.rx.is_none() || self.thread.as_ref().is_none_or(|t| t.is_finished())
    }
}

std::thread_local! {
    static IN_ASYNC: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

pin_project_lite::pin_project! {
    /// Marks the thread as "inside an async task" while the wrapped future is polled.
    ///
    /// Tokio and Smol wrap every task (and `block_on`'s future) in it, so that blocking
    /// calls made there by mistake are reported by [`assert_may_block`] instead of stalling
    /// a worker or deadlocking. A backend whose tasks may block (Green) does not use it.
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
/// For backends whose tasks can move to another thread in the middle of a poll (Green, where
/// a task may block, and so suspend, inside `poll`), which therefore cannot use
/// [`AsyncScope`]: they set the flag around each poll and clear it before every suspension.
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
        report: Option<Arc<DropPanic>>,
    }

    impl<F> PinnedDrop for CatchPanic<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(report) = this.report.as_deref() {
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
    pub fn with_drop_report(fut: F, report: Arc<DropPanic>) -> CatchPanic<F> {
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

/// Where a [`CatchPanic`] made with [`with_drop_report`](CatchPanic::with_drop_report)
/// leaves a panic raised while its unfinished future was dropped; the task's handle
/// ([`AsyncTaskHandle::with_drop_report`]) reports it instead of a cancellation, as Tokio
/// does.
#[derive(Debug, Default)]
pub struct DropPanic {
    payload: Mutex<Option<Box<dyn Any + Send + 'static>>>,
}

impl DropPanic {
    /// An empty report, to share between a task's [`CatchPanic`] and its handle.
    pub fn new() -> Arc<DropPanic> {
        Arc::default()
    }

    fn store(&self, payload: Box<dyn Any + Send + 'static>) {
        let mut slot = self.payload.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(payload);
        }
    }

    /// Takes the panic, if one was raised: how a cancelled task really ended.
    fn take(&self) -> Option<JoinError> {
        let payload = self
            .payload
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        payload.map(JoinError::panic)
    }
}

/// A [`JoinHandle`] over an `async-task` task whose output is `Result<T, JoinError>` (the
/// executor catches panics into the output).
///
/// Smol's executor and the `blocking` thread pool hand out such tasks; unlike their own
/// handle, this one detaches on drop and can be aborted through `&self`. After `abort`,
/// awaiting the handle completes once the task's future has been dropped, so whatever it
/// owned (a socket, say) is released by then.
#[derive(Debug)]
pub struct AsyncTaskHandle<T> {
    // Only `abort` and `is_finished` lock; `poll` has `&mut` access.
    state: Mutex<TaskState<T>>,
    // Where the task's wrapper leaves a panic raised while its future was dropped
    // unfinished: such a task reports that panic, not a cancellation.
    report: Option<Arc<DropPanic>>,
}

type Output<T> = Option<Result<T, JoinError>>;

enum TaskState<T> {
    Running(async_task::FallibleTask<Result<T, JoinError>>),
    // Aborted: waits for the executor to drop the future.
    Cancelling(Pin<Box<dyn Future<Output = Output<T>> + Send>>),
    Done,
}

impl<T> fmt::Debug for TaskState<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskState::Running(_) => "Running",
            TaskState::Cancelling(_) => "Cancelling",
            TaskState::Done => "Done",
        })
    }
}

impl<T> AsyncTaskHandle<T> {
    /// Wraps `task`.
    pub fn new(task: async_task::Task<Result<T, JoinError>>) -> Self {
        AsyncTaskHandle {
            state: Mutex::new(TaskState::Running(task.fallible())),
            report: None,
        }
    }

    /// Wraps `task`, whose future is a [`CatchPanic`] made with
    /// [`CatchPanic::with_drop_report`]`(_, report)`: if that future panics while it is
    /// dropped unfinished (aborted, or at shutdown), awaiting the handle yields that panic.
    pub fn with_drop_report(
        task: async_task::Task<Result<T, JoinError>>,
        report: Arc<DropPanic>,
    ) -> Self {
        AsyncTaskHandle {
            state: Mutex::new(TaskState::Running(task.fallible())),
            report: Some(report),
        }
    }

    /// A handle whose task was cancelled before it started (e.g. spawned after shutdown).
    pub fn cancelled() -> Self {
        AsyncTaskHandle {
            state: Mutex::new(TaskState::Done),
            report: None,
        }
    }
}

impl<T: Send + 'static> Future for AsyncTaskHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        let out = match state {
            TaskState::Running(task) => std::task::ready!(Pin::new(task).poll(cx)),
            TaskState::Cancelling(cancel) => {
                // The output of a task that finished just before the abort is discarded:
                // the caller asked for cancellation.
                drop(std::task::ready!(cancel.as_mut().poll(cx)));
                None
            }
            TaskState::Done => None,
        };
        *state = TaskState::Done;
        // `None`: cancelled (aborted, or the executor dropped it at shutdown), unless its
        // future panicked as it was dropped.
        Poll::Ready(out.unwrap_or_else(|| {
            Err(self
                .report
                .as_ref()
                .and_then(|r| r.take())
                .unwrap_or_else(JoinError::cancelled))
        }))
    }
}

impl<T: Send + 'static> JoinHandle<T> for AsyncTaskHandle<T> {
    fn abort(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let TaskState::Running(task) = &*state {
            if task.is_finished() {
                return;
            }
            if let TaskState::Running(task) = std::mem::replace(&mut *state, TaskState::Done) {
                let mut cancel: Pin<Box<dyn Future<Output = Output<T>> + Send>> =
                    Box::pin(task.cancel());
                // The cancellation takes effect on the first poll: polled here, the task
                // stops at its next suspension point whether or not anyone awaits the
                // handle. Whoever does gets the real waker registered then.
                let mut cx = Context::from_waker(std::task::Waker::noop());
                *state = match cancel.as_mut().poll(&mut cx) {
                    // Already stopped; its output, if any, is discarded.
                    Poll::Ready(_) => TaskState::Done,
                    Poll::Pending => TaskState::Cancelling(cancel),
                };
            }
        }
    }

    fn is_finished(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match &mut *state {
            TaskState::Running(task) => task.is_finished(),
            TaskState::Cancelling(cancel) => {
                // Finished once its future is dropped: ask without registering a waker.
                let mut cx = Context::from_waker(std::task::Waker::noop());
                let done = cancel.as_mut().poll(&mut cx).is_ready();
                if done {
                    *state = TaskState::Done;
                }
                done
            }
            TaskState::Done => true,
        }
    }
}

impl<T> Drop for AsyncTaskHandle<T> {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        if let TaskState::Running(task) = std::mem::replace(state, TaskState::Done) {
            task.detach();
        }
        // A `Cancelling` future dropped here still lets the cancellation complete.
    }
}

/// One of two kinds of [`JoinHandle`], for backends whose tasks run in two ways (on the
/// executor, or on threads or coroutines of their own): the handle delegates to whichever
/// it holds.
#[derive(Debug)]
pub enum EitherHandle<A, B> {
    /// The first kind.
    Left(A),
    /// The second kind.
    Right(B),
}

impl<T, A, B> Future for EitherHandle<A, B>
where
    A: Future<Output = Result<T, JoinError>> + Unpin,
    B: Future<Output = Result<T, JoinError>> + Unpin,
{
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut *self {
            EitherHandle::Left(h) => Pin::new(h).poll(cx),
            EitherHandle::Right(h) => Pin::new(h).poll(cx),
        }
    }
}

impl<T, A: JoinHandle<T>, B: JoinHandle<T>> JoinHandle<T> for EitherHandle<A, B> {
    fn abort(&self) {
        match self {
            EitherHandle::Left(h) => h.abort(),
            EitherHandle::Right(h) => h.abort(),
        }
    }

    fn is_finished(&self) -> bool {
        match self {
            EitherHandle::Left(h) => h.is_finished(),
            EitherHandle::Right(h) => h.is_finished(),
        }
    }
}

/// The number of worker threads a backend's builder asked for, checked: `requested`, or
/// one per CPU when `None`.
///
/// # Errors
///
/// `InvalidInput` for zero workers.
pub fn worker_threads(requested: Option<usize>) -> io::Result<usize> {
    match requested {
        Some(0) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a runtime needs at least one worker thread",
        )),
        Some(n) => Ok(n),
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_threads_rejects_zero_and_defaults_to_the_cpus() {
        assert_eq!(
            worker_threads(Some(0)).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(worker_threads(Some(3)).unwrap(), 3);
        assert!(worker_threads(None).unwrap() >= 1);
    }
}
