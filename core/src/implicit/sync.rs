//! Blocking-style synchronisation: std-like `Mutex`, `Condvar`, `Barrier`, `Semaphore`
//! and an MPMC channel whose blocking calls park only the implicit thread — the green
//! thread on Green, the OS thread on Tokio and Smol — so that 2 000 green threads can meet
//! at a [`Barrier`] on two workers, where `std::sync::Barrier` would block both workers and
//! deadlock.
//!
//! They need no runtime handle: each is built on the async primitive of a well-kept crate
//! (async-lock, async-channel, event-listener), and every blocking call waits on that
//! primitive through [`block_current`]. So they also work
//! with async code: an implicit thread and an async task share a channel or a mutex (the
//! `*_async` methods, or [`as_async`](Mutex::as_async)).
//!
//! As with async-lock and parking_lot, `Mutex::lock()` returns the guard itself: there is
//! no poisoning. Calling a blocking method from inside an async task panics (it would stall
//! the executor), as every blocking-style call does.
//!
//! ```
//! use anyrt_core::implicit::{self, sync::{Barrier, Mutex, channel}};
//! use std::sync::Arc;
//!
//! let rt = anyrt_tokio::Tokio::new();
//! let total = Arc::new(Mutex::new(0u32));
//! let barrier = Arc::new(Barrier::new(4));
//! let (tx, rx) = channel::unbounded::<u32>();
//! let threads: Vec<_> = (0..4u32)
//!     .map(|i| {
//!         let (total, barrier, tx) = (total.clone(), barrier.clone(), tx.clone());
//!         implicit::spawn(&rt, move || {
//!             *total.lock() += i;
//!             barrier.wait(); // all four have added
//!             tx.send(*total.lock()).unwrap();
//!         })
//!     })
//!     .collect();
//! for t in threads {
//!     t.join().unwrap();
//! }
//! drop(tx);
//! assert_eq!(rx.iter().collect::<Vec<_>>(), [6, 6, 6, 6]);
//! ```

use std::fmt;

use crate::backend::block_current;

pub use async_lock::{BarrierWaitResult, MutexGuard, SemaphoreGuard};

/// A mutual-exclusion lock whose [`lock`](Mutex::lock) blocks only the implicit thread.
/// No poisoning: a panic while the guard is held unlocks it.
#[derive(Default)]
pub struct Mutex<T: ?Sized> {
    inner: async_lock::Mutex<T>,
}

impl<T> Mutex<T> {
    /// A new unlocked mutex holding `value`.
    pub const fn new(value: T) -> Mutex<T> {
        Mutex {
            inner: async_lock::Mutex::new(value),
        }
    }

    /// The value, consuming the mutex.
    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks the mutex, blocking the implicit thread until it is free.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        lock_blocking(&self.inner)
    }

    /// Locks the mutex if it is free.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.inner.try_lock()
    }

    /// Locks the mutex from async code.
    pub async fn lock_async(&self) -> MutexGuard<'_, T> {
        self.inner.lock().await
    }

    /// The async mutex underneath, for async code that shares this one.
    pub fn as_async(&self) -> &async_lock::Mutex<T> {
        &self.inner
    }

    /// A mutable reference to the value (no locking: `&mut self` rules out other users).
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

/// A condition variable for [`Mutex`], with std's methods: `wait` releases the guard and
/// blocks the implicit thread until notified, then locks again. As with std, a wake-up may
/// be spurious: wait in a loop, or with [`wait_while`](Condvar::wait_while).
///
/// ```
/// use anyrt_core::implicit::{self, sync::{Condvar, Mutex}};
/// use std::sync::Arc;
///
/// let rt = anyrt_tokio::Tokio::new();
/// let pair = Arc::new((Mutex::new(false), Condvar::new()));
/// let p2 = pair.clone();
/// implicit::spawn(&rt, move || {
///     *p2.0.lock() = true;
///     p2.1.notify_all();
/// });
/// let (lock, cvar) = &*pair;
/// let ready = cvar.wait_while(lock.lock(), |ready| !*ready);
/// assert!(*ready);
/// ```
#[derive(Default)]
pub struct Condvar {
    event: event_listener::Event,
}

impl Condvar {
    /// A new condition variable.
    pub const fn new() -> Condvar {
        Condvar {
            event: event_listener::Event::new(),
        }
    }

