use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use anyrt_core::JoinError;
use anyrt_core::task::ThreadHandle;

use crate::runtime::map_join_error;

/// The [`anyrt_core::JoinHandle`] of the Tokio backend.
///
/// Dropping it detaches the task.
#[derive(Debug)]
pub struct JoinHandle<T> {
    inner: Inner<T>,
}

#[derive(Debug)]
enum Inner<T> {
    Task(tokio::task::JoinHandle<T>),
    Thread(ThreadHandle<T>),
}

impl<T> JoinHandle<T> {
    pub(crate) fn task(h: tokio::task::JoinHandle<T>) -> Self {
        JoinHandle {
            inner: Inner::Task(h),
        }
    }

    pub(crate) fn thread(h: ThreadHandle<T>) -> Self {
        JoinHandle {
            inner: Inner::Thread(h),
        }
    }
}

impl<T: Send + 'static> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.inner {
            Inner::Task(h) => Poll::Ready(ready!(Pin::new(h).poll(cx)).map_err(map_join_error)),
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
