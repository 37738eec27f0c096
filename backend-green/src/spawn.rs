//! Spawning coroutines, and the Green backend's join handle.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake};

use anyrt_core::JoinError;
use anyrt_core::backend::{AsyncTaskHandle, CatchPanic, TaskOrThread, catch_panic};
use futures_util::task::AtomicWaker;

use crate::poll_loop::{self, LoopState, TaskLoop, lock};

/// Spawns `f` as a may coroutine with a stack of `stack_bytes`; returns may's handle on it,
/// which the caller drops to detach it. The only place anyrt-green calls may's unsafe spawn.
///
/// # Errors
///
/// The error that stopped may's scheduler from starting, or `OutOfMemory` (naming
/// `vm.max_map_count`) when the kernel refuses the coroutine's stack.
pub(crate) fn spawn_coroutine<F>(
    stack_bytes: usize,
    f: F,
) -> io::Result<may::coroutine::JoinHandle<()>>
where
    F: FnOnce() + Send + 'static,
{
    crate::start::ensure_started()?;
    spawn_started(stack_bytes, f)
}

/// [`spawn_coroutine`] once may's scheduler runs (or while [`crate::start`] starts it).
// may's spawn is unsafe (see the SAFETY argument below); the crate's one call is here.
#[allow(unsafe_code)]
pub(crate) fn spawn_started<F>(
    stack_bytes: usize,
    f: F,
) -> io::Result<may::coroutine::JoinHandle<()>>
where
    F: FnOnce() + Send + 'static,
{
    let words = stack_bytes / std::mem::size_of::<usize>();
    let builder = may::coroutine::Builder::new().stack_size(words);
    let body = move || {
        crate::start::on_worker();
        f();
    };
    // may panics ("failed to alloc sys stack") when the kernel refuses a stack mapping;
    // nothing is registered with the scheduler by then, so the panic is caught here and
    // turned into an error that names the limit (and kept out of the panic hook's output).
    let spawned = crate::start::quietly(|| {
        // SAFETY: may marks spawning unsafe for two reasons, each addressed here.
        // 1. Thread-locals: a coroutine can move to another worker thread whenever it
        //    suspends, so a reference to a thread-local held across a suspension point would
        //    name another thread's value. anyrt-green's own code reads its thread-locals
        //    (`CURRENT` in task.rs, the "polling" flag of anyrt-core) only between suspension
        //    points, by value, and resets them before every wait; user code gets the rule
        //    stated in the crate docs (no thread-local borrow across an `.await` or a
        //    blocking-style call). `f` is `Send + 'static`, so nothing `!Send` crosses into
        //    the coroutine from the spawner.
        // 2. Stack size: `stack_bytes` is the configured size (1 MiB by default, checked by
        //    the conformance suite's deep-recursion and large-buffer cases in debug builds;
        //    futures over 1 KiB are boxed on the heap). A frame beyond it hits the guard page
        //    below every may stack; anyrt-green's fault handler (overflow.rs) then reports
        //    the overflow and aborts the process, so nothing is ever written past the stack
        //    and no join handle waits for a task that cannot finish.
        unsafe { builder.spawn(body) }
    });
    match spawned {
        Ok(Ok(handle)) => Ok(handle),
        Ok(Err(e)) => Err(e),
        Err(panic) => Err(crate::start::spawn_panicked(stack_bytes, &*panic)),
    }
}

/// What a green task shares with its [`JoinHandle`]: one allocation per task, which also
/// holds the task's poll-loop state (its waker is an `Arc` of this).
struct JoinState<T> {
    output: Mutex<Option<Result<T, JoinError>>>,
    finished: AtomicBool,
    aborted: AtomicBool,
    /// A blocking-style task: aborting it completes its handle at once, and its next (or
    /// current) blocking-style call unwinds.
    implicit: bool,
    join_waker: AtomicWaker,
    /// The async task's poll loop (unused by an implicit task).
    core: LoopState,
}

