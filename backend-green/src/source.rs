//! A socket's registration with may, and its waiters.
//!
//! Every socket is registered with may's (edge-triggered) epoll through `may::io::CoIo`.
//! Reads and writes are non-blocking syscalls; on `WouldBlock` the future registers its
//! waker with the socket's [`Source`] and returns `Pending`. may lets exactly one
//! coroutine wait on a socket at a time (a second `wait_io` would overwrite and drop the
//! first), so a `Source` elects one waiter: the current green task itself when it has no
//! other socket to watch (the fast path: the task waits in `wait_io` like a raw may socket
//! call), otherwise the socket's helper coroutine (started on first need, then parked
//! between waits, so no wait allocates). When the socket reports readiness the waiter
//! steps down and wakes every registered waker.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use smallvec::SmallVec;

use may::io::{AsIoData, CoIo, WaitIo, WaitIoWaker};
use may::sync::Blocker;

use crate::poll_loop::{DirectWait, WAKER_BIT, lock, with_current};
use crate::spawn::spawn_coroutine;

/// Stack of the helper coroutines that wait on a socket for others: they only call
/// `wait_io` and wake wakers.
const HELPER_STACK: usize = 32 * 1024;

/// The helper coroutine of a socket.
#[derive(Default)]
struct Helper {
    spawned: bool,
    /// What it parks on between waits; set by the helper when it starts.
    blocker: Option<Arc<Blocker>>,
}

/// A socket something can wait on with may's `wait_io`.
pub(crate) trait IoWait: Send + Sync {
    /// Suspends the calling coroutine until the socket has an event; returns its flags.
    fn wait(&self) -> usize;
    /// A waker that makes a pending `wait` return.
    fn io_waker(&self) -> WaitIoWaker;
    /// Steps down as the socket's waiter and wakes every registered waker.
    fn release(&self);
}

/// A socket registered with may, plus the wakers waiting for it.
pub(crate) struct Source<T: AsRawFd> {
    // Boxed: may keeps pointers into it past our last use (see `drop`). `None` only
    // inside `drop`.
    io: Option<Box<CoIo<T>>>,
    /// `true` while one party (a task's loop or the helper) is elected to wait on `io`.
    waiting: AtomicBool,
    /// Inline up to two (a reader and a writer): no allocation per socket for them.
    wakers: Mutex<SmallVec<[Waker; 2]>>,
    /// The helper coroutine, once one was needed; it waits on `io` when `requested`.
    helper: Mutex<Helper>,
    requested: AtomicBool,
    /// Set when the owner drops the socket: the helper exits.
    closed: AtomicBool,
}

