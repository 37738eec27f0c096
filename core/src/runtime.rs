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
pub trait Runtime: Clone + Send + Sync + Unpin + std::fmt::Debug + 'static {
    /// The handle [`spawn`](Runtime::spawn) and friends return.
    type JoinHandle<T: Send + 'static>: JoinHandle<T>;
    /// The future [`sleep`](Runtime::sleep) returns. It is a
    /// [`FusedFuture`](crate::time::FusedFuture) (it knows when it has completed), so it
    /// can be a branch of `futures::select!`.
    type Sleep: Future<Output = ()> + crate::time::FusedFuture + Send + Sync + 'static;
    /// This backend's TCP listener.
    type TcpListener: TcpListener<Stream = Self::TcpStream>;
    /// This backend's TCP stream.
    type TcpStream: TcpStream;
    /// This backend's UDP socket.
    type UdpSocket: UdpSocket;
    /// This backend's Unix stream listener.
    #[cfg(unix)]
    type UnixListener: crate::net::UnixListener<Stream = Self::UnixStream>;
    /// This backend's Unix stream socket.
    #[cfg(unix)]
    type UnixStream: crate::net::UnixStream;
    /// This backend's Unix datagram socket.
    #[cfg(unix)]
    type UnixDatagram: crate::net::UnixDatagram;

    /// The backend's name, short and lower-case (`"tokio"`, say): for messages and test
    /// names.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::Runtime;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// assert_eq!(rt.name(), "tokio");
    /// ```
    fn name(&self) -> &'static str;

    /// Spawns a future as a new task.
    ///
    /// The task starts at once, whether or not the handle is awaited; dropping the handle
    /// detaches it.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::Runtime;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let handle = rt.spawn(async { 6 * 7 });
    /// assert_eq!(rt.block_on(handle).unwrap(), 42);
    /// ```
    fn spawn<F>(&self, future: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Runs a blocking closure (CPU work, blocking syscalls) where it cannot stall the
    /// runtime's workers.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::Runtime;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let sum = rt.block_on(async {
    ///     rt.spawn_blocking(|| (1..=100u64).sum::<u64>()).await
    /// });
    /// assert_eq!(sum.unwrap(), 5050);
    /// ```
    fn spawn_blocking<F, T>(&self, f: F) -> Self::JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static;

    /// Runs implicit-style (blocking-style) code: on a stackful coroutine where the
    /// backend has them (a blocking call then parks only the coroutine), otherwise on an
    /// OS thread of its own (never a slot of a capped pool, so implicit threads may wait
    /// on each other). See [`crate::implicit`].
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::{Runtime, implicit};
    /// use std::time::Duration;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let rt2 = rt.clone();
    /// let handle = rt.spawn_implicit(move || {
    ///     implicit::sleep(&rt2, Duration::from_millis(1)); // blocking-style code
    ///     "done"
    /// });
    /// assert_eq!(rt.block_on(handle).unwrap(), "done");
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use std::time::Duration;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let out = rt.block_on(async {
    ///     rt.sleep(Duration::from_millis(1)).await;
    ///     "slept"
    /// });
    /// assert_eq!(out, "slept");
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::Runtime;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// assert!(rt.now() <= std::time::Instant::now());
    /// ```
    fn now(&self) -> Instant {
        Instant::now()
    }

    /// A future that completes once `duration` has passed (never earlier).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future cancels the timer, nothing else.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use std::time::{Duration, Instant};
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let t0 = Instant::now();
    /// rt.block_on(rt.sleep(Duration::from_millis(5)));
    /// assert!(t0.elapsed() >= Duration::from_millis(5));
    /// ```
    fn sleep(&self, duration: Duration) -> Self::Sleep;

    /// A future that completes at `deadline` (never earlier).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`sleep`](Runtime::sleep).
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use std::time::{Duration, Instant};
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let deadline = Instant::now() + Duration::from_millis(5);
    /// rt.block_on(rt.sleep_until(deadline));
    /// assert!(Instant::now() >= deadline);
    /// ```
    fn sleep_until(&self, deadline: Instant) -> Self::Sleep;

    /// Moves `sleep`'s deadline to `deadline` (earlier or later; a sleep that completed
    /// waits again): the same as `sleep.set(rt.sleep_until(deadline))`, which is what the
    /// provided method does, but in place on backends whose timers allow it (Tokio's and
    /// Smol's), with no new timer made. For timers reset on every request (a protocol's
    /// read timeout, hyper's through [`anyrt::hyper::Timer`](https://docs.rs/anyrt)).
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use std::time::{Duration, Instant};
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let mut sleep = std::pin::pin!(rt.sleep(Duration::from_secs(3600)));
    /// let t0 = Instant::now();
    /// rt.reset_sleep(sleep.as_mut(), t0 + Duration::from_millis(5));
    /// rt.block_on(sleep);
    /// assert!(t0.elapsed() >= Duration::from_millis(5));
    /// ```
    fn reset_sleep(&self, mut sleep: std::pin::Pin<&mut Self::Sleep>, deadline: Instant) {
        sleep.set(self.sleep_until(deadline));
    }

    /// Binds a TCP listener. Host names are resolved off the runtime's workers; the first
    /// address that binds wins.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future before it completes leaves nothing bound.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use anyrt_core::net::TcpListener;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let listener = rt.block_on(rt.tcp_listen("127.0.0.1:0"))?;
    /// assert!(listener.local_addr()?.port() > 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn tcp_listen<A: ToSocketAddrs>(
        &self,
        addr: A,
    ) -> impl Future<Output = io::Result<Self::TcpListener>> + Send + use<Self, A>;

    /// Opens a TCP connection. Each resolved address is tried in turn; the last error is
    /// returned if none connects.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future before it completes closes the half-open socket.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use anyrt_core::io::AsyncWriteExt;
    /// use anyrt_core::net::TcpListener;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// rt.block_on(async {
    ///     let listener = rt.tcp_listen("127.0.0.1:0").await?;
    ///     let mut stream = rt.tcp_connect(listener.local_addr()?).await?;
    ///     stream.write_all(b"hello").await?;
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn tcp_connect<A: ToSocketAddrs>(
        &self,
        addr: A,
    ) -> impl Future<Output = io::Result<Self::TcpStream>> + Send + use<Self, A>;

    /// Binds a UDP socket.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future before it completes leaves nothing bound.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use anyrt_core::net::UdpSocket;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let socket = rt.block_on(rt.udp_bind("127.0.0.1:0"))?;
    /// assert!(socket.local_addr()?.port() > 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn udp_bind<A: ToSocketAddrs>(
        &self,
        addr: A,
    ) -> impl Future<Output = io::Result<Self::UdpSocket>> + Send + use<Self, A>;

    /// Takes over a std listener: one configured with socket2 (`SO_REUSEPORT`, a backlog
    /// of your own, `IPV6_V6ONLY`) or handed over by systemd. It is set non-blocking and
    /// registered with this runtime.
    ///
    /// # Errors
    ///
    /// The OS error if the socket cannot be set non-blocking or registered.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use anyrt_core::net::TcpListener;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let addr = std_listener.local_addr()?;
    /// let listener = rt.tcp_listener_from_std(std_listener)?;
    /// assert_eq!(listener.local_addr()?, addr);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn tcp_listener_from_std(
        &self,
        listener: std::net::TcpListener,
    ) -> io::Result<Self::TcpListener>;

    /// Takes over a connected std stream; see
    /// [`tcp_listener_from_std`](Runtime::tcp_listener_from_std).
    ///
    /// # Errors
    ///
    /// The OS error if the socket cannot be set non-blocking or registered.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use anyrt_core::io::AsyncWriteExt;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let server = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let std_stream = std::net::TcpStream::connect(server.local_addr()?)?;
    /// let mut stream = rt.tcp_stream_from_std(std_stream)?;
    /// rt.block_on(stream.write_all(b"hello"))?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn tcp_stream_from_std(&self, stream: std::net::TcpStream) -> io::Result<Self::TcpStream>;

    /// Takes over a std UDP socket; see
    /// [`tcp_listener_from_std`](Runtime::tcp_listener_from_std).
    ///
    /// # Errors
    ///
    /// The OS error if the socket cannot be set non-blocking or registered.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use anyrt_core::net::UdpSocket;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let socket = rt.udp_socket_from_std(std::net::UdpSocket::bind("127.0.0.1:0")?)?;
    /// assert!(socket.local_addr()?.ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn udp_socket_from_std(&self, socket: std::net::UdpSocket) -> io::Result<Self::UdpSocket>;

    /// Binds a Unix stream listener at `path` (backlog 1024). On Linux a path starting with
    /// a NUL byte names an abstract address. Binding does not block, so this is not async
    /// (as in tokio and std).
    ///
    /// # Errors
    ///
    /// `AddrInUse` when a file is already at `path` (a listener's socket file stays after
    /// the listener is dropped: remove it first), `NotFound` when its directory is missing,
    /// `InvalidInput` when the path is too long for a socket address.
    ///
    /// ```
    /// use anyrt_core::Runtime;
    ///
    /// let dir = std::env::temp_dir().join(format!("anyrt-doc-unix-listen-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let rt = anyrt_tokio::Tokio::new();
    /// let listener = rt.unix_listen(dir.join("s.sock"))?;
    /// let again = rt.unix_listen(dir.join("s.sock")).unwrap_err();
    /// assert_eq!(again.kind(), std::io::ErrorKind::AddrInUse);
    /// # drop(listener);
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[cfg(unix)]
    fn unix_listen<P: AsRef<std::path::Path>>(&self, path: P) -> io::Result<Self::UnixListener> {
        self.unix_listener_from_std(crate::backend::bind_unix_listener(path.as_ref())?)
    }

    /// Connects to the Unix stream listener at `path` (a leading NUL byte: an abstract
    /// address on Linux). The future does not borrow the runtime.
    ///
    /// # Errors
    ///
    /// `NotFound` when nothing is at `path`, `ConnectionRefused` when the file there has no
    /// listener behind it, `WouldBlock` when the listener's backlog is full (as tokio).
    ///
    /// ```
    /// use anyrt_core::Runtime;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let err = rt.block_on(rt.unix_connect("/nonexistent/anyrt.sock")).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// ```
    #[cfg(unix)]
    fn unix_connect<P: AsRef<std::path::Path>>(
        &self,
        path: P,
    ) -> impl Future<Output = io::Result<Self::UnixStream>> + Send + use<Self, P>;

    /// A connected pair of Unix stream sockets (`socketpair`).
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use anyrt_core::net::UnixStream;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let (a, _b) = rt.block_on(async { rt.unix_stream_pair() })?;
    /// assert!(a.peer_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[cfg(unix)]
    fn unix_stream_pair(&self) -> io::Result<(Self::UnixStream, Self::UnixStream)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        Ok((self.unix_stream_from_std(a)?, self.unix_stream_from_std(b)?))
    }

    /// Binds a Unix datagram socket at `path` (a leading NUL byte: an abstract address on
    /// Linux). Errors as [`unix_listen`](Runtime::unix_listen)'s.
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use anyrt_core::net::UnixDatagram;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let name = format!("\0anyrt-doc-dgram-bind-{}", std::process::id());
    /// let socket = rt.block_on(async { rt.unix_datagram_bind(&name) })?;
    /// assert!(socket.local_addr()?.as_pathname().is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[cfg(unix)]
    fn unix_datagram_bind<P: AsRef<std::path::Path>>(
        &self,
        path: P,
    ) -> io::Result<Self::UnixDatagram> {
        self.unix_datagram_from_std(crate::backend::bind_unix_datagram(path.as_ref())?)
    }

    /// A Unix datagram socket bound to no address: it can send to bound sockets, and
    /// receive once connected.
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use anyrt_core::net::UnixDatagram;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let socket = rt.block_on(async { rt.unix_datagram_unbound() })?;
    /// assert!(socket.local_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[cfg(unix)]
    fn unix_datagram_unbound(&self) -> io::Result<Self::UnixDatagram> {
        self.unix_datagram_from_std(std::os::unix::net::UnixDatagram::unbound()?)
    }

    /// A connected pair of Unix datagram sockets (`socketpair`).
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use anyrt_core::net::UnixDatagram;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// rt.block_on(async {
    ///     let (a, b) = rt.unix_datagram_pair()?;
    ///     b.send(b"hi").await?;
    ///     assert_eq!(a.recv(&mut [0; 4]).await?, 2);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[cfg(unix)]
    fn unix_datagram_pair(&self) -> io::Result<(Self::UnixDatagram, Self::UnixDatagram)> {
        let (a, b) = std::os::unix::net::UnixDatagram::pair()?;
        Ok((
            self.unix_datagram_from_std(a)?,
            self.unix_datagram_from_std(b)?,
        ))
    }

    /// Registers a std Unix listener (bound by hand, or inherited from systemd) with this
    /// runtime; it is put in non-blocking mode.
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use anyrt_core::net::UnixListener;
    ///
    /// let name = format!("\0anyrt-doc-unix-from-std-{}", std::process::id());
    /// let addr = <std::os::unix::net::SocketAddr as std::os::linux::net::SocketAddrExt>::from_abstract_name(&name[1..])?;
    /// let std_listener = std::os::unix::net::UnixListener::bind_addr(&addr)?;
    /// let rt = anyrt_tokio::Tokio::new();
    /// let listener = rt.block_on(async { rt.unix_listener_from_std(std_listener) })?;
    /// assert!(listener.local_addr()?.as_pathname().is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[cfg(unix)]
    fn unix_listener_from_std(
        &self,
        listener: std::os::unix::net::UnixListener,
    ) -> io::Result<Self::UnixListener>;

    /// Registers a connected std Unix stream with this runtime (non-blocking mode).
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use anyrt_core::net::UnixStream;
    ///
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// let rt = anyrt_tokio::Tokio::new();
    /// let a = rt.block_on(async { rt.unix_stream_from_std(a) })?;
    /// assert!(a.local_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[cfg(unix)]
    fn unix_stream_from_std(
        &self,
        stream: std::os::unix::net::UnixStream,
    ) -> io::Result<Self::UnixStream>;

    /// Registers a std Unix datagram socket with this runtime (non-blocking mode).
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use anyrt_core::net::UnixDatagram;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let socket = std::os::unix::net::UnixDatagram::unbound()?;
    /// let socket = rt.block_on(async { rt.unix_datagram_from_std(socket) })?;
    /// assert!(socket.local_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[cfg(unix)]
    fn unix_datagram_from_std(
        &self,
        socket: std::os::unix::net::UnixDatagram,
    ) -> io::Result<Self::UnixDatagram>;
}

