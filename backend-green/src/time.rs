//! `Sleep`, and the timer thread that wakes waiting tasks at their deadlines.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::poll_loop::{TaskLoop, TimerKey, lock, same_loop, with_current};

/// The Green backend's sleep future.
///
/// Polled by a green task (or `Green::block_on`), it registers with that task's own timer
/// map: no thread or coroutine per sleep, and the task keeps one entry on the shared timer
/// thread for its earliest deadline. Polled by any other executor, it registers with the
/// timer thread directly. It never completes before its deadline.
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Sleep {
    deadline: Option<Instant>,
    reg: Registration,
    done: bool,
}

#[derive(Debug)]
enum Registration {
    None,
    Task {
        owner: Arc<dyn TaskLoop>,
        key: TimerKey,
    },
    Thread(Arc<Mutex<Option<Waker>>>),
}

impl Sleep {
    pub(crate) fn after(duration: Duration) -> Sleep {
        Sleep {
            // `None`: beyond what `Instant` can hold, so never.
            deadline: Instant::now().checked_add(duration),
            reg: Registration::None,
            done: false,
        }
    }

    pub(crate) fn until(deadline: Instant) -> Sleep {
        Sleep {
            deadline: Some(deadline),
            reg: Registration::None,
            done: false,
        }
    }

    fn unregister(&mut self) {
        match std::mem::replace(&mut self.reg, Registration::None) {
            Registration::None => {}
            Registration::Task { owner, key } => {
                let removed = owner.core().local().timers.remove(&key);
                drop(removed);
            }
            Registration::Thread(slot) => *lock(&slot) = None,
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(deadline) = self.deadline else {
            return Poll::Pending;
        };
        if self.done || Instant::now() >= deadline {
            self.unregister();
            self.done = true;
            return Poll::Ready(());
        }
        let this = &mut *self;
        with_current(|current| match (current, &this.reg) {
            (Some(cur), Registration::Task { owner, key }) if same_loop(cur, owner) => {
                let mut local = owner.core().local();
                match local.timers.get_mut(key) {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    Some(w) => w.clone_from(cx.waker()),
                    None => {
                        // The loop dropped its timers (it ended and we were moved on).
                        local.timers.insert(*key, cx.waker().clone());
                    }
                }
            }
            (Some(cur), _) => {
                this.unregister();
                let key = cur.core().local().add_timer(deadline, cx.waker().clone());
                this.reg = Registration::Task {
                    owner: cur.clone(),
                    key,
                };
            }
            (None, Registration::Thread(slot)) => {
                let mut w = lock(slot);
                match w.as_mut() {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => *w = Some(cx.waker().clone()),
                }
            }
            (None, _) => {
                this.unregister();
                let slot = Arc::new(Mutex::new(Some(cx.waker().clone())));
                timer_thread().add(deadline, Entry::Shared(slot.clone()));
                this.reg = Registration::Thread(slot);
            }
        });
        Poll::Pending
    }
}

/// A task's own timers, by deadline. Most tasks wait on one timer at a time (a `sleep`, a
/// `timeout`): that one is held inline, without an allocation; more go to a map.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    one: Option<(TimerKey, Waker)>,
    rest: BTreeMap<TimerKey, Waker>,
}

impl Timers {
    pub(crate) fn insert(&mut self, key: TimerKey, waker: Waker) {
        match &self.one {
            None => self.one = Some((key, waker)),
            Some(_) => drop(self.rest.insert(key, waker)),
        }
    }

    pub(crate) fn get_mut(&mut self, key: &TimerKey) -> Option<&mut Waker> {
        match &mut self.one {
            Some((k, w)) if k == key => Some(w),
            _ => self.rest.get_mut(key),
        }
    }