impl<T: AsRawFd + Send + Sync + 'static> Source<T> {
    pub(crate) fn new(io: T) -> io::Result<Arc<Self>> {
        let io = CoIo::new(io).map_err(io::Error::from)?;
        Ok(Arc::new(Source {
            io: Some(Box::new(io)),
            waiting: AtomicBool::new(false),
            wakers: Mutex::new(SmallVec::new()),
            helper: Mutex::new(Helper::default()),
            requested: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        }))
    }

    fn io(&self) -> &CoIo<T> {
        match self.io.as_deref() {
            Some(io) => io,
            // Taken only in `drop`, after which nothing can call this.
            None => unreachable!("socket used after drop"),
        }
    }

    pub(crate) fn get(&self) -> &T {
        self.io().inner()
    }

    /// Runs the non-blocking `op`; on `WouldBlock` registers `cx`'s waker.
    pub(crate) fn poll_io<R>(
        self: &Arc<Self>,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            self.clear_ready();
            match op(self.io().inner()) {
                Ok(v) => return Poll::Ready(Ok(v)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.register(cx.waker());
                    return Poll::Pending;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// Blocking-style IO (`anyrt::implicit`) from a coroutine outside any poll loop: the
    /// non-blocking `op`, and on `WouldBlock` a `wait_io` right here with this coroutine
    /// elected as the socket's waiter, as a may socket does. `None` when that cannot be done
    /// here (not on a coroutine, inside a poll, or another party already waits on the
    /// socket): the caller then takes the general path through `block_on`.
    pub(crate) fn direct<R>(&self, op: impl FnMut(&T) -> io::Result<R>) -> Option<io::Result<R>> {
        Some(match self.direct_stoppable(true, op)? {
            Ok(r) => r,
            Err(DirectWait::Aborted) => crate::poll_loop::unwind_aborted(),
            Err(_) => Err(anyrt_core::implicit::cancelled_error()),
        })
    }

    /// [`Source::direct`], but an abort or a cancellation of the current implicit thread is
    /// returned (`Err(Aborted | Cancelled)`, never `Ready`) instead of unwinding or turned
    /// into an error: for callers that cannot unwind (the patched libc calls). Without
    /// `try_first` it waits before the first call (its caller just saw it would block).
    pub(crate) fn direct_stoppable<R>(
        &self,
        try_first: bool,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Option<Result<io::Result<R>, DirectWait>> {
        if !may::coroutine::is_coroutine() || with_current(|cur| cur.is_some()) {
            return None;
        }
        let mut skip = !try_first;
        loop {
            let r = if std::mem::take(&mut skip) {
                Err(io::ErrorKind::WouldBlock.into())
            } else {
                self.clear_ready();
                op(self.io().inner())
            };
            match r {
                Ok(v) => return Some(Ok(Ok(v))),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if self.waiting.swap(true, Ordering::SeqCst) {
                        return None;
                    }
                    let waited = crate::poll_loop::wait_direct(self);
                    // Steps down and passes the news on to anyone who registered meanwhile.
                    self.release();
                    match waited {
                        DirectWait::Ready => {}
                        stopped => return Some(Err(stopped)),
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Some(Ok(Err(e))),
            }
        }
    }

    /// Wakes whoever waits on the socket (its elected waiter and every registered waker),
    /// so each tries its call again: how a closing descriptor reaches its waiters.
    #[cfg(feature = "patch")]
    pub(crate) fn wake_waiters(&self) {
        if self.waiting.load(Ordering::SeqCst) {
            self.io().waker().wakeup();
        }
        self.wake_all();
    }

    /// Clears stale readiness bits before a syscall attempt, so an old edge (a fresh
    /// socket's write-ready one, say) is not taken for a new event. A pending
    /// `WaitIoWaker` bit is kept.
    fn clear_ready(&self) {
        let old = self
            .io()
            .as_io_data()
            .io_flag
            .fetch_and(WAKER_BIT, Ordering::AcqRel);
        if old & !WAKER_BIT != 0 && self.waiting.load(Ordering::SeqCst) {
            // The bits may have been news for another registered party (a writer when we
            // read): pass them on, the waiter re-elects itself if still needed.
            self.wake_all();
        }
    }

    fn register(self: &Arc<Self>, waker: &Waker) {
        {
            let mut ws = lock(&self.wakers);
            if !ws.iter().any(|w| w.will_wake(waker)) {
                ws.push(waker.clone());
            }
        }
        if !self.waiting.swap(true, Ordering::SeqCst) {
            let me: Arc<dyn IoWait> = self.clone();
            let declined = with_current(|cur| match cur {
                Some(owner) => owner.core().try_take_io_slot(me).is_err(),
                None => true,
            });
            if declined {
                self.request_helper();
            }
        }
    }

    /// Has the helper coroutine wait on the socket, starting it on first need.
    fn request_helper(self: &Arc<Self>) {
        let mut helper = lock(&self.helper);
        self.requested.store(true, Ordering::SeqCst);
        if helper.spawned {
            // Not yet parked (no blocker yet): it checks `requested` before it parks.
            if let Some(b) = &helper.blocker {
                b.unpark();
            }
            return;
        }
        let src = self.clone();
        match spawn_coroutine(HELPER_STACK, move || src.helper_loop()) {
            Ok(_) => helper.spawned = true,
            Err(_) => {
                // No coroutine to wait: wake everyone now, so they retry instead of hanging.
                drop(helper);
                self.requested.store(false, Ordering::SeqCst);
                self.release();
            }
        }
    }

    fn helper_loop(&self) {
        // A blocker of its own, not may's per-coroutine `park()`: the coroutine handle that
        // owns that one is dropped outside the coroutine when it ends, and if the final
        // unpark raced ahead of the park, may's `Park` spins forever waiting for itself.
        // This one is dropped inside the coroutine, where that wait can yield.
        let blocker = Arc::new(Blocker::new(false));
        lock(&self.helper).blocker = Some(blocker.clone());
        while !self.closed.load(Ordering::SeqCst) {
            if self.requested.swap(false, Ordering::SeqCst) {
                self.io().wait_io();
                self.release();
            } else {
                // A stale unpark only makes this return early; the loop re-checks.
                let _ = blocker.park(None);
            }
        }
    }

    fn wake_all(&self) {
        let mut ws = {
            let mut slot = lock(&self.wakers);
            if slot.is_empty() {
                return;
            }
            std::mem::take(&mut *slot)
        };
        for w in ws.drain(..) {
            w.wake();
        }
        let mut slot = lock(&self.wakers);
        if slot.is_empty() && slot.capacity() < ws.capacity() {
            // Keep the allocation for the next registration.
            *slot = ws;
        }
    }

    /// Called when the socket's owner drops it: a waiter still parked on it is kicked so
    /// it lets go, the helper exits, and the socket closes now.
    ///
    /// Others may still hold the `Source` for a moment (a task's loop that waited on it,
    /// the helper coroutine), and may's registration must outlive them; the socket itself
    /// must not. So unless this is the last reference (then dropping it closes everything
    /// in order), the descriptor number is pointed at a placeholder with `dup2`: that closes
    /// the socket at once (the port is free, the peer reads EOF, the kernel drops it from
    /// may's epoll), while the number stays taken, so no new socket can get it before may's
    /// late deregistration and close.
    fn close(self: &Arc<Self>) {
        self.let_go();
        if Arc::strong_count(self) > 1 {
            crate::raw::close_now(self.io().as_raw_fd(), true);
        }
    }

    /// Tells whoever still waits on the socket (a loop, the helper coroutine) to let go.
    pub(crate) fn let_go(&self) {
        self.closed.store(true, Ordering::SeqCst);
        if self.waiting.load(Ordering::SeqCst) {
            self.io().waker().wakeup();
        }
        if let Some(b) = &lock(&self.helper).blocker {
            b.unpark();
        }
    }
}

impl<T: AsRawFd + Send + Sync + 'static> IoWait for Source<T> {
    fn wait(&self) -> usize {
        self.io().wait_io()
    }

    fn io_waker(&self) -> WaitIoWaker {
        self.io().waker()
    }

    fn release(&self) {
        self.waiting.store(false, Ordering::SeqCst);
        self.wake_all();
    }
}

/// The owner's handle on a [`Source`] (a socket type holds one): dropping it closes the
/// socket at once, whoever else still holds the `Source` for a moment.
pub(crate) struct Owned<T: AsRawFd + Send + Sync + 'static>(Option<Arc<Source<T>>>);

impl<T: AsRawFd + Send + Sync + 'static> Owned<T> {
    /// Registers `io` with may.
    pub(crate) fn new(io: T) -> io::Result<Self> {
        Ok(Owned(Some(Source::new(io)?)))
    }

    /// The socket, taken out of may's registration (still in non-blocking mode). If others
    /// still hold the `Source` for a moment, it is a duplicate descriptor of the same socket
    /// (the original number closes once may lets go of it).
    ///
    /// # Errors
    ///
    /// The OS error if that duplicate cannot be made (no descriptor left).
    pub(crate) fn into_inner(mut self) -> io::Result<T>
    where
        T: AsFd + From<OwnedFd>,
    {
        let src = self.0.take().expect("taken only here and by drop");
        match Arc::try_unwrap(src) {
            Ok(mut me) => {
                let boxed = me.io.take().expect("`io` is taken only by `drop` and here");
                me.closed.store(true, Ordering::SeqCst);
                Ok(crate::raw::release(boxed))
            }
            Err(src) => {
                let dup = src.get().as_fd().try_clone_to_owned();
                src.let_go();
                if dup.is_ok() {
                    // The socket lives on in the duplicate: only the number goes.
                    crate::raw::close_now(src.io().as_raw_fd(), false);
                }
                dup.map(T::from)
            }
        }
    }
}

impl<T: AsRawFd + Send + Sync + 'static> std::ops::Deref for Owned<T> {
    type Target = Arc<Source<T>>;

    fn deref(&self) -> &Arc<Source<T>> {
        self.0
            .as_ref()
            .expect("taken only by into_inner, which consumes the owner")
    }
}

impl<T: AsRawFd + Send + Sync + 'static> Drop for Owned<T> {
    fn drop(&mut self) {
        if let Some(src) = self.0.take() {
            src.close();
        }
    }
}

impl<T: AsRawFd + Send + Sync + 'static> std::fmt::Debug for Owned<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.0, f)
    }
}

impl<T: AsRawFd> Drop for Source<T> {
    fn drop(&mut self) {
        if let Some(boxed) = self.io.take() {
            // Deregistered, then closed here.
            drop(crate::raw::release(boxed));
        }
    }
}

impl<T: AsRawFd> std::fmt::Debug for Source<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("fd", &self.io.as_deref().map(|io| io.as_raw_fd()))
            .finish_non_exhaustive()
    }
}
