//! Driving a future on the current coroutine (or thread): the poll loop, its waker, and
//! the per-task state that timers and sockets register with.
//!
//! A task waits between polls in exactly one place:
//!
//! * no socket of its own → park (may's `Blocker`: the coroutine, or a plain thread);
//! * one socket in the task's IO slot → `wait_io` on that socket, directly in this coroutine
//!   (the cheapest wait may has: the same as a raw may socket call).
//!
//! Timers are the task's own (a map its futures register with); while it waits, one entry
//! on the timer thread wakes it no later than its earliest deadline. (may's own park
//! timeout is not used: it keeps whole milliseconds, parks for good below 1 ms, and under
//! load can fire before the coroutine is registered with it, which parks it for good.)
//!
//! The waker knows how the task waits: during `wait_io` it kicks the socket's
//! `WaitIoWaker`, otherwise it unparks the `Blocker`. A `notified` flag and a `waiting` flag
//! (Dekker-style, `SeqCst`) make sure no wake-up is lost; a stale token only causes one
//! spurious re-poll.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

use anyrt_core::backend::set_polling_async;
use may::io::WaitIoWaker;
use may::sync::Blocker;

use crate::source::IoWait;
use crate::time::Timers;

/// The bit `WaitIoWaker::wakeup` sets in a socket's readiness flags.
pub(crate) const WAKER_BIT: usize = 0x8000_0000;

/// A key in a loop's timer map: deadline, then an id unique in that loop (see
/// [`Registrations::add_timer`]).
pub(crate) type TimerKey = (Instant, u64);

/// The state of one running poll loop, shared with its waker.
///
/// A green task embeds its `LoopState` in the allocation it shares with its join handle (see
/// [`TaskLoop`]); `block_on` keeps one per coroutine or thread. What only a loop that waits
/// needs lives in [`WaitState`], in place but initialised on first use: a task that
/// completes in its first poll writes none of it, and a task that waits needs no allocation
/// for it. (Boxed, it cost every waiting task one allocation more: measured, 12.4 against
/// 11.3–11.4 allocations per short connection, spawn+join unchanged.)
pub(crate) struct LoopState {
    in_coroutine: bool,
    /// Set by every wake since the current poll started.
    notified: AtomicBool,
    /// Set while the loop waits (or is about to wait, after checking `notified`).
    waiting: AtomicBool,
    /// Yields in a row without a wait (see `yield_worker`); only the loop touches it.
    self_wakes: AtomicU32,
    waits: OnceLock<WaitState>,
}

/// The part of a [`LoopState`] that a loop needs once it registers a timer or socket, or
/// waits.
#[derive(Default)]
struct WaitState {
    /// Made by the loop on its first park: may's `Blocker` must be created on the
    /// coroutine (or thread) it parks.
    blocker: OnceLock<Blocker>,
    /// The socket the loop waits on in `wait_io`, if it does.
    io_waker: Mutex<Option<WaitIoWaker>>,
    local: Mutex<Registrations>,
    /// A loop nested in this one's poll (blocking-style code called from a future), which
    /// an abort of this task must wake.
    nested: Mutex<Option<Arc<dyn TaskLoop>>>,
}

/// What futures polled by this loop register: timers and the elected socket.
#[derive(Default)]
pub(crate) struct Registrations {
    pub(crate) timers: Timers,
    io_slot: Option<Arc<dyn IoWait>>,
    /// The deadline of this loop's pending timer-thread entry (socket + deadline case).
    armed: Option<Instant>,
    /// The id of the next timer key. Never reset (clearing the timers does not reset it):
    /// a `Sleep` may put its old key back after a clear, which a reused id could collide
    /// with. Per loop, not global: a shared counter would be one contended atomic per
    /// timer between the workers.
    next_timer: u64,
}

impl Registrations {
    /// Registers a timer due at `deadline`; returns its key.
    pub(crate) fn add_timer(&mut self, deadline: Instant, waker: Waker) -> TimerKey {
        let key = (deadline, self.next_timer);
        self.next_timer += 1;
        self.timers.insert(key, waker);
        key
    }
}

impl std::fmt::Debug for LoopState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoopState")
            .field("in_coroutine", &self.in_coroutine)
            .finish_non_exhaustive()
    }
}