    pub(crate) fn remove(&mut self, key: &TimerKey) -> Option<Waker> {
        match &self.one {
            Some((k, _)) if k == key => self.one.take().map(|(_, w)| w),
            _ => self.rest.remove(key),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.one.is_none() && self.rest.is_empty()
    }

    /// The earliest deadline.
    pub(crate) fn earliest(&self) -> Option<Instant> {
        let one = self.one.as_ref().map(|(k, _)| k.0);
        let rest = self.rest.first_key_value().map(|(k, _)| k.0);
        match (one, rest) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Removes the timers due at `now`; the first in `first`, any others in `more`.
    pub(crate) fn take_due(
        &mut self,
        now: Instant,
        first: &mut Option<Waker>,
        more: &mut Vec<Waker>,
    ) {
        let mut put = |w: Waker| match first {
            None => *first = Some(w),
            Some(_) => more.push(w),
        };
        if self.one.as_ref().is_some_and(|(k, _)| k.0 <= now)
            && let Some((_, w)) = self.one.take()
        {
            put(w);
        }
        while let Some(entry) = self.rest.first_entry() {
            if entry.key().0 > now {
                break;
            }
            put(entry.remove());
        }
    }
}

/// Complete once it has returned `Ready`, so it works in `futures::select!`.
impl anyrt_core::time::FusedFuture for Sleep {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.unregister();
    }
}

/// Wakes the poll loop of `owner` at `deadline` from the timer thread; through the
/// dispatcher coroutine if the loop runs on a coroutine (`in_coroutine`).
///
/// The entry holds the loop weakly: a task that ends before its deadline is dropped at
/// once (its output and whatever it owns with it), not when the entry comes due.
pub(crate) fn wake_at(deadline: Instant, owner: Weak<dyn TaskLoop>, in_coroutine: bool) {
    let entry = if in_coroutine {
        Entry::Coroutine(owner)
    } else {
        // A plain thread's `block_on` is woken directly: it must not depend on a free
        // worker to run the dispatcher.
        Entry::Thread(owner)
    };
    timer_thread().add(deadline, entry);
}

/// Wakes a poll loop, if it still exists.
fn notify(owner: &Weak<dyn TaskLoop>) {
    if let Some(o) = owner.upgrade() {
        o.core().notify();
    }
}

/// Drops `owner` on the timer thread, soon: for a loop state that must not be dropped where
/// it is (see `poll_loop::CachedLoop`). The timer thread never runs a coroutine, so it can
/// wait for whatever may still does with the loop's park.
pub(crate) fn drop_later(owner: Arc<dyn TaskLoop>) {
    timer_thread().add(Instant::now(), Entry::Drop(owner));
}

enum Entry {
    /// Only to be dropped (see [`drop_later`]).
    Drop(Arc<dyn TaskLoop>),
    /// A coroutine's poll loop (see [`wake_at`]): woken through the dispatcher.
    Coroutine(Weak<dyn TaskLoop>),
    /// A plain thread's poll loop: woken by the timer thread.
    Thread(Weak<dyn TaskLoop>),
    // Emptied when its `Sleep` is dropped or completes.
    Shared(Arc<Mutex<Option<Waker>>>),
}

struct Timed {
    deadline: Instant,
    entry: Entry,
}

impl PartialEq for Timed {
    fn eq(&self, other: &Self) -> bool {
        self.deadline == other.deadline
    }
}

impl Eq for Timed {}

impl PartialOrd for Timed {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timed {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.deadline.cmp(&other.deadline)
    }
}

/// The timer thread's entries, by deadline.
///
/// Entries mostly come in deadline order: one duration used throughout (`sleep(10 ms)` in
/// many tasks, a server's read timeout), each deadline a little later than the one before.
/// Those go to the back of `in_order` and leave from its front, O(1) each; an entry earlier
/// than the last one there goes to `heap`. Measured (callgrind, 20 000 concurrent 10 ms
/// sleeps on two workers): the heap alone cost ~400 instructions per timer in `pop`.
#[derive(Default)]
struct Queue {
    in_order: VecDeque<Timed>,
    heap: BinaryHeap<Reverse<Timed>>,
}

impl Queue {
    fn push(&mut self, t: Timed) {
        if self
            .in_order
            .back()
            .is_none_or(|last| last.deadline <= t.deadline)
        {
            self.in_order.push_back(t);
        } else {
            self.heap.push(Reverse(t));
        }
    }

