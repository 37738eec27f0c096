//! Cancel scopes and deadlines (AnyIO's `CancelScope`, `move_on_after`, `fail_after`,
//! shielding), built on dropping futures: what a scope cancels is dropped at its next
//! `.await`, and a [`task_group`](super::task_group) inside is dropped with it, which
//! aborts its children: they inherit the scope.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use super::CancellationToken;
use crate::{JoinError, Runtime, RuntimeExt};

/// A scope that can be cancelled from anywhere (every clone cancels the same scope) and
/// may carry a deadline: [`run`](CancelScope::run) runs a future in it until the future
/// completes, the scope is cancelled, or the deadline passes.
///
/// Scopes nest as the futures do: an inner scope with a later deadline cannot outlive the
/// outer one, since the outer drops it.
///
/// # Examples
///
/// ```
/// use anyrt_core::Runtime;
/// use anyrt_core::structured::CancelScope;
/// use std::time::Duration;
///
/// let rt = anyrt_tokio::Tokio::new();
/// let scope = CancelScope::new();
/// let canceller = scope.clone();
/// let rt2 = rt.clone();
/// let out = rt.block_on(async {
///     rt.spawn(async move {
///         rt2.sleep(Duration::from_millis(10)).await;
///         canceller.cancel();
///     });
///     scope.run(&rt, rt.sleep(Duration::from_secs(60))).await
/// });
/// assert_eq!(out, None); // cancelled after 10 ms
/// assert!(scope.is_cancelled());
/// ```
#[derive(Clone)]
pub struct CancelScope {
    token: CancellationToken,
    deadline: Option<Instant>,
}

impl CancelScope {
    /// A scope with no deadline, not cancelled.
    pub fn new() -> CancelScope {
        CancelScope {
            token: CancellationToken::new(),
            deadline: None,
        }
    }

    /// A scope that cancels itself at `deadline` (or when cancelled before).
    pub fn with_deadline(deadline: Instant) -> CancelScope {
        CancelScope {
            token: CancellationToken::new(),
            deadline: Some(deadline),
        }
    }

    /// A scope that cancels itself once `timeout` has passed from now on `rt`'s clock.
    pub fn with_timeout<R: Runtime>(rt: &R, timeout: Duration) -> CancelScope {
        CancelScope {
            token: CancellationToken::new(),
            // Beyond what `Instant` can hold: no deadline.
            deadline: rt.now().checked_add(timeout),
        }
    }

    /// A scope cancelled with `token` (and on its own by [`cancel`](CancelScope::cancel)).
    pub fn with_token(token: &CancellationToken) -> CancelScope {
        CancelScope {
            token: token.child_token(),
            deadline: None,
        }
    }

    /// The deadline, if any.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Cancels the scope: what runs in it is dropped at its next `.await`. Idempotent.
    pub fn cancel(&self) {
        self.token.cancel();
    }

    /// Whether [`cancel`](CancelScope::cancel) was called (a passed deadline is not a call).
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Runs `future` in the scope: `Some(output)` if it completes, `None` if the scope was
    /// cancelled or its deadline passed first (then `future` is dropped).
    pub async fn run<R: Runtime, F: Future>(&self, rt: &R, future: F) -> Option<F::Output> {
        let mut future = pin!(future);
        let mut cancelled = pin!(self.token.cancelled());
        let mut sleep = pin!(self.deadline.map(|d| rt.sleep_until(d)));
        std::future::poll_fn(|cx| {
            if let Poll::Ready(v) = future.as_mut().poll(cx) {
                return Poll::Ready(Some(v));
            }
            if cancelled.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            if let Some(sleep) = sleep.as_mut().as_pin_mut()
                && sleep.poll(cx).is_ready()
            {
                return Poll::Ready(None);
            }
            Poll::Pending
        })
        .await
    }
}

impl Default for CancelScope {
    fn default() -> CancelScope {
        CancelScope::new()
    }
}

impl fmt::Debug for CancelScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelScope")
            .field("cancelled", &self.is_cancelled())
            .field("deadline", &self.deadline)
            .finish()
    }
}