/// What a poll loop runs for, and owns its [`LoopState`]: a `block_on` call (the
/// `LoopState` alone) or a green task (its state shared with the join handle). The loop
/// polling on a thread is known to futures as an `Arc<dyn TaskLoop>`.
pub(crate) trait TaskLoop: Send + Sync + std::fmt::Debug + 'static {
    /// The loop state.
    fn core(&self) -> &LoopState;

    /// The flag `abort` sets, if this is a task's own state: the loop stops when it is set.
    fn stop(&self) -> Option<&AtomicBool> {
        None
    }

    /// The loop's waker.
    fn waker(self: Arc<Self>) -> Waker;
}

impl TaskLoop for LoopState {
    fn core(&self) -> &LoopState {
        self
    }

    fn waker(self: Arc<Self>) -> Waker {
        Waker::from(self)
    }
}

impl Wake for LoopState {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.notify();
    }
}

/// Two handles on the same loop (compared by address: the vtable half of an
/// `Arc<dyn TaskLoop>` plays no part).
pub(crate) fn same_loop<A: ?Sized, B: ?Sized>(a: &Arc<A>, b: &Arc<B>) -> bool {
    std::ptr::eq(Arc::as_ptr(a).cast::<()>(), Arc::as_ptr(b).cast::<()>())
}

impl LoopState {
    /// Wakes the loop: the body of its waker.
    pub(crate) fn notify(&self) {
        if self.notified.swap(true, SeqCst) {
            // A wake-up is already pending since the current poll started.
            return;
        }
        // `waits` (and its blocker) are made before `waiting` is first set.
        if self.waiting.load(SeqCst)
            && let Some(waits) = self.waits.get()
        {
            let io = lock(&waits.io_waker);
            if let Some(w) = io.as_ref() {
                w.wakeup();
                return;
            }
            drop(io);
            if let Some(b) = waits.blocker.get() {
                b.unpark();
            }
        }
        // Not waiting: the loop checks `notified` before it waits.
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing here panics while holding a lock; a poisoned lock holds consistent data.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

std::thread_local! {
    /// The loop polling on this thread right now. Only set during a poll and never held
    /// across a suspension point, so a coroutine's migration between workers cannot make
    /// it point at another task (see the crate docs on thread-locals).
    static CURRENT: Cell<Option<Arc<dyn TaskLoop>>> = const { Cell::new(None) };
}

/// Calls `f` with the loop polling on this thread, if any.
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Arc<dyn TaskLoop>>) -> R) -> R {
    CURRENT.with(|c| {
        let cur = c.take();
        let r = f(cur.as_ref());
        c.set(cur);
        r
    })
}

impl LoopState {
    /// A loop state for a loop that runs on a coroutine (`in_coroutine`) or on a thread.
    pub(crate) fn new(in_coroutine: bool) -> LoopState {
        LoopState {
            in_coroutine,
            notified: AtomicBool::new(false),
            waiting: AtomicBool::new(false),
            self_wakes: AtomicU32::new(0),
            waits: OnceLock::new(),
        }
    }

    fn waits(&self) -> &WaitState {
        self.waits.get_or_init(WaitState::default)
    }