impl<T> std::fmt::Debug for JoinState<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinState")
            .field("finished", &self.finished)
            .field("aborted", &self.aborted)
            .field("implicit", &self.implicit)
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static> TaskLoop for JoinState<T> {
    fn core(&self) -> &LoopState {
        &self.core
    }

    fn stop(&self) -> Option<&AtomicBool> {
        Some(&self.aborted)
    }

    fn waker(self: Arc<Self>) -> std::task::Waker {
        std::task::Waker::from(self)
    }
}

impl<T: Send + 'static> Wake for JoinState<T> {
    fn wake(self: Arc<Self>) {
        self.core.notify();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.core.notify();
    }
}

impl<T> JoinState<T> {
    fn new(implicit: bool) -> Arc<Self> {
        Arc::new(JoinState {
            output: Mutex::new(None),
            finished: AtomicBool::new(false),
            aborted: AtomicBool::new(false),
            implicit,
            join_waker: AtomicWaker::new(),
            // The loop runs on the task's coroutine.
            core: LoopState::new(true),
        })
    }

    /// Stores the result; the first completion wins.
    fn complete(&self, result: Result<T, JoinError>) {
        {
            let mut out = lock(&self.output);
            if self.finished.load(SeqCst) {
                return;
            }
            *out = Some(result);
            self.finished.store(true, SeqCst);
        }
        self.join_waker.wake();
    }
}

fn spawn_failed(e: io::Error) -> JoinError {
    anyrt_core::backend::panicked(Box::new(format!(
        "anyrt-green: cannot spawn a coroutine: {e}"
    )))
}

/// Spawns `fut` as a green task: one coroutine running the poll loop.
///
/// A small future is pinned on the coroutine's stack (one allocation less). A large one
/// is boxed here, by the spawner, so only a pointer travels to the new coroutine: moved
/// there by value, it would be copied through the coroutine's stack on the way to the
/// heap, and every page it passed through would stay resident for the task's life
/// (measured: 25 KiB against 5 KiB per idle connection with a 4 KiB read buffer).
/// Either way the future is dropped before the handle reports: "joined" means "gone".
pub(crate) fn spawn_task<F>(stack_bytes: usize, fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // Up to this size pinned on the coroutine's stack, larger ones on the heap.
    if std::mem::size_of::<F>() <= anyrt_core::backend::BOX_FUTURES_OVER {
        spawn_loop(stack_bytes, move |st| {
            let fut = std::pin::pin!(CatchPanic::new(fut));
            poll_loop::run(st.clone(), fut)
        })
    } else {
        let mut fut = Box::pin(CatchPanic::new(fut));
        spawn_loop(stack_bytes, move |st| {
            poll_loop::run(st.clone(), fut.as_mut())
        })
    }
}

/// Spawns the coroutine of a green task; `body` runs its loop (`None`: aborted).
fn spawn_loop<T, B>(stack_bytes: usize, body: B) -> JoinHandle<T>
where
    T: Send + 'static,
    B: FnOnce(&Arc<JoinState<T>>) -> Option<Result<T, JoinError>> + Send + 'static,
{
    let state = JoinState::new(false);
    let st = state.clone();
    let spawned = spawn_coroutine(stack_bytes, move || {
        let result =
            catch_panic(|| body(&st).unwrap_or_else(|| Err(anyrt_core::backend::cancelled())));
        let result = result.and_then(|r| r);
        st.complete(if st.aborted.load(SeqCst) {
            aborted(result)
        } else {
            result
        });
    });
    green(state, spawned)
}

/// What the handle of an aborted async task reports, given how its loop ended: a
/// cancellation, unless the future panicked as it was dropped (as Tokio reports it). An
/// abort that reached blocking-style code inside a poll unwinds with [`poll_loop::Aborted`],
/// which is a cancellation all the same.
fn aborted<T>(result: Result<T, JoinError>) -> Result<T, JoinError> {
    match result.map_err(JoinError::try_into_panic) {
        Err(Ok(payload)) if !payload.is::<poll_loop::Aborted>() => {
            Err(anyrt_core::backend::panicked(payload))
        }
        _ => Err(anyrt_core::backend::cancelled()),
    }
}