    /// Releases `guard`, blocks until notified, and locks the mutex again.
    pub fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        let mutex = MutexGuard::source(&guard);
        // Listening before unlocking: a notification sent in between is not lost.
        let listener = self.event.listen();
        drop(guard);
        block_current(listener);
        lock_blocking(mutex)
    }

    /// Waits while `condition` holds, returning the guard once it does not.
    pub fn wait_while<'a, T: ?Sized>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: impl FnMut(&mut T) -> bool,
    ) -> MutexGuard<'a, T> {
        while condition(&mut guard) {
            guard = self.wait(guard);
        }
        guard
    }

    /// Wakes one waiting thread.
    pub fn notify_one(&self) {
        self.event.notify(1);
    }

    /// Wakes every waiting thread.
    pub fn notify_all(&self) {
        self.event.notify(usize::MAX);
    }
}

/// Locks `mutex` from blocking-style code: at once if it is free, else parked on it.
fn lock_blocking<T: ?Sized>(mutex: &async_lock::Mutex<T>) -> MutexGuard<'_, T> {
    if let Some(guard) = mutex.try_lock() {
        return guard;
    }
    block_current(mutex.lock())
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condvar").finish_non_exhaustive()
    }
}

/// A barrier for `n` implicit threads (or async tasks, with
/// [`wait_async`](Barrier::wait_async)): [`wait`](Barrier::wait) blocks until `n` have
/// arrived; one of them is the leader.
#[derive(Debug)]
pub struct Barrier {
    inner: async_lock::Barrier,
}

impl Barrier {
    /// A barrier for `n` threads.
    pub const fn new(n: usize) -> Barrier {
        Barrier {
            inner: async_lock::Barrier::new(n),
        }
    }

    /// Blocks until all `n` threads have called `wait`.
    pub fn wait(&self) -> BarrierWaitResult {
        block_current(self.inner.wait())
    }

    /// Waits from async code.
    pub async fn wait_async(&self) -> BarrierWaitResult {
        self.inner.wait().await
    }
}

/// A counting semaphore whose [`acquire`](Semaphore::acquire) blocks only the implicit
/// thread; a permit is given back when its guard drops.
#[derive(Debug)]
pub struct Semaphore {
    inner: async_lock::Semaphore,
}

impl Semaphore {
    /// A semaphore with `permits` permits.
    pub const fn new(permits: usize) -> Semaphore {
        Semaphore {
            inner: async_lock::Semaphore::new(permits),
        }
    }

    /// Takes a permit, blocking until one is free.
    pub fn acquire(&self) -> SemaphoreGuard<'_> {
        if let Some(guard) = self.inner.try_acquire() {
            return guard;
        }
        block_current(self.inner.acquire())
    }

    /// Takes a permit if one is free.
    pub fn try_acquire(&self) -> Option<SemaphoreGuard<'_>> {
        self.inner.try_acquire()
    }

    /// Takes a permit from async code.
    pub async fn acquire_async(&self) -> SemaphoreGuard<'_> {
        self.inner.acquire().await
    }

    /// Adds `n` permits.
    pub fn add_permits(&self, n: usize) {
        self.inner.add_permits(n);
    }
}

/// A multi-producer, multi-consumer channel (async-channel underneath) whose `send` and
/// `recv` block only the implicit thread. Each end converts to and from async-channel's,
/// so an implicit thread and an async task share one channel.
///
/// ```
/// use anyrt_core::Runtime;
/// use anyrt_core::implicit::{self, sync::channel};
///
/// let rt = anyrt_tokio::Tokio::new();
/// let (tx, rx) = channel::bounded::<u32>(1);
/// let async_tx = tx.as_async().clone();
/// rt.spawn(async move { async_tx.send(7).await.unwrap() }); // an async producer
/// assert_eq!(rx.recv(), Ok(7)); // a blocking consumer
/// ```
pub mod channel {
    use std::fmt;

    use crate::backend::block_current;

    pub use async_channel::{RecvError, SendError, TryRecvError, TrySendError};