/// Timers built once, generically, on [`Runtime::sleep`]; implemented for every runtime.
pub trait RuntimeExt: Runtime {
    /// Runs `future` with a time limit: [`Elapsed`](crate::Elapsed) if it takes longer than
    /// `duration`. The future is dropped when time runs out.
    ///
    /// # Cancel safety
    ///
    /// As cancel safe as `future`: dropping the timeout drops `future`.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::{Runtime, RuntimeExt};
    /// use std::time::Duration;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// rt.block_on(async {
    ///     let slow = rt.sleep(Duration::from_secs(60));
    ///     assert!(rt.timeout(Duration::from_millis(5), slow).await.is_err());
    ///     assert_eq!(rt.timeout(Duration::from_secs(5), async { 1 }).await, Ok(1));
    /// });
    /// ```
    fn timeout<F: Future>(&self, duration: Duration, future: F) -> Timeout<Self, F> {
        Timeout::new(self.sleep(duration), future)
    }

    /// Runs `future` until `deadline`: [`Elapsed`](crate::Elapsed) if it is not done by then.
    ///
    /// # Cancel safety
    ///
    /// As [`timeout`](RuntimeExt::timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::{Runtime, RuntimeExt};
    /// use std::time::{Duration, Instant};
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let deadline = Instant::now() + Duration::from_millis(5);
    /// let r = rt.block_on(rt.timeout_at(deadline, rt.sleep(Duration::from_secs(60))));
    /// assert!(r.is_err());
    /// ```
    fn timeout_at<F: Future>(&self, deadline: Instant, future: F) -> Timeout<Self, F> {
        Timeout::new(self.sleep_until(deadline), future)
    }

