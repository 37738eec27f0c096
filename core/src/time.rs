//! Timeouts, intervals and yielding, built once on [`Runtime::sleep`].

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

pub use futures_util::future::FusedFuture;
use pin_project_lite::pin_project;

use crate::Runtime;

/// The error a [`Timeout`] yields when its deadline passes first.
///
/// Converts into an [`io::Error`] of kind [`io::ErrorKind::TimedOut`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl Elapsed {
    /// A new `Elapsed`; backends make one with [`crate::backend::elapsed`].
    pub(crate) fn new() -> Elapsed {
        Elapsed(())
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for io::Error {
    fn from(e: Elapsed) -> io::Error {
        io::Error::new(io::ErrorKind::TimedOut, e)
    }
}

pin_project! {
    /// A future with a time limit; made by [`RuntimeExt::timeout`](crate::RuntimeExt::timeout).
    ///
    /// The inner future is polled first, so a future that is ready at its deadline still
    /// wins.
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Timeout<R: Runtime, F> {
        #[pin]
        future: F,
        #[pin]
        sleep: R::Sleep,
        done: bool,
    }
}

impl<R: Runtime, F> Timeout<R, F> {
    pub(crate) fn new(sleep: R::Sleep, future: F) -> Self {
        Timeout {
            future,
            sleep,
            done: false,
        }
    }

    /// The wrapped future.
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// Unwraps the inner future.
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<R: Runtime, F: fmt::Debug> fmt::Debug for Timeout<R, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("future", &self.future)
            .finish_non_exhaustive()
    }
}

impl<R: Runtime, F: Future> Future for Timeout<R, F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(v) = this.future.poll(cx) {
            *this.done = true;
            return Poll::Ready(Ok(v));
        }
        match this.sleep.poll(cx) {
            Poll::Ready(()) => {
                *this.done = true;
                Poll::Ready(Err(Elapsed::new()))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Terminated once it has returned its output (or [`Elapsed`]): a `Timeout` can be a
/// branch of `futures::select!` whatever the future it wraps.
impl<R: Runtime, F: Future> FusedFuture for Timeout<R, F> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

/// A ticker; made by [`RuntimeExt::interval`](crate::RuntimeExt::interval).
///
/// Ticks are scheduled at `start + k * period`. A tick that is late does not shift the
/// schedule: missed ticks complete at once, one per call (tokio's default "burst"
/// behaviour).
///
/// A period too long for `Instant` to hold a second tick (`Duration::MAX`, say) ticks once,
/// at once, and then never again.
#[derive(Debug)]
pub struct Interval<R: Runtime> {
    rt: R,
    period: Duration,
    /// `None`: beyond what `Instant` can hold, so never.
    next: Option<Instant>,
}

impl<R: Runtime> Interval<R> {
    pub(crate) fn new(rt: R, period: Duration) -> Self {
        assert!(
            period > Duration::ZERO,
            "`interval` period must be non-zero"
        );
        let next = Some(rt.now());
        Interval { rt, period, next }
    }

    /// Waits for the next tick and returns the instant it was scheduled for.
    ///
    /// The returned [`Tick`] is a [`FusedFuture`], so it can be a branch of
    /// `futures::select!`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the returned future is dropped before it completes, no tick is lost.
    pub fn tick(&mut self) -> Tick<'_, R> {
        Tick {
            interval: self,
            sleep: None,
            done: false,
        }
    }

    /// The period between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        self.next = self.rt.now().checked_add(self.period);
    }
}

pin_project! {
    /// The next tick of an [`Interval`]; made by [`Interval::tick`].
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Tick<'a, R: Runtime> {
        interval: &'a mut Interval<R>,
        #[pin]
        sleep: Option<R::Sleep>,
        done: bool,
    }
}

impl<R: Runtime> Future for Tick<'_, R> {
    type Output = Instant;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Instant> {
        let mut this = self.project();
        if *this.done {
            // Polled again after it completed: like `Fuse`, it stays pending.
            return Poll::Pending;
        }
        let Some(at) = this.interval.next else {
            // The next tick lies beyond what `Instant` can hold: never.
            return Poll::Pending;
        };
        if this.sleep.is_none() && this.interval.rt.now() < at {
            let sleep = this.interval.rt.sleep_until(at);
            this.sleep.set(Some(sleep));
        }
        if let Some(sleep) = this.sleep.as_mut().as_pin_mut()
            && sleep.poll(cx).is_pending()
        {
            return Poll::Pending;
        }
        this.interval.next = at.checked_add(this.interval.period);
        *this.done = true;
        Poll::Ready(at)
    }
}

impl<R: Runtime> FusedFuture for Tick<'_, R> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<R: Runtime> fmt::Debug for Tick<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tick")
            .field("at", &self.interval.next)
            .field("done", &self.done)
            .finish()
    }
}

/// Yields once to the scheduler; made by [`RuntimeExt::yield_now`](crate::RuntimeExt::yield_now).
#[derive(Debug, Default)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct YieldNow {
    yielded: bool,
}

impl YieldNow {
    pub(crate) fn new() -> YieldNow {
        YieldNow { yielded: false }
    }
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
