//! Task groups in blocking style: the children are implicit threads, and the group's
//! cancellation reaches them (and the body) through their blocking socket calls.

use std::any::Any;
use std::fmt;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::{Arc, Mutex};

use super::{Thread, is_cancelled, spawn_with_token};
use crate::Runtime;
use crate::backend::{current_token, set_current_token};
use crate::structured::{CancellationToken, GroupError, lock};

/// Runs `body` as a task group in blocking style, with the semantics of the async
/// [`structured::task_group`](crate::structured::task_group): `body` spawns children (implicit
/// threads) through the [`TaskGroup`] it is given, and `task_group` returns once the body
/// and every child have finished.
///
/// - The first failure (a child or the body returning `Err`, or panicking) cancels the
///   group: every child, and the body, is cancelled as [`Thread::cancel`] does — its blocked
///   socket call, or its next one that waits, fails with
///   [`cancelled_error`](super::cancelled_error) — and no new child starts.
/// - Errors are kept in order ([`GroupError::first`], [`GroupError::rest`]), except the
///   cancellation errors the group's own cancellation caused (when `E` is `io::Error`): those
///   are its echo, not news. A panic is re-raised once all children have stopped.
/// - A group inside a cancelled implicit thread is cancelled with it.
///
/// # Examples
///
/// ```
/// use anyrt_core::implicit::{self, TcpListener, TcpStream};
/// use std::io::Read;
///
/// let rt = anyrt_tokio::Tokio::new();
/// let listener = TcpListener::bind(&rt, "127.0.0.1:0")?;
/// let mut quiet = TcpStream::connect(&rt, listener.local_addr()?)?;
/// let result = implicit::task_group(&rt, |group| {
///     // Would wait forever for bytes that never come; the sibling's failure cancels it.
///     group.spawn(move || quiet.read(&mut [0u8; 8]).map(drop));
///     group.spawn(|| Err(std::io::Error::other("failed")));
///     Ok(())
/// });
/// assert_eq!(result.unwrap_err().first().to_string(), "failed");
/// # drop(listener);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn task_group<R, E, T>(
    rt: &R,
    body: impl FnOnce(&TaskGroup<R, E>) -> Result<T, E>,
) -> Result<T, GroupError<E>>
where
    R: Runtime,
    E: Send + 'static,
{
    // Nested in a cancellable implicit thread (or group), the group is cancelled with it.
    let outer = current_token();
    let token = match &outer {
        Some(outer) => outer.child_token(),
        None => CancellationToken::new(),
    };
    let group = TaskGroup {
        shared: Arc::new(Shared {
            rt: rt.clone(),
            token: token.clone(),
            state: Mutex::new(State {
                children: Vec::new(),
                errors: Vec::new(),
                echo: None,
                panic: None,
                closed: false,
            }),
        }),
    };
    // The body's blocking calls are cancelled with the group.
    let previous = set_current_token(Some(token.clone()));
    let outcome = catch_unwind(AssertUnwindSafe(|| body(&group)));
    set_current_token(previous);
    let output = match outcome {
        Ok(Ok(v)) => Some(v),
        Ok(Err(e)) => {
            group.shared.fail(Ok(e));
            None
        }
        Err(payload) => {
            group.shared.fail(Err(payload));
            None
        }
    };
    // Join every child, those spawned meanwhile by other children included.
    loop {
        let next = {
            let mut state = lock(&group.shared.state);
            let next = state.children.pop();
            if next.is_none() {
                state.closed = true;
            }
            next
        };
        let Some(child) = next else { break };
        // A child's failure is recorded by the child itself; `join` only waits.
        let _ = child.join();
    }
    let (mut errors, echo, panic) = {
        let mut state = lock(&group.shared.state);
        (
            std::mem::take(&mut state.errors),
            state.echo.take(),
            state.panic.take(),
        )
    };
    if let Some(payload) = panic {
        resume_unwind(payload);
    }
    if errors.is_empty() {
        match (output, echo) {
            (Some(v), _) => return Ok(v),
            // Cancelled with no failure of its own (from outside, or by `cancel`): the
            // body's cancellation error is the result.
            (None, Some(e)) => errors.push(e),
            (None, None) => unreachable!("the body returned neither a value nor an error"),
        }
    }
    Err(GroupError::new(errors))
}

/// The handle of a running blocking-style [`task_group`]: spawns its children. Cheap to
/// clone; children may hold one to spawn siblings.
pub struct TaskGroup<R: Runtime, E: Send + 'static> {
    shared: Arc<Shared<R, E>>,
}

struct Shared<R: Runtime, E: Send + 'static> {
    rt: R,
    token: CancellationToken,
    state: Mutex<State<E>>,
}

struct State<E> {
    children: Vec<Thread<()>>,
    errors: Vec<E>,
    /// The first cancellation error the group's own cancellation caused: the result only
    /// if nothing else failed and the body returned no value.
    echo: Option<E>,
    panic: Option<Box<dyn Any + Send>>,
    /// The group has been joined: nothing spawns any more.
    closed: bool,
}

impl<R: Runtime, E: Send + 'static> Shared<R, E> {
    /// Records a failure and cancels the group. A cancellation error that arrives once the
    /// group is cancelled is its own echo and is not kept.
    fn fail(&self, failure: Result<E, Box<dyn Any + Send>>) {
        let mut state = lock(&self.state);
        match failure {
            Ok(e) => {
                let echo = self.token.is_cancelled()
                    && (&e as &dyn Any)
                        .downcast_ref::<io::Error>()
                        .is_some_and(is_cancelled);
                if !echo {
                    state.errors.push(e);
                } else if state.echo.is_none() {
                    state.echo = Some(e);
                }
            }
            Err(payload) => {
                state.panic.get_or_insert(payload);
            }
        }
        drop(state);
        self.token.cancel();
    }
}

impl<R: Runtime, E: Send + 'static> TaskGroup<R, E> {
    /// Spawns `f` as a child: an implicit thread of the group. Its `Err` (or panic) cancels
    /// the group. In a group that has been cancelled or joined, `f` is dropped without
    /// being run.
    pub fn spawn<F>(&self, f: F)
    where
        F: FnOnce() -> Result<(), E> + Send + 'static,
    {
        let mut state = lock(&self.shared.state);
        if state.closed || self.shared.token.is_cancelled() {
            return;
        }
        let shared = self.shared.clone();
        let child = spawn_with_token(
            &self.shared.rt,
            self.shared.token.child_token(),
            move || match catch_unwind(AssertUnwindSafe(f)) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => shared.fail(Ok(e)),
                Err(payload) => shared.fail(Err(payload)),
            },
        );
        state.children.push(child);
    }

    /// Whether the group has been cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.shared.token.is_cancelled()
    }

    /// Cancels the group, as a failure would, but without an error: with `E = io::Error`,
    /// the group then returns the cancellation error if nothing else failed.
    pub fn cancel(&self) {
        self.shared.token.cancel();
    }
}

impl<R: Runtime, E: Send + 'static> Clone for TaskGroup<R, E> {
    fn clone(&self) -> Self {
        TaskGroup {
            shared: self.shared.clone(),
        }
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