    fn earliest(&self) -> Option<Instant> {
        let a = self.in_order.front().map(|t| t.deadline);
        let b = self.heap.peek().map(|Reverse(t)| t.deadline);
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The earliest entry, if it is due at `now`.
    fn pop_due(&mut self, now: Instant) -> Option<Timed> {
        let a = self.in_order.front().map(|t| t.deadline);
        let b = self.heap.peek().map(|Reverse(t)| t.deadline);
        match (a, b) {
            (Some(a), b) if a <= now && b.is_none_or(|b| a <= b) => self.in_order.pop_front(),
            (_, Some(b)) if b <= now => self.heap.pop().map(|Reverse(t)| t),
            _ => None,
        }
    }
}

struct TimerThread {
    queue: Mutex<Queue>,
    cv: Condvar,
}

fn timer_thread() -> &'static TimerThread {
    static TIMER: OnceLock<&'static TimerThread> = OnceLock::new();
    TIMER.get_or_init(|| {
        // One per process, alive until exit: leaking it gives the thread a `'static` view.
        let t: &'static TimerThread = Box::leak(Box::new(TimerThread {
            queue: Mutex::new(Queue::default()),
            cv: Condvar::new(),
        }));
        let spawned = std::thread::Builder::new()
            .name("anyrt-green-timer".into())
            .spawn(move || t.run());
        if let Err(e) = spawned {
            // Without it, timers polled outside green tasks could never fire.
            panic!("anyrt-green: cannot start the timer thread: {e}");
        }
        t
    })
}

impl TimerThread {
    fn add(&self, deadline: Instant, entry: Entry) {
        let mut queue = lock(&self.queue);
        let earliest = queue.earliest().is_none_or(|e| deadline < e);
        queue.push(Timed { deadline, entry });
        drop(queue);
        if earliest {
            self.cv.notify_one();
        }
    }

    fn run(&self) {
        let mut due = Vec::new();
        let mut loops = Vec::new();
        let mut queue = lock(&self.queue);
        loop {
            let now = Instant::now();
            while let Some(t) = queue.pop_due(now) {
                due.push(t.entry);
            }
            if !due.is_empty() {
                drop(queue);
                for e in due.drain(..) {
                    match e {
                        Entry::Coroutine(w) => loops.push(w),
                        Entry::Thread(w) => notify(&w),
                        Entry::Drop(owner) => drop(owner),
                        Entry::Shared(slot) => {
                            let w = lock(&slot).take();
                            if let Some(w) = w {
                                w.wake();
                            }
                        }
                    }
                }
                dispatcher().wake_all(&mut loops, now);
                queue = lock(&self.queue);
                continue;
            }
            // A batch the dispatcher has not taken in time: delivered from here.
            let recheck = match DISPATCHER.get() {
                Some(d) => {
                    let recheck = d.overdue(now, &mut loops);
                    if !loops.is_empty() {
                        drop(queue);
                        loops.drain(..).for_each(|w| notify(&w));
                        queue = lock(&self.queue);
                        continue;
                    }
                    recheck
                }
                None => None,
            };
            let next = match (queue.earliest(), recheck) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            queue = match next {
                Some(deadline) => {
                    let wait = deadline.saturating_duration_since(now);
                    self.cv
                        .wait_timeout(queue, wait)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                None => self.cv.wait(queue).unwrap_or_else(|e| e.into_inner()),
            };
        }
    }
}

/// Wakes the poll loops whose deadlines passed, from a coroutine.
///
/// Waking a coroutine from a plain thread such as the timer thread goes through may's
/// global queue with an `eventfd` write per coroutine, about a microsecond each, one
/// after the other; at a hundred thousand due timers that made the last ones late by the
/// sum. From a may worker the same wake is a push onto the worker's own queue. So the
/// timer thread hands each batch of due loops to this coroutine and unparks it once.
///
/// The coroutine's wake-up waits in one worker's queue for wake-ups from outside the
/// workers, which the other workers do not take from: while that worker is blocked (a
/// task in a blocking call, a panic hook printing a backtrace), every green task's timers
/// would wait with it. So a batch not taken within [`DISPATCH_PATIENCE`] is delivered by
/// the timer thread itself, as if there were no dispatcher.
struct Dispatcher {
    batch: Mutex<Batch>,
    /// The coroutine's blocker; unset until it runs (or if it could not be spawned), and
    /// meanwhile the timer thread wakes loops itself.
    blocker: OnceLock<Arc<may::sync::Blocker>>,
}

/// The loops handed to the dispatcher and not yet taken.
#[derive(Default)]
struct Batch {
    loops: Vec<Weak<dyn TaskLoop>>,
    /// When the first of them was handed over.
    since: Option<Instant>,
}

/// How long the dispatcher may leave a batch before the timer thread delivers it.
const DISPATCH_PATIENCE: Duration = Duration::from_millis(5);

static DISPATCHER: OnceLock<&'static Dispatcher> = OnceLock::new();

fn dispatcher() -> &'static Dispatcher {
    DISPATCHER.get_or_init(|| {
        // One per process, alive until exit, like the timer thread.
        let d: &'static Dispatcher = Box::leak(Box::new(Dispatcher {
            batch: Mutex::new(Batch::default()),
            blocker: OnceLock::new(),
        }));
        // Only loops on green coroutines use it, so may is configured and running by now.
        // Without the coroutine, the timer thread goes on waking loops itself.
        let _ = crate::spawn::spawn_coroutine(DISPATCHER_STACK, move || d.run());
        d
    })
}

