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
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

use may::io::WaitIoWaker;
use may::sync::Blocker;

use crate::net::IoWait;
use crate::time::Timers;

/// The bit `WaitIoWaker::wakeup` sets in a socket's readiness flags.
pub(crate) const WAKER_BIT: usize = 0x8000_0000;

/// A key in a task's timer map: deadline, then a unique id.
pub(crate) type TimerKey = (Instant, u64);

pub(crate) fn next_timer_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The state of one running poll loop, shared with its waker.
///
/// A green task embeds its `Core` in the allocation it shares with its join handle (see
/// [`Owner`]); `block_on` keeps one per coroutine or thread. What only a loop that waits
/// needs lives in [`Waits`], made on first use: a task that completes in its first poll
/// allocates nothing beyond its join state (which stays small enough for the allocator's
/// fast path).
pub(crate) struct Core {
    in_coroutine: bool,
    /// Set by every wake since the current poll started.
    notified: AtomicBool,
    /// Set while the loop waits (or is about to wait, after checking `notified`).
    waiting: AtomicBool,
    waits: OnceLock<Box<Waits>>,
}

/// The part of a [`Core`] that a loop needs once it registers a timer or socket, or waits.
#[derive(Default)]
struct Waits {
    /// Made by the loop on its first park: may's `Blocker` must be created on the
    /// coroutine (or thread) it parks.
    blocker: OnceLock<Blocker>,
    /// The socket the loop waits on in `wait_io`, if it does.
    io_waker: Mutex<Option<WaitIoWaker>>,
    local: Mutex<Local>,
}

/// What futures polled by this loop register: timers and the elected socket.
#[derive(Default)]
pub(crate) struct Local {
    pub(crate) timers: Timers,
    io_slot: Option<Arc<dyn IoWait>>,
    /// The deadline of this loop's pending timer-thread entry (socket + deadline case).
    armed: Option<Instant>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("in_coroutine", &self.in_coroutine)
            .finish_non_exhaustive()
    }
}

/// What owns a [`Core`]: the `Core` itself (`block_on`) or a green task's shared state.
/// The loop polling on a thread is known to futures as an `Arc<dyn Owner>`.
pub(crate) trait Owner: Send + Sync + std::fmt::Debug + 'static {
    /// The loop state.
    fn core(&self) -> &Core;
}

impl Owner for Core {
    fn core(&self) -> &Core {
        self
    }
}

impl Wake for Core {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.notify();
    }
}

/// Two handles on the same loop (compared by address: the vtable half of an
/// `Arc<dyn Owner>` plays no part).
pub(crate) fn same<A: ?Sized, B: ?Sized>(a: &Arc<A>, b: &Arc<B>) -> bool {
    std::ptr::eq(Arc::as_ptr(a).cast::<()>(), Arc::as_ptr(b).cast::<()>())
}

impl Core {
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
    static CURRENT: Cell<Option<Arc<dyn Owner>>> = const { Cell::new(None) };
}

/// Calls `f` with the loop polling on this thread, if any.
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Arc<dyn Owner>>) -> R) -> R {
    CURRENT.with(|c| {
        let cur = c.take();
        let r = f(cur.as_ref());
        c.set(cur);
        r
    })
}

impl Core {
    /// A loop state for a loop that runs on a coroutine (`in_coroutine`) or on a thread.
    pub(crate) fn new(in_coroutine: bool) -> Core {
        Core {
            in_coroutine,
            notified: AtomicBool::new(false),
            waiting: AtomicBool::new(false),
            waits: OnceLock::new(),
        }
    }

    fn waits(&self) -> &Waits {
        self.waits.get_or_init(Box::default)
    }

    /// The loop's timers and socket slot.
    pub(crate) fn local(&self) -> MutexGuard<'_, Local> {
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
        if self.waits.get().is_none() {
            return;
        }
        let (slot, timers) = {
            let mut local = self.local();
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

    /// Waits on `io` directly; returns `true` if the socket reported readiness.
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
    core: &'a Core,
    prev: Option<Arc<dyn Owner>>,
}

impl Drop for LoopGuard<'_> {
    fn drop(&mut self) {
        self.core.clear();
        CURRENT.with(|c| drop(c.replace(self.prev.take())));
    }
}

/// Polls `fut` to completion on the current coroutine or thread, waiting in between as
/// the module docs describe. Returns `None` if `stop` was set (the task was aborted).
pub(crate) fn run<W, F>(
    owner: &Arc<W>,
    mut fut: Pin<&mut F>,
    stop: Option<&AtomicBool>,
) -> Option<F::Output>
where
    W: Owner + Wake,
    F: Future,
{
    let core = owner.core();
    // A loop nested in another loop's poll (blocking-style code called from a future):
    // hand the outer loop's socket to someone who can wait on it meanwhile.
    let prev = CURRENT.with(|c| c.take());
    if let Some(outer) = &prev {
        let slot = outer.core().local().io_slot.take();
        if let Some(io) = slot {
            io.release();
        }
    }
    let _guard = LoopGuard { core, prev };
    let waker = Waker::from(owner.clone());
    let mut cx = Context::from_waker(&waker);
    // Moved into CURRENT for each poll and back out: no reference count traffic.
    let me: Arc<dyn Owner> = owner.clone();
    let mut mine = Some(me);
    loop {
        if stop.is_some_and(|s| s.load(SeqCst)) {
            return None;
        }
        core.notified.store(false, SeqCst);
        CURRENT.with(|c| c.set(mine.take()));
        let polled = fut.as_mut().poll(&mut cx);
        mine = CURRENT.with(|c| c.take());
        if !mine.as_ref().is_some_and(|m| same(m, owner)) {
            // Only if a future blocked inside poll and came back on another thread.
            let me: Arc<dyn Owner> = owner.clone();
            mine = Some(me);
        }
        if let Poll::Ready(v) = polled {
            return Some(v);
        }
        wait(core, &waker);
    }
}

/// Fires expired timers, then waits for the next event unless a wake-up is pending.
fn wait(core: &Core, waker: &Waker) {
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
        // so `timeout(5 s, read)` in a loop arms about once per 5 s.
        crate::time::wake_at(dl, waker.clone(), core.in_coroutine);
    }
    let fired = first.is_some();
    for w in first.into_iter().chain(more) {
        w.wake();
    }
    if fired || core.notified.load(SeqCst) {
        return;
    }
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

// The loop state `block_on` reuses: blocking-style code calls `block_on` for every read
// and write, which must not allocate. Coroutine-local (thread-local on a plain thread): a
// `Core` parks the coroutine or thread that made it.
may::coroutine_local!(static CACHED: Cell<Option<Arc<Core>>> = Cell::new(None));

/// Runs `fut` to completion on the current coroutine or thread.
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    let fut = std::pin::pin!(fut);
    // One lookup: the cell is the coroutine's own (or, on a plain thread, the thread's),
    // so holding it across the loop's waits is sound.
    let out = CACHED.with(|cached| {
        // Taken while in use: a nested `block_on` makes a fresh one.
        let core = cached
            .take()
            .unwrap_or_else(|| Arc::new(Core::new(may::coroutine::is_coroutine())));
        let out = run(&core, fut, None);
        cached.set(Some(core));
        out
    });
    match out {
        Some(v) => v,
        // `run` returns `None` only when `stop` is given.
        None => unreachable!("block_on has no stop flag"),
    }
}