    /// The loop's timers and socket slot.
    pub(crate) fn local(&self) -> MutexGuard<'_, Registrations> {
        lock(&self.waits().local)
    }

    /// Makes this loop the waiter of `src`, if it has no socket yet and can wait on one.
    pub(crate) fn try_take_io_slot(&self, src: Arc<dyn IoWait>) -> Result<(), Arc<dyn IoWait>> {
        if !self.in_coroutine {
            return Err(src);
        }
        let mut local = self.local();
        if local.io_slot.is_some() {
            return Err(src);
        }
        local.io_slot = Some(src);
        Ok(())
    }

    /// Gives up the socket slot (its other wakers are woken to elect a new waiter) and
    /// drops the timers.
    fn clear(&self) {
        // Whatever registers (a timer, the socket slot) goes through `local()`, which
        // initialises the wait state: without it there is nothing to clear, and a task that
        // completes without registering anything (most short ones) never initialises it.
        // Not keyed on whether the loop waited: a poll can take the socket slot, be woken
        // before the loop waits, and complete on its next poll.
        let Some(waits) = self.waits.get() else {
            return;
        };
        let (slot, timers) = {
            let mut local = lock(&waits.local);
            local.armed = None;
            let timers = (!local.timers.is_empty()).then(|| std::mem::take(&mut local.timers));
            (local.io_slot.take(), timers)
        };
        // Wakers are dropped outside the lock: dropping one may drop a `Sleep`, which
        // locks it.
        drop(timers);
        if let Some(io) = slot {
            io.release();
        }
    }

    fn park(&self) {
        let blocker = self.waits().blocker.get_or_init(|| Blocker::new(false));
        self.waiting.store(true, SeqCst);
        if !self.notified.load(SeqCst) {
            // Without a timeout: cannot fail (nothing cancels our coroutines).
            let _ = blocker.park(None);
        }
        self.waiting.store(false, SeqCst);
    }

    /// Wakes the loop and any loop nested in its poll: the task was aborted.
    pub(crate) fn notify_abort(&self) {
        self.notify();
        let nested = self.waits.get().and_then(|w| lock(&w.nested).clone());
        if let Some(n) = nested {
            n.core().notify();
        }
    }

    /// WaitState on `io` directly; returns `true` if the socket reported readiness.
    fn wait_io(&self, io: &dyn IoWait) -> bool {
        let waits = self.waits();
        *lock(&waits.io_waker) = Some(io.io_waker());
        self.waiting.store(true, SeqCst);
        let flags = if self.notified.load(SeqCst) {
            0
        } else {
            io.wait()
        };
        self.waiting.store(false, SeqCst);
        *lock(&waits.io_waker) = None;
        flags & !WAKER_BIT != 0
    }
}

/// Restores the previous `CURRENT` and cleans up on every exit, panics included.
struct LoopGuard<'a> {
    core: &'a LoopState,
    prev: Option<Arc<dyn TaskLoop>>,
    /// The "polling an async task" flag at entry: `true` for a loop nested in a poll.
    polling: bool,
}

impl Drop for LoopGuard<'_> {
    fn drop(&mut self) {
        self.core.clear();
        if let Some(outer) = &self.prev
            && let Some(w) = outer.core().waits.get()
        {
            *lock(&w.nested) = None;
            // Whatever woke the outer loop while this one ran was taken for this loop's own:
            // the outer loop re-polls once rather than miss it (its timers were dropped by
            // `clear` above, and its futures register them again when polled).
            outer.core().notified.store(true, SeqCst);
        }
        set_polling_async(self.polling);
        CURRENT.with(|c| drop(c.replace(self.prev.take())));
    }
}

/// The payload a green task unwinds with when it is aborted inside blocking-style code:
/// the blocking call does not run on, and the task's handle already reports cancellation.
#[derive(Debug)]
pub(crate) struct Aborted;

/// Unwinds the current green task, which was aborted (see [`Aborted`]).
pub(crate) fn unwind_aborted() -> ! {
    // `resume_unwind`: no panic hook runs, so nothing is printed.
    std::panic::resume_unwind(Box::new(Aborted))
}

/// Whether the loop of `owner` must stop: its task was aborted. Never while the thread
/// unwinds already (blocking-style code in a destructor runs to its end then).
fn stopped(owner: &dyn TaskLoop) -> bool {
    owner.stop().is_some_and(|s| s.load(SeqCst)) && !std::thread::panicking()
}

