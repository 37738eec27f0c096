//! Structured concurrency, built once on the runtime traits so it behaves the same on
//! every backend:
//!
//! - [`task_group`]: a body and the children it spawns, all finished before it returns,
//!   the first failure cancelling the rest (trio's nursery, AnyIO's task group);
//! - [`JoinSet`]: an unstructured collection of tasks that aborts what is left when
//!   dropped, with a graceful [`drain`](JoinSet::drain) for servers;
//! - [`CancellationToken`] (hierarchical cancellation), [`CancelScope`] and the deadlines
//!   [`move_on_after`] and [`fail_after`], and [`shield`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::{JoinError, JoinHandle, Runtime};

mod group;
mod scope;

pub use group::{GroupError, Ready, TaskGroup, task_group};
pub use scope::{CancelScope, fail_after, fail_at, move_on_after, move_on_at, shield};

/// A set of tasks spawned on one runtime, joined in the order they finish.
///
/// Dropping the set aborts every task still in it, as tokio's `JoinSet` does: a server that
/// accepts forever keeps its connections here and loses none to a detached task.
///
/// # Examples
///
/// ```
/// use anyrt_core::Runtime;
/// use anyrt_core::structured::JoinSet;
///
/// let rt = anyrt_tokio::Tokio::new();
/// let sum = rt.block_on(async {
///     let mut set = JoinSet::new(&rt);
///     for i in 1..=10u64 {
///         set.spawn(async move { i });
///     }
///     let mut sum = 0;
///     while let Some(r) = set.join_next().await {
///         sum += r.unwrap();
///     }
///     sum
/// });
/// assert_eq!(sum, 55);
/// ```
pub struct JoinSet<R: Runtime, T: Send + 'static> {
    rt: R,
    tasks: FuturesUnordered<R::JoinHandle<T>>,
}

impl<R: Runtime, T: Send + 'static> JoinSet<R, T> {
    /// An empty set whose tasks run on `rt`.
    pub fn new(rt: &R) -> Self {
        JoinSet {
            rt: rt.clone(),
            tasks: FuturesUnordered::new(),
        }
    }

    /// Spawns `future` as a task of the set.
    pub fn spawn<F>(&mut self, future: F)
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.tasks.push(self.rt.spawn(future));
    }

    /// Runs `f` with [`Runtime::spawn_blocking`] as a task of the set.
    pub fn spawn_blocking<F>(&mut self, f: F)
    where
        F: FnOnce() -> T + Send + 'static,
    {
        self.tasks.push(self.rt.spawn_blocking(f));
    }

    /// How many tasks the set holds (finished ones not yet joined included).
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Waits for the next task to finish and removes it: `None` once the set is empty.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a task that finishes while the future is dropped stays in the set.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        self.tasks.next().await
    }

    /// Removes a task that has finished, if there is one, without waiting: for a loop that
    /// keeps spawning (an accept loop) and reaps as it goes.
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use anyrt_core::structured::JoinSet;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let mut set = JoinSet::new(&rt);
    /// assert!(set.try_join_next().is_none());
    /// set.spawn(async { 5 });
    /// let mut joined = None;
    /// for _ in 0..1000 {
    ///     joined = set.try_join_next();
    ///     if joined.is_some() {
    ///         break;
    ///     }
    ///     rt.block_on(rt.sleep(std::time::Duration::from_millis(1)));
    /// }
    /// assert_eq!(joined.unwrap().unwrap(), 5);
    /// ```
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        futures_util::FutureExt::now_or_never(self.tasks.next()).flatten()
    }

    /// Aborts every task of the set; they are still joined (each reporting
    /// `is_cancelled()`, or its output if it had finished).
    pub fn abort_all(&mut self) {
        for task in self.tasks.iter() {
            task.abort();
        }
    }

    /// Aborts every task and waits until all of them are gone.
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// Graceful shutdown: lets the tasks finish for up to `grace`, then aborts the rest and
    /// waits until they are gone (their futures dropped). Returns how many finished on their
    /// own and how many were aborted; the set is empty afterwards. Stop adding tasks first
    /// (a server stops accepting, with a [`CancellationToken`], say).
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use anyrt_core::structured::JoinSet;
    /// use std::time::Duration;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let drained = rt.block_on(async {
    ///     let mut set = JoinSet::new(&rt);
    ///     for ms in [1, 2, 60_000] {
    ///         let rt = rt.clone();
    ///         set.spawn(async move { rt.sleep(Duration::from_millis(ms)).await });
    ///     }
    ///     set.drain(Duration::from_millis(100)).await
    /// });
    /// assert_eq!((drained.finished, drained.aborted), (2, 1));
    /// ```
    pub async fn drain(&mut self, grace: Duration) -> Drained {
        let mut drained = Drained::default();
        let rt = self.rt.clone();
        let on_time = move_on_after(&rt, grace, async {
            while let Some(r) = self.join_next().await {
                drained.count(r);
            }
        })
        .await;
        if on_time.is_none() {
            self.abort_all();
            while let Some(r) = self.join_next().await {
                drained.count(r);
            }
        }
        drained
    }
}

/// What [`JoinSet::drain`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Drained {
    /// Tasks that finished on their own (panicked ones included).
    pub finished: usize,
    /// Tasks aborted when the grace period ran out.
    pub aborted: usize,
}

impl Drained {
    fn count<T>(&mut self, r: Result<T, JoinError>) {
        match r {
            Err(e) if e.is_cancelled() => self.aborted += 1,
            _ => self.finished += 1,
        }
    }
}