    /// A channel that holds at most `capacity` messages: `send` blocks while it is full.
    ///
    /// # Panics
    ///
    /// If `capacity` is zero (as async-channel).
    pub fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
        let (tx, rx) = async_channel::bounded(capacity);
        (Sender { inner: tx }, Receiver { inner: rx })
    }

    /// A channel with no bound: `send` never blocks.
    pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
        let (tx, rx) = async_channel::unbounded();
        (Sender { inner: tx }, Receiver { inner: rx })
    }

    /// The sending end; clone it for more producers. The channel closes when every sender
    /// (or every receiver) is gone.
    pub struct Sender<T> {
        inner: async_channel::Sender<T>,
    }

    impl<T> Sender<T> {
        /// Sends `msg`, blocking while the channel is full; an error (with `msg`) if every
        /// receiver is gone.
        pub fn send(&self, msg: T) -> Result<(), SendError<T>> {
            match self.inner.try_send(msg) {
                Ok(()) => Ok(()),
                Err(TrySendError::Closed(msg)) => Err(SendError(msg)),
                Err(TrySendError::Full(msg)) => block_current(self.inner.send(msg)),
            }
        }

        /// Sends `msg` if there is room.
        pub fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
            self.inner.try_send(msg)
        }

        /// The async-channel sender underneath, for async code.
        pub fn as_async(&self) -> &async_channel::Sender<T> {
            &self.inner
        }

        /// Closes the channel; returns `true` if this call closed it.
        pub fn close(&self) -> bool {
            self.inner.close()
        }

        /// Messages in the channel.
        pub fn len(&self) -> usize {
            self.inner.len()
        }

        /// Whether the channel holds no message.
        pub fn is_empty(&self) -> bool {
            self.inner.is_empty()
        }
    }

    // By hand, as async-channel's: no `T: Debug` bound.
    impl<T> fmt::Debug for Sender<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            fmt::Debug::fmt(&self.inner, f)
        }
    }

    impl<T> Clone for Sender<T> {
        fn clone(&self) -> Self {
            Sender {
                inner: self.inner.clone(),
            }
        }
    }

    impl<T> From<async_channel::Sender<T>> for Sender<T> {
        fn from(inner: async_channel::Sender<T>) -> Self {
            Sender { inner }
        }
    }

    impl<T> From<Sender<T>> for async_channel::Sender<T> {
        fn from(s: Sender<T>) -> Self {
            s.inner
        }
    }

    /// The receiving end; clone it for more consumers (each message goes to one).
    pub struct Receiver<T> {
        inner: async_channel::Receiver<T>,
    }

    impl<T> Receiver<T> {
        /// Receives a message, blocking while the channel is empty; an error once it is
        /// empty and every sender is gone.
        pub fn recv(&self) -> Result<T, RecvError> {
            match self.inner.try_recv() {
                Ok(msg) => Ok(msg),
                Err(TryRecvError::Closed) => Err(RecvError),
                Err(TryRecvError::Empty) => block_current(self.inner.recv()),
            }
        }

        /// Receives a message if one is there.
        pub fn try_recv(&self) -> Result<T, TryRecvError> {
            self.inner.try_recv()
        }

        /// A blocking iterator over the messages, until the channel is closed and empty.
        pub fn iter(&self) -> Iter<'_, T> {
            Iter { rx: self }
        }

        /// The async-channel receiver underneath, for async code.
        pub fn as_async(&self) -> &async_channel::Receiver<T> {
            &self.inner
        }

        /// Closes the channel; returns `true` if this call closed it.
        pub fn close(&self) -> bool {
            self.inner.close()
        }

        /// Messages in the channel.
        pub fn len(&self) -> usize {
            self.inner.len()
        }

        /// Whether the channel holds no message.
        pub fn is_empty(&self) -> bool {
            self.inner.is_empty()
        }
    }

    // By hand, as async-channel's: no `T: Debug` bound.
    impl<T> fmt::Debug for Receiver<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            fmt::Debug::fmt(&self.inner, f)
        }
    }

    impl<T> Clone for Receiver<T> {
        fn clone(&self) -> Self {
            Receiver {
                inner: self.inner.clone(),
            }
        }
    }

    impl<T> From<async_channel::Receiver<T>> for Receiver<T> {
        fn from(inner: async_channel::Receiver<T>) -> Self {
            Receiver { inner }
        }
    }

    impl<T> From<Receiver<T>> for async_channel::Receiver<T> {
        fn from(r: Receiver<T>) -> Self {
            r.inner
        }
    }

    /// The iterator of [`Receiver::iter`].
    #[derive(Debug)]
    pub struct Iter<'a, T> {
        rx: &'a Receiver<T>,
    }

    impl<T> Iterator for Iter<'_, T> {
        type Item = T;

        fn next(&mut self) -> Option<T> {
            self.rx.recv().ok()
        }
    }

    impl<'a, T> IntoIterator for &'a Receiver<T> {
        type Item = T;
        type IntoIter = Iter<'a, T>;

        fn into_iter(self) -> Iter<'a, T> {
            self.iter()
        }
    }
}