/// Polls `fut` to completion on the current coroutine or thread, waiting in between as
/// the module docs describe. Returns `None` if the owner's task was aborted.
pub(crate) fn run<F: Future>(owner: Arc<dyn TaskLoop>, mut fut: Pin<&mut F>) -> Option<F::Output> {
    let core = owner.core();
    // A loop nested in another loop's poll (blocking-style code called from a future):
    // hand the outer loop's socket to someone who can wait on it meanwhile, and let an
    // abort of the outer task reach this loop.
    let prev = CURRENT.with(|c| c.take());
    let mut stop_outer = None;
    if let Some(outer) = &prev {
        let oc = outer.core();
        let slot = oc.local().io_slot.take();
        if let Some(io) = slot {
            io.release();
        }
        *lock(&oc.waits().nested) = Some(owner.clone());
        stop_outer = Some(outer.clone());
    }
    let polling = set_polling_async(false);
    let _guard = LoopGuard {
        core,
        prev,
        polling,
    };
    let waker = owner.clone().waker();
    let mut cx = Context::from_waker(&waker);
    // Moved into CURRENT for each poll and back out: no reference count traffic.
    let mut mine = Some(owner.clone());
    let stop = owner.stop();
    let stop_outer = stop_outer.as_deref().and_then(|o| o.stop());
    let set = |flag: Option<&AtomicBool>| flag.is_some_and(|s| s.load(SeqCst));
    loop {
        // Cleared before the abort flags are read, not after: an abort sets its flag, then
        // wakes the loop. Cleared after the check, an abort landing between the two lost
        // its wake-up, and the task slept on until its own timer (a minute, say).
        core.notified.store(false, SeqCst);
        if (set(stop) || set(stop_outer)) && !std::thread::panicking() {
            return None;
        }
        CURRENT.with(|c| c.set(mine.take()));
        set_polling_async(true);
        let polled = fut.as_mut().poll(&mut cx);
        set_polling_async(polling);
        mine = CURRENT.with(|c| c.take());
        if !mine.as_ref().is_some_and(|m| same_loop(m, &owner)) {
            // Only if a future blocked inside poll and came back on another thread.
            mine = Some(owner.clone());
        }
        if let Poll::Ready(v) = polled {
            return Some(v);
        }
        // Suspensions happen outside any poll: the flag goes with the coroutine, not the
        // thread it leaves.
        set_polling_async(false);
        wait(&owner);
        // Resumed, perhaps on a worker that has not started a coroutine yet: it enters
        // the tokio context now.
        #[cfg(feature = "tokio-context")]
        if owner.core().in_coroutine {
            crate::start::on_worker();
        }
        set_polling_async(polling);
    }
}

/// Fires expired timers, then waits for the next event unless a wake-up is pending.
fn wait(owner: &Arc<dyn TaskLoop>) {
    let core = owner.core();
    // Usually one timer at most is due: no allocation for it.
    let mut first = None;
    let mut more = Vec::new();
    let (slot, arm) = {
        let mut local = core.local();
        // The clock is read only by a loop with timers (an implicit read waits here once
        // per call).
        let now = (!local.timers.is_empty() || local.armed.is_some()).then(Instant::now);
        if let Some(now) = now {
            local.timers.take_due(now, &mut first, &mut more);
        }
        let earliest = local.timers.earliest();
        if local
            .io_slot
            .as_ref()
            .is_some_and(|s| Arc::strong_count(s) == 1)
        {
            // Nobody else holds the socket any more: stop waiting on it.
            let io = local.io_slot.take();
            drop(local);
            if let Some(io) = io {
                io.release();
            }
            local = core.local();
        }
        if let (Some(a), Some(now)) = (local.armed, now)
            && a <= now
        {
            local.armed = None;
        }
        let slot = local.io_slot.clone();
        let arm = match earliest {
            Some(dl) if local.armed.is_none_or(|a| a > dl) => {
                local.armed = Some(dl);
                Some(dl)
            }
            _ => None,
        };
        (slot, arm)
    };
    if let Some(dl) = arm {
        // Armed before any early return below: `armed` now promises this entry. An entry
        // armed for an earlier instant is still valid (an early wake is a spurious re-poll),
        // so `timeout(5 s, read)` in a loop arms about once per 5 s. The entry holds the
        // loop weakly: a task that ends is gone at once, not when its deadline passes.
        crate::time::wake_at(dl, Arc::downgrade(owner), core.in_coroutine);
    }
    let fired = first.is_some();
    for w in first.into_iter().chain(more) {
        w.wake();
    }
    if fired || core.notified.load(SeqCst) {
        if core.in_coroutine {
            yield_worker(owner);
        }
        return;
    }
    core.self_wakes.store(0, Relaxed);
    match slot {
        Some(io) => {
            if core.wait_io(&*io) {
                // Real readiness: give up the slot and wake everyone interested (us too).
                let taken = core.local().io_slot.take();
                if let Some(io) = taken {
                    io.release();
                }
            }
        }
        None => core.park(),
    }
}