impl<R: Runtime, T: Send + 'static> Drop for JoinSet<R, T> {
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl<R: Runtime, T: Send + 'static> fmt::Debug for JoinSet<R, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet")
            .field("runtime", &self.rt.name())
            .field("len", &self.tasks.len())
            .finish()
    }
}

/// A cancellation signal shared by the tasks it concerns, with children that are cancelled
/// with their parent (and can be cancelled alone).
///
/// It needs no runtime: any task of any backend (or blocking-style code, through
/// `implicit::block_on`) can wait on it.
///
/// # Examples
///
/// ```
/// use anyrt_core::Runtime;
/// use anyrt_core::structured::CancellationToken;
/// use std::time::Duration;
///
/// let rt = anyrt_tokio::Tokio::new();
/// let token = CancellationToken::new();
/// let child = token.child_token();
/// let rt2 = rt.clone();
/// let worker = rt.spawn(async move {
///     child
///         .run_until_cancelled(rt2.sleep(Duration::from_secs(60)))
///         .await
/// });
/// token.cancel(); // reaches the child
/// assert_eq!(rt.block_on(worker).unwrap(), None);
/// ```
#[derive(Clone)]
pub struct CancellationToken {
    node: Arc<Node>,
}

struct Node {
    cancelled: AtomicBool,
    event: event_listener::Event,
    children: Mutex<Vec<Weak<Node>>>,
    /// The implicit thread that owns this token, while it waits (see
    /// [`register_waker`](CancellationToken::register_waker)): woken without an
    /// allocation per wait.
    thread: futures_util::task::AtomicWaker,
}

impl Node {
    fn cancel(&self) {
        if self.cancelled.swap(true, Ordering::SeqCst) {
            return;
        }
        self.event.notify(usize::MAX);
        self.thread.wake();
        let children = std::mem::take(&mut *lock(&self.children));
        for child in children.iter().filter_map(Weak::upgrade) {
            child.cancel();
        }
    }
}

/// Locks `m`, poisoned or not (nothing here leaves a half-updated state behind a panic).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl CancellationToken {
    /// A token not yet cancelled.
    pub fn new() -> CancellationToken {
        CancellationToken {
            node: Arc::new(Node {
                cancelled: AtomicBool::new(false),
                event: event_listener::Event::new(),
                children: Mutex::new(Vec::new()),
                thread: futures_util::task::AtomicWaker::new(),
            }),
        }
    }

    /// A token cancelled with this one (at once, if this one is already), and on its own by
    /// its own [`cancel`](CancellationToken::cancel).
    pub fn child_token(&self) -> CancellationToken {
        let child = CancellationToken::new();
        {
            let mut children = lock(&self.node.children);
            if !self.node.cancelled.load(Ordering::SeqCst) {
                // Children that are gone leave dead entries: drop them as we go.
                children.retain(|c| c.strong_count() > 0);
                children.push(Arc::downgrade(&child.node));
                return child;
            }
        }
        child.cancel();
        child
    }

    /// Cancels this token and all its children; waiters wake. Idempotent.
    pub fn cancel(&self) {
        self.node.cancel();
    }

    /// Whether the token is cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.node.cancelled.load(Ordering::SeqCst)
    }

    /// Completes once the token is cancelled.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub fn cancelled(&self) -> impl Future<Output = ()> + Send + 'static {
        let node = self.node.clone();
        async move {
            loop {
                if node.cancelled.load(Ordering::SeqCst) {
                    return;
                }
                let listener = node.event.listen();
                // Checked again after listening: a cancel in between is not missed.
                if node.cancelled.load(Ordering::SeqCst) {
                    return;
                }
                listener.await;
            }
        }
    }

    /// Runs `future` until it completes (`Some(output)`) or the token is cancelled
    /// (`None`, and `future` is dropped).
    pub async fn run_until_cancelled<F: Future>(&self, future: F) -> Option<F::Output> {
        let cancelled = self.cancelled();
        let mut future = std::pin::pin!(future);
        let mut cancelled = std::pin::pin!(cancelled);
        std::future::poll_fn(|cx: &mut Context<'_>| {
            if let Poll::Ready(v) = future.as_mut().poll(cx) {
                return Poll::Ready(Some(v));
            }
            match Pin::new(&mut cancelled).as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }

    /// Registers `waker` to be woken when the token is cancelled; returns whether it already
    /// is. One waker at a time (a later call replaces it): for the one implicit thread a
    /// token belongs to, which registers before each wait (see
    /// [`backend::cancel_point`](crate::backend::cancel_point)).
    pub(crate) fn register_waker(&self, waker: &std::task::Waker) -> bool {
        self.node.thread.register(waker);
        self.is_cancelled()
    }

    /// A guard that cancels the token when dropped (unless
    /// [`disarm`](DropGuard::disarm)ed): tie a token to a scope.
    pub fn drop_guard(self) -> DropGuard {
        DropGuard { token: Some(self) }
    }
}

impl Default for CancellationToken {
    fn default() -> CancellationToken {
        CancellationToken::new()
    }
}

impl fmt::Debug for CancellationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancellationToken")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

/// Cancels its token when dropped; made by [`CancellationToken::drop_guard`].
#[derive(Debug)]
pub struct DropGuard {
    token: Option<CancellationToken>,
}

impl DropGuard {
    /// Gives the token back without cancelling it.
    pub fn disarm(mut self) -> CancellationToken {
        match self.token.take() {
            Some(token) => token,
            None => unreachable!("the token is taken only here and by drop"),
        }
    }
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        if let Some(token) = self.token.take() {
            token.cancel();
        }
    }
}
