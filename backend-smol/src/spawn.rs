use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll, ready};

use anyrt_core::JoinError;
use anyrt_core::task::ThreadHandle;
use async_task::{FallibleTask, Task};

/// The [`anyrt_core::JoinHandle`] of the Smol backend.
///
/// Unlike smol's own `Task`, dropping it detaches the task instead of cancelling it.
#[derive(Debug)]
pub struct JoinHandle<T> {
    inner: Inner<T>,
}

#[derive(Debug)]
enum Inner<T> {
    // `None` once aborted (dropping the task cancels it) or joined. The mutex is only
    // locked by `abort` and `is_finished`; `poll` has `&mut` access.
    Task(Mutex<Option<FallibleTask<Result<T, JoinError>>>>),
    Thread(ThreadHandle<T>),
}

impl<T> JoinHandle<T> {
    pub(crate) fn task(task: Task<Result<T, JoinError>>) -> Self {
        JoinHandle {
            inner: Inner::Task(Mutex::new(Some(task.fallible()))),
        }
    }

    pub(crate) fn thread(h: ThreadHandle<T>) -> Self {
        JoinHandle {
            inner: Inner::Thread(h),
        }
    }

    pub(crate) fn cancelled() -> Self {
        JoinHandle {
            inner: Inner::Task(Mutex::new(None)),
        }
    }
}

impl<T: Send + 'static> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.inner {
            Inner::Task(slot) => {
                let slot = slot.get_mut().unwrap_or_else(|e| e.into_inner());
                let Some(task) = slot.as_mut() else {
                    return Poll::Ready(Err(JoinError::cancelled()));
                };
                let out = ready!(Pin::new(task).poll(cx));
                *slot = None;
                // `None`: the executor dropped the task (runtime shut down).
                Poll::Ready(out.unwrap_or_else(|| Err(JoinError::cancelled())))
            }
            Inner::Thread(h) => Pin::new(h).poll(cx),
        }
    }
}

impl<T: Send + 'static> anyrt_core::JoinHandle<T> for JoinHandle<T> {
    fn abort(&self) {
        match &self.inner {
            Inner::Task(slot) => {
                let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
                if slot.as_ref().is_some_and(|t| !t.is_finished()) {
                    // Dropping an async-task handle cancels the task.
                    drop(slot.take());
                }
            }
            Inner::Thread(h) => h.abort(),
        }
    }

    fn is_finished(&self) -> bool {
        match &self.inner {
            Inner::Task(slot) => slot
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
                .is_none_or(|t| t.is_finished()),
            Inner::Thread(h) => h.is_finished(),
        }
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if let Inner::Task(slot) = &mut self.inner {
            if let Some(task) = slot.get_mut().unwrap_or_else(|e| e.into_inner()).take() {
                task.detach();
            }
        }
    }
}