/// Runs `future` for at most `duration`: `Some(output)`, or `None` once the time is up (and
/// `future` is dropped). AnyIO's `move_on_after`; [`RuntimeExt::timeout`] with the
/// [`Elapsed`](crate::Elapsed) turned into `None`.
///
/// ```
/// use anyrt_core::Runtime;
/// use anyrt_core::structured::move_on_after;
/// use std::time::Duration;
///
/// let rt = anyrt_tokio::Tokio::new();
/// let out = rt.block_on(move_on_after(&rt, Duration::from_millis(10), rt.sleep(Duration::from_secs(60))));
/// assert_eq!(out, None);
/// ```
pub async fn move_on_after<R: Runtime, F: Future>(
    rt: &R,
    duration: Duration,
    future: F,
) -> Option<F::Output> {
    rt.timeout(duration, future).await.ok()
}

/// Runs `future` until `deadline`: `Some(output)`, or `None` once the deadline passed.
pub async fn move_on_at<R: Runtime, F: Future>(
    rt: &R,
    deadline: Instant,
    future: F,
) -> Option<F::Output> {
    rt.timeout_at(deadline, future).await.ok()
}

/// Runs `future` for at most `duration`, or fails with an [`io::Error`] of kind
/// [`io::ErrorKind::TimedOut`] (the [`Elapsed`](crate::Elapsed) of
/// [`RuntimeExt::timeout`]). AnyIO's `fail_after`.
///
/// ```
/// use anyrt_core::Runtime;
/// use anyrt_core::structured::fail_after;
/// use std::time::Duration;
///
/// let rt = anyrt_tokio::Tokio::new();
/// let err = rt
///     .block_on(fail_after(&rt, Duration::from_millis(10), rt.sleep(Duration::from_secs(60))))
///     .unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
/// ```
pub async fn fail_after<R: Runtime, F: Future>(
    rt: &R,
    duration: Duration,
    future: F,
) -> io::Result<F::Output> {
    Ok(rt.timeout(duration, future).await?)
}

/// Runs `future` until `deadline`, or fails with an [`io::Error`] of kind
/// [`io::ErrorKind::TimedOut`].
pub async fn fail_at<R: Runtime, F: Future>(
    rt: &R,
    deadline: Instant,
    future: F,
) -> io::Result<F::Output> {
    Ok(rt.timeout_at(deadline, future).await?)
}

/// Shields `future` from cancellation: it runs as a task of its own, so a scope, deadline
/// or task group that cancels (drops) the caller does not stop it; it finishes on its own
/// (AnyIO's `CancelScope(shield=True)`, for cleanup that must complete). Awaited, it gives
/// the output, or the [`JoinError`] of a panic (or of the runtime's shutdown).
///
/// ```
/// use anyrt_core::Runtime;
/// use anyrt_core::structured::{move_on_after, shield};
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::time::Duration;
///
/// let rt = anyrt_tokio::Tokio::new();
/// let saved = Arc::new(AtomicBool::new(false));
/// let (s, rt2) = (saved.clone(), rt.clone());
/// let cleanup = shield(&rt, async move {
///     rt2.sleep(Duration::from_millis(30)).await;
///     s.store(true, Ordering::SeqCst);
/// });
/// // The deadline drops the caller after 5 ms; the shielded cleanup still finishes.
/// assert!(rt.block_on(move_on_after(&rt, Duration::from_millis(5), cleanup)).is_none());
/// for _ in 0..500 {
///     if saved.load(Ordering::SeqCst) {
///         break;
///     }
///     rt.block_on(rt.sleep(Duration::from_millis(10)));
/// }
/// assert!(saved.load(Ordering::SeqCst));
/// ```
pub fn shield<R, F>(
    rt: &R,
    future: F,
) -> impl Future<Output = Result<F::Output, JoinError>> + Send + use<R, F>
where
    R: Runtime,
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // Dropping a join handle detaches the task: it runs on.
    rt.spawn(future)
}
