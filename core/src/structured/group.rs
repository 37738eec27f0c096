//! Task groups with trio/AnyIO semantics: a body and the children it spawns, all gone
//! before the group returns; the first failure cancels the rest.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_util::stream::{FuturesUnordered, Stream};
use futures_util::task::AtomicWaker;

use super::{CancellationToken, lock};
use crate::{JoinHandle, Runtime};

/// Runs `body` as a task group (a "nursery"): `body` gets a [`TaskGroup`] handle to spawn
/// children, and `task_group` returns only once the body and every child have finished.
///
/// - The first failure — a child or the body returning `Err`, or panicking — cancels the
///   group: every child still running is aborted (at its next `.await`), the body is
///   dropped at its next `.await`, and no new child starts.
/// - Every error is kept, in the order they happened: [`GroupError::first`] and
///   [`GroupError::rest`]. A panic is re-raised (with its payload, by
///   [`std::panic::resume_unwind`]) once all children have stopped, never before; it wins
///   over errors.
/// - Dropping the future `task_group` returns (a timeout around it, say) aborts every
///   child.
/// - Children are `'static` tasks of `rt`; the handle can be cloned into them, so children
///   spawn siblings. A child spawned into a group that has been cancelled or has finished is
///   dropped without being run.
///
/// To stop a group from outside, wrap it in a [`CancelScope`](super::CancelScope) or a
/// deadline ([`move_on_after`](super::move_on_after)): dropping the group aborts its
/// children.
///
/// # Examples
///
/// ```
/// use anyrt_core::Runtime;
/// use anyrt_core::structured::task_group;
/// use std::time::Duration;
///
/// let rt = anyrt_tokio::Tokio::new();
/// let rt1 = rt.clone();
/// let result = rt.block_on(task_group(&rt, |group| async move {
///     for i in 0..3u64 {
///         let rt = rt1.clone();
///         group.spawn(async move {
///             rt.sleep(Duration::from_millis(i)).await;
///             Ok::<(), std::io::Error>(())
///         });
///     }
///     Ok(42)
/// }));
/// assert_eq!(result.unwrap(), 42); // after all three children finished
///
/// // The first error cancels the sibling that would sleep for a minute.
/// let rt2 = rt.clone();
/// let result = rt.block_on(task_group(&rt, move |group| async move {
///     group.spawn(async move {
///         rt2.sleep(Duration::from_secs(60)).await;
///         Ok(())
///     });
///     group.spawn(async { Err("failed") });
///     Ok(())
/// }));
/// assert_eq!(*result.unwrap_err().first(), "failed");
/// ```
pub fn task_group<R, E, T, F, Fut>(
    rt: &R,
    body: F,
) -> impl Future<Output = Result<T, GroupError<E>>> + use<R, E, T, F, Fut>
where
    R: Runtime,
    E: Send + 'static,
    F: FnOnce(TaskGroup<R, E>) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let shared = Arc::new(Shared {
        rt: rt.clone(),
        state: Mutex::new(State {
            new_children: Vec::new(),
            closed: false,
        }),
        waker: AtomicWaker::new(),
        token: CancellationToken::new(),
    });
    let body = body(TaskGroup {
        shared: shared.clone(),
    });
    GroupFuture {
        shared,
        body: Some(Box::pin(body)),
        output: None,
        children: FuturesUnordered::new(),
        errors: Vec::new(),
        panic: None,
    }
}

/// The handle of a running [`task_group`]: spawns its children. Cheap to clone.
pub struct TaskGroup<R: Runtime, E: Send + 'static> {
    shared: Arc<Shared<R, E>>,
}

struct Shared<R: Runtime, E: Send + 'static> {
    rt: R,
    state: Mutex<State<R, E>>,
    /// The group's future, woken when a child is spawned.
    waker: AtomicWaker,
    /// Cancelled with the group.
    token: CancellationToken,
}

struct State<R: Runtime, E: Send + 'static> {
    /// Spawned, not yet taken into the group future's set.
    new_children: Vec<R::JoinHandle<Result<(), E>>>,
    /// The group has finished or has been dropped: nothing spawns any more.
    closed: bool,
}

impl<R: Runtime, E: Send + 'static> Clone for TaskGroup<R, E> {
    fn clone(&self) -> Self {
        TaskGroup {
            shared: self.shared.clone(),
        }
    }
}

