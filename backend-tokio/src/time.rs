//! The Tokio backend's sleep future.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use anyrt_core::time::FusedFuture;
use pin_project_lite::pin_project;

pin_project! {
    /// The Tokio backend's sleep future: tokio's own `Sleep`, which also knows when it has
    /// completed, so it works in `futures::select!` (it is a [`FusedFuture`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use std::time::Duration;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let sleep: anyrt_tokio::Sleep = rt.sleep(Duration::from_millis(1));
    /// rt.block_on(sleep);
    /// ```
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Sleep {
        #[pin]
        inner: tokio::time::Sleep,
        done: bool,
    }
}

impl Sleep {
    pub(crate) fn new(inner: tokio::time::Sleep) -> Sleep {
        Sleep { inner, done: false }
    }

    /// The instant the sleep completes at.
    pub fn deadline(&self) -> Instant {
        self.inner.deadline().into_std()
    }

    /// Moves the deadline in place (tokio's `Sleep::reset`); a completed sleep waits again.
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.project();
        this.inner.reset(deadline.into());
        *this.done = false;
    }

    /// Tokio's `Sleep`, for tokio's own API (`reset`, say).
    pub fn inner(self: Pin<&mut Self>) -> Pin<&mut tokio::time::Sleep> {
        self.project().inner
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if *this.done {
            return Poll::Ready(());
        }
        let r = this.inner.poll(cx);
        *this.done = r.is_ready();
        r
    }
}

impl FusedFuture for Sleep {
    fn is_terminated(&self) -> bool {
        self.done
    }
}