/// Spawns blocking-style code as a coroutine.
pub(crate) fn spawn_implicit<F, T>(stack_bytes: usize, f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let state = JoinState::new(true);
    let st = state.clone();
    let spawned = spawn_coroutine(stack_bytes, move || {
        if st.aborted.load(SeqCst) {
            // Aborted before it started: the closure does not run.
            return;
        }
        let me: Arc<dyn TaskLoop> = st.clone();
        poll_loop::enter_implicit(me);
        // Aborted: the handle reported it already, and `complete` keeps the first result.
        st.complete(catch_panic(f));
        poll_loop::leave_implicit();
    });
    green(state, spawned)
}

/// The [`anyrt_core::JoinHandle`] of the Green backend: a green task (async or implicit)
/// or a `spawn_blocking` job on the `blocking` pool. Dropping it detaches the task.
pub type JoinHandle<T> = TaskOrThread<GreenHandle<T>, AsyncTaskHandle<T>>;

/// The handle of a task running on a may coroutine.
pub struct GreenHandle<T> {
    state: Arc<JoinState<T>>,
    /// may's handle on the coroutine, only held (results travel through `state`): the
    /// allocations may makes for a spawn (coroutine handle, join and result cells) are then
    /// freed by whoever drops this handle, usually the thread that spawned and joins, as with
    /// raw may. Dropped at spawn, they were freed on the worker the task ended on, and
    /// glibc's malloc served the spawner's next allocations from its slow path: spawn+join
    /// cost 1.39× raw may's CPU per task instead of 1.0–1.1× (bench `spawn` case).
    _coroutine: Option<may::coroutine::JoinHandle<()>>,
}

impl<T> std::fmt::Debug for GreenHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GreenHandle")
            .field("state", &self.state)
            .finish()
    }
}

impl<T: Send + 'static> Future for GreenHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let state = &self.state;
        if !state.finished.load(SeqCst) {
            state.join_waker.register(cx.waker());
            if !state.finished.load(SeqCst) {
                return Poll::Pending;
            }
        }
        // Polled again after it returned: the output is gone; report cancellation.
        let out = lock(&state.output).take();
        Poll::Ready(out.unwrap_or_else(|| Err(anyrt_core::backend::cancelled())))
    }
}

impl<T: Send + 'static> anyrt_core::JoinHandle<T> for GreenHandle<T> {
    fn abort(&self) {
        let state = &self.state;
        if state.finished.load(SeqCst) {
            return;
        }
        state.aborted.store(true, SeqCst);
        if state.implicit {
            // Its next (or current) blocking-style call unwinds.
            state.complete(Err(anyrt_core::backend::cancelled()));
        }
        // The loop checks `aborted` before every poll; a loop waiting in blocking-style
        // code is woken to see it.
        state.core.notify_abort();
    }

    fn is_finished(&self) -> bool {
        self.state.finished.load(SeqCst)
    }
}

fn green<T>(
    state: Arc<JoinState<T>>,
    spawned: io::Result<may::coroutine::JoinHandle<()>>,
) -> JoinHandle<T> {
    let coroutine = match spawned {
        Ok(handle) => Some(handle),
        Err(e) => {
            state.complete(Err(spawn_failed(e)));
            None
        }
    };
    TaskOrThread::Task(GreenHandle {
        state,
        _coroutine: coroutine,
    })
}

/// A `spawn_blocking` job's handle.
pub(crate) fn blocking<T>(task: async_task::Task<Result<T, JoinError>>) -> JoinHandle<T> {
    TaskOrThread::Thread(AsyncTaskHandle::new(task))
}
