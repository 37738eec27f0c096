//! The [`Runtime`] trait every backend implements, and [`RuntimeExt`] built on it.

use std::future::Future;
use std::io;
use std::time::{Duration, Instant};

use crate::net::{TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use crate::task::JoinHandle;
use crate::time::{Interval, Timeout, YieldNow};

/// A handle to an async runtime: spawning, timers and sockets.
///
/// A `Runtime` is a cheap [`Clone`] handle, `Send + Sync + 'static`; the runtime it names
/// runs while any clone exists. Code generic over `R: Runtime` runs unchanged on every
/// backend.
///
/// # Contract (checked by the conformance suite in `tests/`)
///
/// * Futures never block their thread (or coroutine) inside `poll`: `select` and
///   [`timeout`](RuntimeExt::timeout) over any two anyrt futures behave the same on every
///   backend.
/// * The same fault gives the same [`io::ErrorKind`] everywhere: a refused connect is
///   `ConnectionRefused`, a bind on a used port `AddrInUse`, a timeout `TimedOut`.
/// * A panic in a task is caught and reported through its [`JoinHandle`]; the runtime keeps
///   serving other tasks. Dropping a `JoinHandle` detaches the task.
/// * [`sleep`](Runtime::sleep) never completes before its deadline.
/// * Runtime-agnostic synchronisation crates (async-channel, async-lock, event-listener,
///   futures-channel) work on every backend.
pub trait Runtime: Clone + Send + Sync + 'static {
    /// The handle [`spawn`](Runtime::spawn) and friends return.
    type JoinHandle<T: Send + 'static>: JoinHandle<T>;
    /// The future [`sleep`](Runtime::sleep) returns.
    type Sleep: Future<Output = ()> + Send + 'static;
    /// This backend's TCP listener.
    type TcpListener: TcpListener<Stream = Self::TcpStream>;
    /// This backend's TCP stream.
    type TcpStream: TcpStream;
    /// This backend's UDP socket.
    type UdpSocket: UdpSocket;

    /// The backend's name, short and lower-case (`"tokio"`, say): for messages and test
    /// names.
    fn name(&self) -> &'static str;

    /// Spawns a future as a new task.
    fn spawn<F>(&self, future: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Runs a blocking closure (CPU work, blocking syscalls) where it cannot stall the
    /// runtime's workers.
    fn spawn_blocking<F, T>(&self, f: F) -> Self::JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static;

    /// Runs implicit-style (blocking-style) code: on a stackful coroutine where the
    /// backend has them (a blocking call then parks only the coroutine), otherwise on an
    /// OS thread of its own (never a slot of a capped pool, so implicit threads may wait
    /// on each other). See [`crate::implicit`].
    fn spawn_implicit<F, T>(&self, f: F) -> Self::JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static;

    /// Runs a future to completion on the current thread, blocking it.
    ///
    /// # Panics
    ///
    /// Panics when called on a thread that is polling an async task of any backend
    /// (blocking there would stall that executor), with a message that names the fix. A
    /// backend whose tasks are stackful coroutines allows it from its own tasks (async or
    /// implicit): there it parks only the coroutine.
    fn block_on<F: Future>(&self, future: F) -> F::Output;

    /// Returns `true` once the runtime has been shut down (by its backend's own
    /// `shutdown`); a runtime that cannot be shut down always returns `false`.
    ///
    /// After shutdown every spawn (`spawn`, `spawn_blocking`, `spawn_implicit`) returns a
    /// handle that reports cancellation, and its future or closure never runs. An
    /// implicit thread that outlives the shutdown gets an [`io::Error`] of kind
    /// [`io::ErrorKind::Other`] from its next socket call ([`crate::implicit`]), while
    /// [`implicit::sleep`](crate::implicit::sleep), which cannot fail, goes on sleeping
    /// its OS thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::Runtime;
    ///
    /// /// Starts background work unless the runtime is gone.
    /// fn start_flusher<R: Runtime>(rt: &R) -> Option<R::JoinHandle<()>> {
    ///     (!rt.is_shut_down()).then(|| rt.spawn(async { /* flush buffers */ }))
    /// }
    /// ```
    fn is_shut_down(&self) -> bool {
        false
    }

    /// The runtime's clock.
    fn now(&self) -> Instant {
        Instant::now()
    }

    /// A future that completes once `duration` has passed (never earlier).
    fn sleep(&self, duration: Duration) -> Self::Sleep;

    /// A future that completes at `deadline` (never earlier).
    fn sleep_until(&self, deadline: Instant) -> Self::Sleep;

    /// Binds a TCP listener. Host names are resolved off the runtime's workers; the first
    /// address that binds wins.
    fn tcp_listen<A: ToSocketAddrs>(
        &self,
        addr: A,
    ) -> impl Future<Output = io::Result<Self::TcpListener>> + Send;

    /// Opens a TCP connection. Each resolved address is tried in turn; the last error is
    /// returned if none connects.
    fn tcp_connect<A: ToSocketAddrs>(
        &self,
        addr: A,
    ) -> impl Future<Output = io::Result<Self::TcpStream>> + Send;

    /// Binds a UDP socket.
    fn udp_bind<A: ToSocketAddrs>(
        &self,
        addr: A,
    ) -> impl Future<Output = io::Result<Self::UdpSocket>> + Send;
}

/// Timers built once, generically, on [`Runtime::sleep`]; implemented for every runtime.
pub trait RuntimeExt: Runtime {
    /// Runs `future` with a time limit: [`Elapsed`](crate::Elapsed) if it takes longer than
    /// `duration`. The future is dropped when time runs out.
    fn timeout<F: Future>(&self, duration: Duration, future: F) -> Timeout<Self, F> {
        Timeout::new(self.sleep(duration), future)
    }

    /// Runs `future` until `deadline`: [`Elapsed`](crate::Elapsed) if it is not done by then.
    fn timeout_at<F: Future>(&self, deadline: Instant, future: F) -> Timeout<Self, F> {
        Timeout::new(self.sleep_until(deadline), future)
    }

    /// A ticker that fires every `period`; the first tick completes at once, as in tokio.
    ///
    /// # Panics
    ///
    /// Panics if `period` is zero.
    fn interval(&self, period: Duration) -> Interval<Self> {
        Interval::new(self.clone(), period)
    }

    /// Yields once to the scheduler so other tasks can run.
    fn yield_now(&self) -> YieldNow {
        YieldNow::new()
    }
}

impl<R: Runtime> RuntimeExt for R {}

/// Converts a [`JoinHandle`] result of a resolver or other helper task into `io::Result`.
pub(crate) async fn join_io<T, H>(handle: H) -> io::Result<T>
where
    H: Future<Output = Result<io::Result<T>, crate::JoinError>>,
{
    handle.await.map_err(io::Error::from)?
}
