//! Join handles every backend can build on: an OS thread's, an `async-task` task's, and
//! a handle that is one of two kinds.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use futures_channel::oneshot;

use super::guard::{DropPanic, catch_panic};
use crate::{JoinError, JoinHandle};

/// A [`JoinHandle`] for a closure that runs on an OS thread of its own.
///
/// Backends without coroutines run implicit (blocking-style) tasks this way: one may block
/// for as long as it likes, or wait on another implicit task, without taking a slot of a
/// capped blocking pool. The thread costs what a `std::thread` costs (a 2 MiB virtual
/// stack reservation and a kernel task).
pub struct ThreadHandle<T> {
    rx: Option<oneshot::Receiver<Result<T, JoinError>>>,
    thread: Option<std::thread::JoinHandle<()>>,
    aborted: AtomicBool,
}

impl<T> fmt::Debug for ThreadHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadHandle")
            .field("thread", &self.thread.as_ref().map(|t| t.thread().id()))
            .field("aborted", &self.aborted)
            .finish_non_exhaustive()
    }
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

/// A [`JoinHandle`] over an `async-task` task whose output is `Result<T, JoinError>` (the
/// executor catches panics into the output).
///
/// Smol's executor and the `blocking` thread pool hand out such tasks; unlike their own
/// handle, this one detaches on drop and can be aborted through `&self`. After `abort`,
/// awaiting the handle completes once the task's future has been dropped, so whatever it
/// owned (a socket, say) is released by then.
pub struct AsyncTaskHandle<T> {
    // Only `abort` and `is_finished` lock; `poll` has `&mut` access.
    state: Mutex<TaskState<T>>,
    // Where the task's wrapper leaves a panic raised while its future was dropped
    // unfinished: such a task reports that panic, not a cancellation.
    report: Option<DropPanic>,
    // Set once `abort` registered the task with its `DropPanic`: the entry is taken by
    // `poll` or, failing that, dropped with the handle.
    aborted: AtomicBool,
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

impl<T> fmt::Debug for AsyncTaskHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f.debug_struct("AsyncTaskHandle")
            .field("state", &*state)
            .finish_non_exhaustive()
    }
}

impl<T> AsyncTaskHandle<T> {
    /// Wraps `task`.
    pub fn new(task: async_task::Task<Result<T, JoinError>>) -> Self {
        AsyncTaskHandle {
            state: Mutex::new(TaskState::Running(task.fallible())),
            report: None,
            aborted: AtomicBool::new(false),
        }
    }

    /// Wraps `task`, whose future is a [`CatchPanic`](super::CatchPanic) made with
    /// [`CatchPanic::with_drop_report`](super::CatchPanic::with_drop_report)`(_, report)`: if that future panics while it is
    /// dropped unfinished (aborted, or at shutdown), awaiting the handle yields that panic.
    pub fn with_drop_report(
        task: async_task::Task<Result<T, JoinError>>,
        report: DropPanic,
    ) -> Self {
        AsyncTaskHandle {
            state: Mutex::new(TaskState::Running(task.fallible())),
            report: Some(report),
            aborted: AtomicBool::new(false),
        }
    }

    /// A handle whose task was cancelled before it started (e.g. spawned after shutdown).
    pub fn cancelled() -> Self {
        AsyncTaskHandle {
            state: Mutex::new(TaskState::Done),
            report: None,
            aborted: AtomicBool::new(false),
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
        // A panic raised as an aborted task's future was dropped.
        // `&mut` access: no atomic operation on the join path.
        let report = self.report;
        let dropped = match report {
            Some(report) if std::mem::take(self.aborted.get_mut()) => report.take(),
            _ => None,
        };
        // `None`: cancelled (aborted, or the executor dropped it at shutdown), unless its
        // future panicked as it was dropped.
        Poll::Ready(out.unwrap_or_else(|| Err(dropped.unwrap_or_else(JoinError::cancelled))))
    }
}

impl<T: Send + 'static> JoinHandle<T> for AsyncTaskHandle<T> {
    fn abort(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let TaskState::Running(task) = &*state {
            if task.is_finished() {
                return;
            }
            if let Some(report) = self.report {
                // Before the cancellation: the future may be dropped at any moment after.
                report.aborted();
                self.aborted.store(true, Ordering::SeqCst);
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
        if let Some(report) = self.report
            && *self.aborted.get_mut()
        {
            // Nobody will ask: the entry goes (with a panic kept in it, if any).
            drop(report.take());
        }
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        if let TaskState::Running(task) = std::mem::replace(state, TaskState::Done) {
            task.detach();
        }
        // A `Cancelling` future dropped here still lets the cancellation complete.
    }
}

/// A [`JoinHandle`] of a backend whose work runs in two places: as a task of its own
/// scheduler, or on an OS thread (an implicit thread of its own, or a blocking pool's). The
/// handle delegates to whichever it holds.
///
/// ```
/// use anyrt_core::backend::{AsyncTaskHandle, TaskOrThread, ThreadHandle};
///
/// /// A backend whose tasks run on `async-task` and whose implicit threads are OS threads.
/// type JoinHandle<T> = TaskOrThread<AsyncTaskHandle<T>, ThreadHandle<T>>;
///
/// let h: JoinHandle<u32> = TaskOrThread::Thread(ThreadHandle::spawn("example", || 7));
/// assert_eq!(futures_lite::future::block_on(h).unwrap(), 7);
/// ```
#[derive(Debug)]
pub enum TaskOrThread<A, B> {
    /// A task of the backend's own scheduler (an executor task, a coroutine).
    Task(A),
    /// Work on an OS thread.
    Thread(B),
}

impl<T, A, B> Future for TaskOrThread<A, B>
where
    A: Future<Output = Result<T, JoinError>> + Unpin,
    B: Future<Output = Result<T, JoinError>> + Unpin,
{
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut *self {
            TaskOrThread::Task(h) => Pin::new(h).poll(cx),
            TaskOrThread::Thread(h) => Pin::new(h).poll(cx),
        }
    }
}

impl<T, A: JoinHandle<T>, B: JoinHandle<T>> JoinHandle<T> for TaskOrThread<A, B> {
    fn abort(&self) {
        match self {
            TaskOrThread::Task(h) => h.abort(),
            TaskOrThread::Thread(h) => h.abort(),
        }
    }

    fn is_finished(&self) -> bool {
        match self {
            TaskOrThread::Task(h) => h.is_finished(),
            TaskOrThread::Thread(h) => h.is_finished(),
        }
    }
}