impl<R: Runtime, E: Send + 'static> TaskGroup<R, E> {
    /// Spawns `future` as a child of the group. Its `Err` (or panic) cancels the group.
    ///
    /// In a group that has been cancelled or has finished, `future` is dropped without being
    /// run (check [`is_cancelled`](TaskGroup::is_cancelled) to know).
    pub fn spawn<F>(&self, future: F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
    {
        let mut state = lock(&self.shared.state);
        if state.closed || self.shared.token.is_cancelled() {
            drop(state);
            drop(future);
            return;
        }
        state.new_children.push(self.shared.rt.spawn(future));
        drop(state);
        self.shared.waker.wake();
    }

    /// Spawns a child that reports a value once it is ready (a server once it listens, say)
    /// and goes on running in the group; returns that value (AnyIO's `start`).
    ///
    /// If the child ends, fails or is cancelled before it calls [`Ready::started`], this
    /// returns an [`io::Error`] of kind [`io::ErrorKind::Other`] (the child's own error
    /// goes to the group, which it cancels).
    ///
    /// ```
    /// use anyrt_core::io::AsyncWriteExt;
    /// use anyrt_core::net::TcpListener;
    /// use anyrt_core::structured::task_group;
    /// use anyrt_core::{Runtime, RuntimeExt};
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let rt2 = rt.clone();
    /// let result = rt.block_on(task_group(&rt, |group| async move {
    ///     let r = rt2.clone();
    ///     let addr = group
    ///         .start(|ready| async move {
    ///             let listener = r.tcp_listen("127.0.0.1:0").await?;
    ///             ready.started(listener.local_addr()?);
    ///             let (mut s, _) = listener.accept().await?;
    ///             s.write_all(b"hi").await
    ///         })
    ///         .await?;
    ///     let _client = rt2.tcp_connect(addr).await?; // the listener is up
    ///     Ok::<_, std::io::Error>(addr.port())
    /// }));
    /// assert!(result.unwrap() > 0);
    /// ```
    pub async fn start<T, F, Fut>(&self, f: F) -> io::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(Ready<T>) -> Fut,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
    {
        let (tx, rx) = futures_channel::oneshot::channel();
        self.spawn(f(Ready { tx }));
        rx.await.map_err(|_| {
            io::Error::other("the task group's child ended before it reported that it was ready")
        })
    }

    /// Whether the group has been cancelled (a child or the body failed).
    pub fn is_cancelled(&self) -> bool {
        self.shared.token.is_cancelled()
    }

    /// A token cancelled when the group is: for children that check for cancellation
    /// themselves (blocking-style code, say) or to tie other work to the group.
    pub fn token(&self) -> CancellationToken {
        self.shared.token.child_token()
    }
}

impl<R: Runtime, E: Send + 'static> fmt::Debug for TaskGroup<R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroup")
            .field("runtime", &self.shared.rt.name())
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

/// Given to the child [`TaskGroup::start`] spawns: call [`started`](Ready::started) once
/// it is ready.
#[derive(Debug)]
pub struct Ready<T> {
    tx: futures_channel::oneshot::Sender<T>,
}

impl<T> Ready<T> {
    /// Hands `value` to the caller of [`TaskGroup::start`].
    pub fn started(self, value: T) {
        // The caller may be gone (cancelled): then nobody wants the value.
        let _ = self.tx.send(value);
    }
}

/// What a failed [`task_group`] returns: every error of the body and the children, in the
/// order they happened (at least one).
pub struct GroupError<E> {
    errors: Vec<E>,
}

impl<E> GroupError<E> {
    /// A group error of `errors` (at least one; the first first).
    pub(crate) fn new(errors: Vec<E>) -> GroupError<E> {
        debug_assert!(!errors.is_empty());
        GroupError { errors }
    }

    /// The first error: the one that cancelled the group.
    pub fn first(&self) -> &E {
        &self.errors[0]
    }

    /// The errors after the first (children that failed before their cancellation reached
    /// them).
    pub fn rest(&self) -> &[E] {
        &self.errors[1..]
    }

    /// All errors, the first first.
    pub fn into_errors(self) -> Vec<E> {
        self.errors
    }

    /// The first error.
    pub fn into_first(self) -> E {
        match self.errors.into_iter().next() {
            Some(e) => e,
            None => unreachable!("a GroupError holds at least one error"),
        }
    }
}

impl<E: fmt::Debug> fmt::Debug for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupError")
            .field("errors", &self.errors)
            .finish()
    }
}

impl<E: fmt::Display> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.first())?;
        match self.errors.len() {
            1 => Ok(()),
            n => write!(f, " (and {} more errors in the task group)", n - 1),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for GroupError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.first())
    }
}

/// The first error, with its kind; the others are lost in the conversion.
impl From<GroupError<io::Error>> for io::Error {
    fn from(e: GroupError<io::Error>) -> io::Error {
        e.into_first()
    }
}

