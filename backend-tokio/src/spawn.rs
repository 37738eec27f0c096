use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use anyrt_core::JoinError;
use anyrt_core::task::{EitherHandle, ThreadHandle};

/// The [`anyrt_core::JoinHandle`] of the Tokio backend: a tokio task (also for
/// `spawn_blocking`) or an implicit task's OS thread. Dropping it detaches the task.
pub type JoinHandle<T> = EitherHandle<TaskHandle<T>, ThreadHandle<T>>;

/// A tokio task's handle, with tokio's join errors turned into anyrt's.
#[derive(Debug)]
pub struct TaskHandle<T> {
    inner: tokio::task::JoinHandle<T>,
}

impl<T> TaskHandle<T> {
    pub(crate) fn new(inner: tokio::task::JoinHandle<T>) -> JoinHandle<T> {
        EitherHandle::Left(TaskHandle { inner })
    }
}

impl<T: Send + 'static> Future for TaskHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let out = ready!(Pin::new(&mut self.inner).poll(cx));
        Poll::Ready(out.map_err(|e| match e.try_into_panic() {
            Ok(payload) => JoinError::panic(payload),
            Err(_) => JoinError::cancelled(),
        }))
    }
}

impl<T: Send + 'static> anyrt_core::JoinHandle<T> for TaskHandle<T> {
    fn abort(&self) {
        self.inner.abort();
    }

    fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }
}
