use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};

use anyrt_core::JoinError;
use anyrt_core::backend::{TaskOrThread, ThreadHandle};

/// The [`anyrt_core::JoinHandle`] of the Tokio backend: a tokio task (also for
/// `spawn_blocking`) or an implicit task's OS thread. Dropping it detaches the task.
pub type JoinHandle<T> = TaskOrThread<TaskHandle<T>, ThreadHandle<T>>;

/// A tokio task's handle, with tokio's join errors turned into anyrt's.
///
/// Unlike tokio's own handle it answers a poll after completion (with a cancellation, as
/// every anyrt backend does), and an aborted `spawn_blocking` job that had already started
/// (tokio lets it run to its end) reports cancellation too, as the contract says.
pub struct TaskHandle<T> {
    /// `None` once it has yielded its output.
    inner: Option<tokio::task::JoinHandle<T>>,
    aborted: AtomicBool,
}

impl<T> std::fmt::Debug for TaskHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskHandle")
            .field("id", &self.inner.as_ref().map(|h| h.id()))
            .field(
                "finished",
                &self.inner.as_ref().is_none_or(|h| h.is_finished()),
            )
            .field("aborted", &self.aborted)
            .finish()
    }
}

impl<T> TaskHandle<T> {
    pub(crate) fn new(inner: tokio::task::JoinHandle<T>) -> JoinHandle<T> {
        TaskOrThread::Task(TaskHandle {
            inner: Some(inner),
            aborted: AtomicBool::new(false),
        })
    }

    /// The handle of a spawn refused after `shutdown`: finished, cancelled.
    pub(crate) fn cancelled() -> JoinHandle<T> {
        TaskOrThread::Task(TaskHandle {
            inner: None,
            aborted: AtomicBool::new(false),
        })
    }
}

impl<T: Send + 'static> Future for TaskHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(inner) = self.inner.as_mut() else {
            // Polled again after it returned: the output is gone.
            return Poll::Ready(Err(anyrt_core::backend::cancelled()));
        };
        let out = ready!(Pin::new(inner).poll(cx));
        self.inner = None;
        Poll::Ready(match out {
            // Finished although aborted (a blocking job that had started, or a task that
            // completed just before the abort took effect): the caller asked to cancel.
            Ok(_) if self.aborted.load(Ordering::Acquire) => Err(anyrt_core::backend::cancelled()),
            Ok(v) => Ok(v),
            Err(e) => Err(match e.try_into_panic() {
                Ok(payload) => anyrt_core::backend::panicked(payload),
                Err(_) => anyrt_core::backend::cancelled(),
            }),
        })
    }
}

impl<T: Send + 'static> anyrt_core::JoinHandle<T> for TaskHandle<T> {
    fn abort(&self) {
        if let Some(inner) = &self.inner
            && !inner.is_finished()
        {
            // Aborting a finished task keeps its output.
            self.aborted.store(true, Ordering::Release);
            inner.abort();
        }
    }

    fn is_finished(&self) -> bool {
        self.inner.as_ref().is_none_or(|h| h.is_finished())
    }
}