struct GroupFuture<R: Runtime, E: Send + 'static, T, Fut> {
    shared: Arc<Shared<R, E>>,
    /// `None` once it finished or was dropped by the cancellation.
    body: Option<Pin<Box<Fut>>>,
    output: Option<T>,
    children: FuturesUnordered<R::JoinHandle<Result<(), E>>>,
    errors: Vec<E>,
    panic: Option<Box<dyn Any + Send>>,
}

impl<R: Runtime, E: Send + 'static, T, Fut> GroupFuture<R, E, T, Fut> {
    fn cancel(&mut self) {
        if self.shared.token.is_cancelled() {
            return;
        }
        self.shared.token.cancel();
        for child in self.children.iter() {
            child.abort();
        }
        for child in lock(&self.shared.state).new_children.iter() {
            child.abort();
        }
        // The body stops at its next `.await`: it is not polled again.
        self.drop_body();
    }

    /// Drops the body, keeping a panic of its drop for the end.
    fn drop_body(&mut self) {
        if let Some(body) = self.body.take()
            && let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(body)))
        {
            self.panic.get_or_insert(payload);
        }
    }

    fn fail(&mut self, error: Result<E, Box<dyn Any + Send>>) {
        match error {
            Ok(e) => self.errors.push(e),
            Err(payload) => {
                self.panic.get_or_insert(payload);
            }
        }
        self.cancel();
    }
}

impl<R: Runtime, E: Send + 'static, T, Fut> Unpin for GroupFuture<R, E, T, Fut> {}

impl<R, E, T, Fut> Future for GroupFuture<R, E, T, Fut>
where
    R: Runtime,
    E: Send + 'static,
    Fut: Future<Output = Result<T, E>>,
{
    type Output = Result<T, GroupError<E>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.shared.waker.register(cx.waker());
        if let Some(body) = this.body.as_mut() {
            match catch_unwind(AssertUnwindSafe(|| body.as_mut().poll(cx))) {
                Ok(Poll::Pending) => {}
                Ok(Poll::Ready(Ok(v))) => {
                    this.output = Some(v);
                    this.drop_body();
                }
                Ok(Poll::Ready(Err(e))) => {
                    this.drop_body();
                    this.fail(Ok(e));
                }
                Err(payload) => {
                    this.drop_body();
                    this.fail(Err(payload));
                }
            }
            if this.panic.is_some() {
                // The body's drop panicked after it returned `Ok`.
                this.cancel();
            }
        }
        loop {
            // Children spawned since the last round join the set (aborted at once if the
            // group is cancelled; they never started).
            let new: Vec<_> = std::mem::take(&mut lock(&this.shared.state).new_children);
            for child in new {
                if this.shared.token.is_cancelled() {
                    child.abort();
                }
                this.children.push(child);
            }
            match Pin::new(&mut this.children).poll_next(cx) {
                Poll::Ready(Some(Ok(Ok(())))) => {}
                Poll::Ready(Some(Ok(Err(e)))) => this.fail(Ok(e)),
                Poll::Ready(Some(Err(join_error))) => match join_error.try_into_panic() {
                    Ok(payload) => this.fail(Err(payload)),
                    // Aborted by the group's cancellation (or the runtime's shutdown).
                    Err(_cancelled) => {}
                },
                Poll::Ready(None) | Poll::Pending => {
                    if !this.children.is_empty() || this.body.is_some() {
                        return Poll::Pending;
                    }
                    // Done unless a child was spawned meanwhile: close under the lock.
                    let mut state = lock(&this.shared.state);
                    if !state.new_children.is_empty() {
                        continue;
                    }
                    state.closed = true;
                    drop(state);
                    break;
                }
            }
        }
        if let Some(payload) = this.panic.take() {
            resume_unwind(payload);
        }
        if !this.errors.is_empty() {
            return Poll::Ready(Err(GroupError {
                errors: std::mem::take(&mut this.errors),
            }));
        }
        match this.output.take() {
            Some(v) => Poll::Ready(Ok(v)),
            None => unreachable!("the body finished without error, or the group failed"),
        }
    }
}

impl<R: Runtime, E: Send + 'static, T, Fut> Drop for GroupFuture<R, E, T, Fut> {
    fn drop(&mut self) {
        // Dropped before it finished (a timeout around the group, say): every child goes.
        let new = {
            let mut state = lock(&self.shared.state);
            state.closed = true;
            std::mem::take(&mut state.new_children)
        };
        self.shared.token.cancel();
        for child in new.iter().chain(self.children.iter()) {
            child.abort();
        }
    }
}