    /// Opens a TCP connection, giving each resolved address at most `timeout` to connect
    /// (as `std::net::TcpStream::connect_timeout` does for one address): an address that
    /// takes longer counts as failed with [`io::ErrorKind::TimedOut`], and the next one is
    /// tried. The last error is returned if none connects.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`Runtime::tcp_connect`].
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::{Runtime, RuntimeExt};
    /// use anyrt_core::net::TcpListener;
    /// use std::time::Duration;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// rt.block_on(async {
    ///     let listener = rt.tcp_listen("127.0.0.1:0").await?;
    ///     let addr = listener.local_addr()?;
    ///     let _stream = rt.tcp_connect_timeout(addr, Duration::from_secs(5)).await?;
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn tcp_connect_timeout<A: ToSocketAddrs>(
        &self,
        addr: A,
        timeout: Duration,
    ) -> impl Future<Output = io::Result<Self::TcpStream>> + Send + use<Self, A> {
        let rt = self.clone();
        crate::backend::each_addr(self, addr, move |a| {
            let rt = rt.clone();
            async move {
                match rt.timeout(timeout, rt.tcp_connect(a)).await {
                    Ok(connected) => connected,
                    Err(elapsed) => Err(io::Error::from(elapsed)),
                }
            }
        })
    }

    /// Binds a TCP listener with the given options (backlog, `SO_REUSEADDR`,
    /// `SO_REUSEPORT`, `IPV6_V6ONLY`), on every backend alike: the socket is made with
    /// socket2 and taken over with [`Runtime::tcp_listener_from_std`]. The first resolved
    /// address that binds wins.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future before it completes leaves nothing bound.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::{Runtime, RuntimeExt};
    /// use anyrt_core::net::{ListenOptions, TcpListener};
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let options = ListenOptions { backlog: 4096, reuse_port: true, ..Default::default() };
    /// let first = rt.block_on(rt.tcp_listen_with("127.0.0.1:0", options.clone()))?;
    /// // SO_REUSEPORT: a second listener on the same port.
    /// let second = rt.block_on(rt.tcp_listen_with(first.local_addr()?, options))?;
    /// assert_eq!(first.local_addr()?, second.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn tcp_listen_with<A: ToSocketAddrs>(
        &self,
        addr: A,
        options: crate::net::ListenOptions,
    ) -> impl Future<Output = io::Result<Self::TcpListener>> + Send + use<Self, A> {
        let rt = self.clone();
        crate::backend::each_addr(self, addr, move |a| {
            std::future::ready(options.bind(a).and_then(|l| rt.tcp_listener_from_std(l)))
        })
    }

    /// A ticker that fires every `period`; the first tick completes at once, as in tokio.
    ///
    /// # Panics
    ///
    /// Panics if `period` is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::{Runtime, RuntimeExt};
    /// use std::time::{Duration, Instant};
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// rt.block_on(async {
    ///     let mut ticks = rt.interval(Duration::from_millis(2));
    ///     let t0 = Instant::now();
    ///     for _ in 0..3 {
    ///         ticks.tick().await; // the first completes at once
    ///     }
    ///     assert!(t0.elapsed() >= Duration::from_millis(4));
    /// });
    /// ```
    fn interval(&self, period: Duration) -> Interval<Self> {
        Interval::new(self.clone(), period)
    }

    /// Yields once to the scheduler so other tasks can run.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::{Runtime, RuntimeExt};
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// rt.block_on(async {
    ///     let flag = Arc::new(AtomicBool::new(false));
    ///     let f = flag.clone();
    ///     let setter = rt.spawn(async move { f.store(true, Ordering::SeqCst) });
    ///     while !flag.load(Ordering::SeqCst) {
    ///         rt.yield_now().await; // lets the setter run
    ///     }
    ///     setter.await.unwrap();
    /// });
    /// ```
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