/// The dispatcher only moves wakers and calls `wake`.
const DISPATCHER_STACK: usize = 32 * 1024;

impl Dispatcher {
    /// Wakes every loop in `loops` (emptying it): through the coroutine once it runs.
    fn wake_all(&self, loops: &mut Vec<Weak<dyn TaskLoop>>, now: Instant) {
        if loops.is_empty() {
            return;
        }
        match self.blocker.get() {
            Some(b) => {
                let mut batch = lock(&self.batch);
                batch.since.get_or_insert(now);
                batch.loops.append(loops);
                drop(batch);
                b.unpark();
            }
            None => loops.drain(..).for_each(|w| notify(&w)),
        }
    }

    /// The timer thread's check on the dispatcher: moves into `late` a batch it has left
    /// for [`DISPATCH_PATIENCE`] (the caller wakes them); otherwise returns when to look
    /// again, if a batch waits.
    fn overdue(&self, now: Instant, late: &mut Vec<Weak<dyn TaskLoop>>) -> Option<Instant> {
        let mut batch = lock(&self.batch);
        let due = batch.since? + DISPATCH_PATIENCE;
        if now < due {
            return Some(due);
        }
        batch.since = None;
        std::mem::swap(&mut batch.loops, late);
        None
    }

    fn run(&self) {
        let blocker = Arc::new(may::sync::Blocker::new(false));
        let _ = self.blocker.set(blocker.clone());
        let mut mine = Vec::new();
        loop {
            {
                let mut batch = lock(&self.batch);
                batch.since = None;
                std::mem::swap(&mut batch.loops, &mut mine);
            }
            if mine.is_empty() {
                // Unparked after every hand-over: a wake-up is never lost, and a stale
                // one only makes this loop look once more.
                let _ = blocker.park(None);
                continue;
            }
            mine.drain(..).for_each(|w| notify(&w));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn shared() -> Entry {
        Entry::Shared(Arc::new(Mutex::new(None)))
    }

    /// Entries leave in deadline order whichever way they came in, and only once due.
    #[test]
    fn queue_pops_due_entries_in_deadline_order() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut q = Queue::default();
        // In order (to the deque), then earlier ones (to the heap), then in order again.
        for n in [10, 20, 30, 5, 25, 15, 40, 40, 1] {
            q.push(Timed {
                deadline: ms(n),
                entry: shared(),
            });
        }
        assert_eq!(q.earliest(), Some(ms(1)));
        let mut out = Vec::new();
        while let Some(t) = q.pop_due(ms(25)) {
            out.push(t.deadline);
        }
        assert_eq!(out, [1, 5, 10, 15, 20, 25].map(ms));
        assert_eq!(q.earliest(), Some(ms(30)));
        assert!(q.pop_due(ms(29)).is_none());
        while let Some(t) = q.pop_due(ms(100)) {
            out.push(t.deadline);
        }
        assert_eq!(out, [1, 5, 10, 15, 20, 25, 30, 40, 40].map(ms));
        assert_eq!(q.earliest(), None);
    }
}
