use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use anyrt_core::JoinError;
use anyrt_core::task::{AsyncTaskHandle, ThreadHandle};

/// The [`anyrt_core::JoinHandle`] of the Smol backend.
///
/// Unlike smol's own `Task`, dropping it detaches the task instead of cancelling it.
#[derive(Debug)]
pub struct JoinHandle<T> {
    inner: Inner<T>,
}

#[derive(Debug)]
enum Inner<T> {
    Task(AsyncTaskHandle<T>),
    Thread(ThreadHandle<T>),
}

impl<T> JoinHandle<T> {
    pub(crate) fn task(task: async_task::Task<Result<T, JoinError>>) -> Self {
        JoinHandle {
            inner: Inner::Task(AsyncTaskHandle::new(task)),
        }
    }

    pub(crate) fn thread(h: ThreadHandle<T>) -> Self {
        JoinHandle {
            inner: Inner::Thread(h),
        }
    }

    pub(crate) fn cancelled() -> Self {
        JoinHandle {
            inner: Inner::Task(AsyncTaskHandle::cancelled()),
        }
    }
}

impl<T: Send + 'static> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.inner {
            Inner::Task(h) => Pin::new(h).poll(cx),
            Inner::Thread(h) => Pin::new(h).poll(cx),
        }
    }
}

impl<T: Send + 'static> anyrt_core::JoinHandle<T> for JoinHandle<T> {
    fn abort(&self) {
        match &self.inner {
            Inner::Task(h) => h.abort(),
            Inner::Thread(h) => h.abort(),
        }
    }

    fn is_finished(&self) -> bool {
        match &self.inner {
            Inner::Task(h) => h.is_finished(),
            Inner::Thread(h) => h.is_finished(),
        }
    }
}