/// How many times in a row a loop may go to the back of its worker's run queue before it
/// leaves the queues once (see [`yield_worker`]).
const FAST_YIELDS: u32 = 64;

/// A loop woken during its own poll (`yield_now`, a future that wakes itself) lets the other
/// green tasks run before it polls again.
///
/// may's `yield_now` puts the coroutine at the back of its worker's local queue: cheap, and
/// fair to the tasks in that queue. But a may worker looks at its global queue (tasks
/// spawned or woken from other threads, the timer dispatcher) and at its sockets only once
/// its local queue is empty, which tasks that keep yielding never let happen. So every
/// [`FAST_YIELDS`]th yield in a row, the loop leaves the queues: it parks, and the timer
/// thread wakes it at once, from outside, through the global queue.
fn yield_worker(owner: &Arc<dyn TaskLoop>) {
    let core = owner.core();
    let n = core.self_wakes.fetch_add(1, Relaxed) + 1;
    if !n.is_multiple_of(FAST_YIELDS) {
        may::coroutine::yield_now();
        return;
    }
    // A wake-up that comes in from now on ends the park early, as any wake does.
    core.notified.store(false, SeqCst);
    crate::time::wake_at(Instant::now(), Arc::downgrade(owner), false);
    core.park();
}

/// What anyrt-green keeps per coroutine (per thread, off the coroutines). One
/// coroutine-local for both: may allocates each coroutine-local of a coroutine on its first
/// use, so an implicit task, which uses both, pays one allocation instead of two (15.3 →
/// 14.3 allocations per implicit short connection, bench `short` case).
struct CoroutineState {
    /// The loop state `block_on` reuses: blocking-style code calls `block_on` for every
    /// read and write, which must not allocate. A `LoopState` parks the coroutine or
    /// thread that made it. An implicit task starts with its own state here, so that
    /// aborting it reaches its blocking calls.
    cached: CachedLoop,
    /// The implicit thread's cancellation token (see [`implicit_slot`]); used on
    /// coroutines only.
    implicit: anyrt_core::backend::ImplicitSlot,
}

may::coroutine_local!(
    static STATE: CoroutineState = CoroutineState {
        cached: CachedLoop(Cell::new(None)),
        implicit: anyrt_core::backend::ImplicitSlot::new(),
    }
);

/// Calls `f` with this coroutine's (or thread's) cached loop state.
fn with_cached<R>(f: impl FnOnce(&Cell<Option<Arc<dyn TaskLoop>>>) -> R) -> R {
    STATE.with(|s| f(&s.cached.0))
}

/// The cell of the cached loop state, which must not drop a coroutine's park where may
/// tears the coroutine down.
///
/// may drops a coroutine's locals on the worker, after the coroutine ended. That can happen
/// *inside* may's bookkeeping for the coroutine's last park: a wake-up that lands while the
/// coroutine is on its way into `Blocker::park` makes the worker resume it from within
/// `Park::subscribe`, and if the coroutine then runs to its end, its locals are dropped
/// there. Dropping the `Blocker` then waits for that `subscribe` to return, which it never
/// does (the same worker's stack, further down): the worker spins forever, and every task
/// and socket it serves goes silent. So an implicit task empties the cell itself before
/// it ends ([`leave_implicit`]), in the coroutine, where `Park::drop` yields instead; and
/// a loop that is still here when may drops the locals (blocking-style code called from
/// an async task, or from a coroutine anyrt did not spawn) goes to the timer thread, which
/// drops it once that `subscribe` has returned.
struct CachedLoop(Cell<Option<Arc<dyn TaskLoop>>>);

impl Drop for CachedLoop {
    fn drop(&mut self) {
        let Some(owner) = self.0.take() else {
            return;
        };
        let core = owner.core();
        let parked = core.waits.get().is_some_and(|w| w.blocker.get().is_some());
        if core.in_coroutine && parked && !may::coroutine::is_coroutine() {
            crate::time::drop_later(owner);
        }
    }
}

/// Makes `owner` (an implicit task's state) the loop state of this coroutine's
/// blocking-style calls.
pub(crate) fn enter_implicit(owner: Arc<dyn TaskLoop>) {
    with_cached(|c| c.set(Some(owner)));
}

/// Drops this coroutine's loop state while the coroutine still runs: the end of an
/// implicit task (see [`CachedLoop`]).
pub(crate) fn leave_implicit() {
    let owner = with_cached(Cell::take);
    drop(owner);
}

/// Runs `fut` to completion on the current coroutine or thread.
///
/// # Panics
///
/// On a plain thread that is polling an async task (of any backend): blocking there
/// would stall that executor.
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    match block_on_stoppable(fut) {
        Some(v) => v,
        // The implicit task this runs in was aborted.
        None => unwind_aborted(),
    }
}

/// [`block_on`], but `None` instead of unwinding when the implicit task this runs in was
/// aborted: for callers that cannot unwind (the patched libc calls).
pub(crate) fn block_on_stoppable<F: Future>(fut: F) -> Option<F::Output> {
    let in_coroutine = may::coroutine::is_coroutine();
    if !in_coroutine {
        anyrt_core::backend::assert_may_block("`Green::block_on` (or anyrt::implicit on Green)");
    }
    let fut = std::pin::pin!(fut);
    // One lookup: the cell is the coroutine's own (or, on a plain thread, the thread's),
    // so holding it across the loop's waits is sound.
    with_cached(|cached| {
        // Taken while in use: a nested `block_on` makes a fresh one.
        let owner = cached.take().unwrap_or_else(|| {
            let core: Arc<dyn TaskLoop> = Arc::new(LoopState::new(in_coroutine));
            core
        });
        let out = run(owner.clone(), fut);
        cached.set(Some(owner));
        out
    })
}

/// The coroutine parker `anyrt::implicit::sync` uses (registered when a runtime is
/// built): on one of may's coroutines, runs `fut` to completion there; elsewhere `false`.
pub(crate) fn block_on_coroutine(fut: std::pin::Pin<&mut (dyn Future<Output = ()> + '_)>) -> bool {
    if !may::coroutine::is_coroutine() {
        return false;
    }
    block_on(fut);
    true
}

/// How a direct wait ended.
pub(crate) enum DirectWait {
    /// The socket may be ready: try the call again.
    Ready,
    /// The implicit task was aborted: step down as the socket's waiter, then unwind.
    Aborted,
    /// The implicit thread was cancelled (`anyrt::implicit::Thread::cancel`): step down,
    /// then fail the call with `anyrt::implicit::cancelled_error()`.
    Cancelled,
}

/// Waits on `io` directly from blocking-style code (no poll loop), as a may socket call
/// does, in a way an abort of the current implicit task, or a cancellation of its implicit
/// thread, can interrupt.
pub(crate) fn wait_direct(io: &dyn IoWait) -> DirectWait {
    with_cached(|cached| {
        let owner = cached.take();
        let waited = match &owner {
            Some(o) if o.stop().is_some() => {
                let core = o.core();
                core.notified.store(false, SeqCst);
                // A cancellation wakes the loop as any wake does (and `notified` covers one
                // that lands before the wait starts).
                // The loop's waker is made only for a thread with a token to watch.
                let watched = anyrt_core::backend::cancel_point(|| o.clone().waker());
                if watched == Some(true) {
                    DirectWait::Cancelled
                } else {
                    if !stopped(&**o) {
                        core.wait_io(io);
                    }
                    if stopped(&**o) {
                        DirectWait::Aborted
                    } else if watched.is_some() && anyrt_core::backend::is_cancelled() {
                        DirectWait::Cancelled
                    } else {
                        DirectWait::Ready
                    }
                }
            }
            _ => {
                io.wait();
                DirectWait::Ready
            }
        };
        cached.set(owner);
        waited
    })
}

/// Access to the coroutine's own implicit slot (its cancellation token), registered with
/// anyrt-core when a runtime is built; `false` off may's coroutines.
pub(crate) fn implicit_slot(f: &mut dyn FnMut(&anyrt_core::backend::ImplicitSlot)) -> bool {
    if !may::coroutine::is_coroutine() {
        return false;
    }
    STATE.with(|s| f(&s.implicit));
    true
}
