//! Implicit concurrency: blocking-style code (no `async`, no `.await`) on any backend.
//!
//! Code written with these functions and types reads like `std` code — `read`, `write`,
//! `sleep`, `join` simply block — yet runs on any [`Runtime`]:
//!
//! * on a backend with stackful coroutines (Green), each implicit thread is a coroutine: a
//!   blocking call parks only the coroutine, so a hundred thousand implicit threads are
//!   cheap (Green: about 9 KiB of memory each, on 1 MiB of reserved stack);
//! * on the others (Tokio, Smol), each implicit thread is an OS thread of its own (not a
//!   slot in a capped blocking pool, where implicit threads waiting on each other could
//!   deadlock): the same code runs correctly up to the OS thread limit, at the cost of an
//!   OS thread (a 2 MiB stack reservation and a kernel task) each.
//!
//! Blocking calls belong in an implicit thread ([`spawn`], `Runtime::spawn_implicit`) or
//! in `main`. Calling one from inside an async task would stall the executor: it panics
//! with a message naming the fix instead (except on a coroutine backend's own tasks,
//! where it parks only the coroutine).
//!
//! ```
//! use anyrt_core::implicit::{self, TcpListener, TcpStream};
//! use std::io::{Read, Write};
//!
//! /// A one-thread-per-connection echo server, written once for every backend.
//! fn serve<R: anyrt_core::Runtime>(rt: R, listener: TcpListener<R>) -> std::io::Result<()> {
//!     for stream in listener.incoming() {
//!         let mut stream = stream?;
//!         implicit::spawn(&rt, move || {
//!             let mut buf = [0u8; 1024];
//!             while let Ok(n @ 1..) = stream.read(&mut buf) {
//!                 if stream.write_all(&buf[..n]).is_err() {
//!                     break;
//!                 }
//!             }
//!         });
//!     }
//!     Ok(())
//! }
//!
//! let rt = anyrt_tokio::Tokio::new();
//! let listener = TcpListener::bind(&rt, "127.0.0.1:0")?;
//! let addr = listener.local_addr()?;
//! let rt2 = rt.clone();
//! implicit::spawn(&rt, move || serve(rt2, listener));
//! let mut client = TcpStream::connect(&rt, addr)?;
//! client.write_all(b"hello")?;
//! let mut back = [0u8; 5];
//! client.read_exact(&mut back)?;
//! assert_eq!(&back, b"hello");
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fmt;
use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::io::{AsyncReadExt, AsyncWriteExt};
use crate::net::{self, ToSocketAddrs};
use crate::structured::CancellationToken;
use crate::{JoinError, JoinHandle, Runtime, RuntimeExt};

mod group;
pub mod sync;
#[cfg(unix)]
mod unix;
pub use group::{TaskGroup, task_group};
#[cfg(unix)]
pub use unix::{UnixDatagram, UnixIncoming, UnixListener, UnixStream};

/// Spawns `f` as an implicit thread (a coroutine on a coroutine backend, an OS thread
/// elsewhere).
///
/// Dropping the returned [`Thread`] detaches it.
///
/// # Examples
///
/// ```
/// use anyrt_core::implicit;
///
/// let rt = anyrt_tokio::Tokio::new();
/// let t = implicit::spawn(&rt, || 6 * 7);
/// assert_eq!(t.join().unwrap(), 42);
/// ```
pub fn spawn<R, T, F>(rt: &R, f: F) -> Thread<T>
where
    R: Runtime,
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    spawn_with_token(rt, CancellationToken::new(), f)
}

/// Spawns `f` as an implicit thread whose cancellation token is `token` (a child of a
/// group's token, say).
pub(crate) fn spawn_with_token<R, T, F>(rt: &R, token: CancellationToken, f: F) -> Thread<T>
where
    R: Runtime,
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let own = token.clone();
    let handle = rt.spawn_implicit(move || {
        let _restore = CurrentToken(crate::backend::set_current_token(Some(own)));
        f()
    });
    Thread {
        inner: Box::new(Spawned {
            rt: rt.clone(),
            handle,
        }),
        token,
    }
}

/// Puts the previous token back when the thread's closure returns or unwinds.
struct CurrentToken(Option<CancellationToken>);

impl Drop for CurrentToken {
    fn drop(&mut self) {
        crate::backend::set_current_token(self.0.take());
    }
}

/// What the blocking socket calls of a cancelled implicit thread return (see
/// [`Thread::cancel`]), inside an [`io::Error`] of kind [`io::ErrorKind::Other`]; test for
/// it with [`is_cancelled`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled(());

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the implicit thread was cancelled")
    }
}

impl std::error::Error for Cancelled {}

/// The error a cancelled implicit thread's blocking socket calls return: kind
/// [`io::ErrorKind::Other`], carrying [`Cancelled`].
///
/// ```
/// let e = anyrt_core::implicit::cancelled_error();
/// assert!(anyrt_core::implicit::is_cancelled(&e));
/// ```
pub fn cancelled_error() -> io::Error {
    io::Error::other(Cancelled(()))
}

/// Whether `error` reports the cancellation of the implicit thread (see [`Thread::cancel`]).
///
/// ```
/// use std::io;
///
/// assert!(!anyrt_core::implicit::is_cancelled(&io::Error::other("boom")));
/// ```
pub fn is_cancelled(error: &io::Error) -> bool {
    error.get_ref().is_some_and(|e| e.is::<Cancelled>())
}

pin_project_lite::pin_project! {
    /// A socket call's future that a cancellation of the current implicit thread ends.
    struct Interruptible<F> {
        #[pin]
        fut: F,
        // Looked up on the first wait: a call that does not wait pays nothing.
        token: Option<Option<CancellationToken>>,
    }
}

impl<T, F: Future<Output = io::Result<T>>> Future for Interruptible<F> {
    type Output = io::Result<T>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<T>> {
        let this = self.project();
        if let std::task::Poll::Ready(r) = this.fut.poll(cx) {
            return std::task::Poll::Ready(r);
        }
        let token = this.token.get_or_insert_with(crate::backend::current_token);
        match token {
            Some(token) if token.register_waker(cx.waker()) => {
                std::task::Poll::Ready(Err(cancelled_error()))
            }
            _ => std::task::Poll::Pending,
        }
    }
}

/// Runs a blocking socket call: `rt.block_on(fut)`, ended with [`cancelled_error`] if the
/// current implicit thread is (or gets) cancelled while it waits.
pub(crate) fn block_io<R: Runtime, T>(
    rt: &R,
    fut: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    rt.block_on(interruptible(fut))
}

/// `fut`, ended with [`cancelled_error`] if the current implicit thread is (or gets)
/// cancelled while it waits (see [`crate::backend::interruptible`]).
pub(crate) fn interruptible<T, F: Future<Output = io::Result<T>>>(
    fut: F,
) -> impl Future<Output = io::Result<T>> {
    Interruptible { fut, token: None }
}

/// Blocks the implicit thread for `duration` (never less).
///
/// It cannot fail: once `rt` is shut down ([`Runtime::is_shut_down`]) there is no timer
/// left to wait on, and it sleeps the OS thread that an implicit thread is on such a
/// backend.
///
/// # Examples
///
/// ```
/// use anyrt_core::implicit;
/// use std::time::{Duration, Instant};
///
/// let rt = anyrt_tokio::Tokio::new();
/// let t0 = Instant::now();
/// implicit::sleep(&rt, Duration::from_millis(5));
/// assert!(t0.elapsed() >= Duration::from_millis(5));
/// ```
pub fn sleep<R: Runtime>(rt: &R, duration: Duration) {
    if rt.is_shut_down() {
        std::thread::sleep(duration);
    } else {
        // A cancellation of the thread ends the sleep early (see `Thread::cancel`).
        let _ = block_io(rt, async {
            rt.sleep(duration).await;
            Ok(())
        });
    }
}

/// `Ok` while `rt` runs. Once it is shut down, the socket calls of an implicit thread that
/// outlived it fail with this error (kind `Other`), on every backend alike, whether or not
/// the backend's reactor outlives the runtime.
fn running<R: Runtime>(rt: &R) -> io::Result<()> {
    if rt.is_shut_down() {
        Err(io::Error::other(format!(
            "the {} runtime of this blocking-style socket was shut down",
            rt.name()
        )))
    } else {
        Ok(())
    }
}

/// Runs async code from implicit code, blocking until it completes.
///
/// # Examples
///
/// ```
/// use anyrt_core::implicit;
///
/// let rt = anyrt_tokio::Tokio::new();
/// let answer = implicit::block_on(&rt, async { 40 + 2 });
/// assert_eq!(answer, 42);
/// ```
pub fn block_on<R: Runtime, F: Future>(rt: &R, future: F) -> F::Output {
    rt.block_on(future)
}

/// An implicit thread; made by [`spawn`].
pub struct Thread<T> {
    inner: Box<dyn Join<T>>,
    token: CancellationToken,
}

trait Join<T>: Send {
    fn join(self: Box<Self>) -> Result<T, JoinError>;
    fn is_finished(&self) -> bool;
}

struct Spawned<R: Runtime, T: Send + 'static> {
    rt: R,
    handle: R::JoinHandle<T>,
}

impl<R: Runtime, T: Send + 'static> Join<T> for Spawned<R, T> {
    fn join(self: Box<Self>) -> Result<T, JoinError> {
        let this = *self;
        this.rt.block_on(this.handle)
    }

    fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }
}

impl<T> Thread<T> {
    /// Waits for the thread to finish: its result, or a [`JoinError`] if it panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::implicit;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let t = implicit::spawn(&rt, || -> u32 { panic!("boom") });
    /// assert!(t.join().unwrap_err().is_panic());
    /// ```
    pub fn join(self) -> Result<T, JoinError> {
        self.inner.join()
    }

    /// Returns `true` once the thread has finished.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::implicit;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let t = implicit::spawn(&rt, || ());
    /// while !t.is_finished() {
    ///     std::thread::yield_now();
    /// }
    /// t.join().unwrap();
    /// ```
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// Cancels the thread, cooperatively: its current blocking socket call (read, write,
    /// accept, connect, send, receive, on any anyrt implicit socket), or its next one that
    /// has to wait, fails with [`cancelled_error`] (kind [`io::ErrorKind::Other`]; test with
    /// [`is_cancelled`]), so the thread unwinds through its own error handling; an
    /// [`implicit::sleep`](sleep) returns early. Nothing else is interrupted: a thread
    /// blocked in [`block_on`], in [`sync`]'s waits or in code that is not anyrt's runs on
    /// until it makes such a call. Idempotent.
    ///
    /// On Tokio and Smol an implicit thread is an OS thread, which nothing can stop from
    /// outside; this is how it stops on every backend alike.
    ///
    /// ```
    /// use anyrt_core::implicit::{self, TcpListener, TcpStream};
    /// use std::io::Read;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let listener = TcpListener::bind(&rt, "127.0.0.1:0")?;
    /// let mut quiet = TcpStream::connect(&rt, listener.local_addr()?)?;
    /// let reader = implicit::spawn(&rt, move || quiet.read(&mut [0u8; 16]));
    /// reader.cancel(); // the peer never writes: the read ends only this way
    /// let err = reader.join().unwrap().unwrap_err();
    /// assert!(implicit::is_cancelled(&err));
    /// # drop(listener);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn cancel(&self) {
        self.token.cancel();
    }

    /// The thread's cancellation token: cancelling it is [`cancel`](Thread::cancel).
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }
}

impl<T> fmt::Debug for Thread<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Thread")
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// A blocking-style TCP listener.
pub struct TcpListener<R: Runtime> {
    rt: R,
    inner: R::TcpListener,
}

impl<R: Runtime> TcpListener<R> {
    /// Binds a listener (host names are resolved off the runtime's workers).
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::implicit::TcpListener;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let listener = TcpListener::bind(&rt, "127.0.0.1:0")?;
    /// assert!(listener.local_addr()?.port() > 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind<A: ToSocketAddrs>(rt: &R, addr: A) -> io::Result<Self> {
        running(rt)?;
        let inner = block_io(rt, rt.tcp_listen(addr))?;
        Ok(TcpListener {
            rt: rt.clone(),
            inner,
        })
    }

    /// Blocks until a connection arrives.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyrt_core::implicit::{TcpListener, TcpStream};
    /// # let rt = anyrt_tokio::Tokio::new();
    /// # let listener = TcpListener::bind(&rt, "127.0.0.1:0")?;
    /// # let client = TcpStream::connect(&rt, listener.local_addr()?)?;
    /// # let (server, _) = listener.accept()?;
    /// assert_eq!(server.peer_addr()?, client.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn accept(&self) -> io::Result<(TcpStream<R>, SocketAddr)> {
        running(&self.rt)?;
        let (s, addr) = block_io(&self.rt, net::TcpListener::accept(&self.inner))?;
        Ok((TcpStream::new(self.rt.clone(), s), addr))
    }

    /// An endless iterator over incoming connections.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::implicit::{TcpListener, TcpStream};
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let listener = TcpListener::bind(&rt, "127.0.0.1:0")?;
    /// let _client = TcpStream::connect(&rt, listener.local_addr()?)?;
    /// let first = listener.incoming().next().unwrap()?;
    /// assert!(first.peer_addr().is_ok());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn incoming(&self) -> Incoming<'_, R> {
        Incoming { listener: self }
    }

    /// The address this listener is bound to.
    ///
    /// # Examples
    ///
    /// See [`bind`](TcpListener::bind).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        net::TcpListener::local_addr(&self.inner)
    }

    /// Unwraps the async listener.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::implicit::TcpListener;
    /// use anyrt_core::net::TcpListener as _;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let listener = TcpListener::bind(&rt, "127.0.0.1:0")?;
    /// let addr = listener.local_addr()?;
    /// let async_listener = listener.into_inner(); // for async code
    /// assert_eq!(async_listener.local_addr()?, addr);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_inner(self) -> R::TcpListener {
        self.inner
    }
}

impl<R: Runtime> fmt::Debug for TcpListener<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

/// The iterator of [`TcpListener::incoming`]; it never returns `None`.
#[derive(Debug)]
pub struct Incoming<'a, R: Runtime> {
    listener: &'a TcpListener<R>,
}

impl<R: Runtime> Iterator for Incoming<'_, R> {
    type Item = io::Result<TcpStream<R>>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.listener.accept().map(|(s, _)| s))
    }
}

/// The stored value for "no timeout": a zero timeout cannot be set (std rejects it too),
/// so every `Some` duration, `u64::MAX` nanoseconds included, reads back as itself.
const NO_TIMEOUT: u64 = 0;

/// A blocking-style TCP stream: `std::io::Read + Write` (and `BufRead` through
/// `std::io::BufReader`).
pub struct TcpStream<R: Runtime> {
    rt: R,
    inner: R::TcpStream,
    timeouts: Timeouts,
    // One reader and one writer at a time through `&TcpStream` (the backends' shared
    // reads and writes have one waiter per direction); `&mut` access needs neither.
    shared_reader: sync::Mutex<()>,
    shared_writer: sync::Mutex<()>,
}

impl<R: Runtime> TcpStream<R> {
    fn new(rt: R, inner: R::TcpStream) -> Self {
        TcpStream {
            rt,
            inner,
            timeouts: Timeouts::none(),
            shared_reader: sync::Mutex::new(()),
            shared_writer: sync::Mutex::new(()),
        }
    }

    /// A second handle to the same connection (the socket duplicated, as std's
    /// `try_clone`), for a reader thread and a writer thread: each handle has its own
    /// registration with the runtime. The timeouts set so far are copied; after that each
    /// handle keeps its own.
    ///
    /// ```
    /// use anyrt_core::implicit::{self, TcpListener, TcpStream};
    /// use std::io::{Read, Write};
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let listener = TcpListener::bind(&rt, "127.0.0.1:0")?;
    /// let client = TcpStream::connect(&rt, listener.local_addr()?)?;
    /// let (mut server, _) = listener.accept()?;
    /// let mut writer = client.try_clone()?;
    /// let t = implicit::spawn(&rt, move || writer.write_all(b"from the clone"));
    /// let mut got = [0u8; 14];
    /// server.read_exact(&mut got)?;
    /// assert_eq!(&got, b"from the clone");
    /// t.join().unwrap()?;
    /// # drop(client);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[cfg(unix)]
    pub fn try_clone(&self) -> io::Result<TcpStream<R>> {
        let dup = socket2::SockRef::from(&self.inner).try_clone()?;
        let inner = self.rt.tcp_stream_from_std(dup.into())?;
        let mut clone = TcpStream::new(self.rt.clone(), inner);
        clone.timeouts = self.timeouts.copied();
        Ok(clone)
    }

    /// Connects, trying each resolved address in turn.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::implicit::{TcpListener, TcpStream};
    /// use std::io::{Read, Write};
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let listener = TcpListener::bind(&rt, "127.0.0.1:0")?;
    /// let mut client = TcpStream::connect(&rt, listener.local_addr()?)?;
    /// let (mut server, _) = listener.accept()?;
    /// client.write_all(b"ping")?;
    /// let mut buf = [0u8; 4];
    /// server.read_exact(&mut buf)?;
    /// assert_eq!(&buf, b"ping");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect<A: ToSocketAddrs>(rt: &R, addr: A) -> io::Result<Self> {
        running(rt)?;
        let inner = block_io(rt, rt.tcp_connect(addr))?;
        Ok(TcpStream::new(rt.clone(), inner))
    }

    /// Wraps an async stream of the same runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use anyrt_core::implicit::{TcpListener, TcpStream};
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let listener = TcpListener::bind(&rt, "127.0.0.1:0")?;
    /// let async_stream = rt.block_on(rt.tcp_connect(listener.local_addr()?))?;
    /// let stream = TcpStream::from_async(&rt, async_stream);
    /// assert_eq!(stream.peer_addr()?, listener.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_async(rt: &R, stream: R::TcpStream) -> Self {
        TcpStream::new(rt.clone(), stream)
    }

    /// Unwraps the async stream.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::net::TcpStream as _;
    /// # use anyrt_core::implicit::{TcpListener, TcpStream};
    /// # let rt = anyrt_tokio::Tokio::new();
    /// # let listener = TcpListener::bind(&rt, "127.0.0.1:0")?;
    /// # let client = TcpStream::connect(&rt, listener.local_addr()?)?;
    /// # let (server, _) = listener.accept()?;
    /// let addr = client.local_addr()?;
    /// let async_stream = client.into_inner(); // for async code
    /// assert_eq!(async_stream.local_addr()?, addr);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_inner(self) -> R::TcpStream {
        self.inner
    }

    /// The address of the remote peer.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyrt_core::implicit::{TcpListener, TcpStream};
    /// # let rt = anyrt_tokio::Tokio::new();
    /// # let listener = TcpListener::bind(&rt, "127.0.0.1:0")?;
    /// # let client = TcpStream::connect(&rt, listener.local_addr()?)?;
    /// # let (server, _) = listener.accept()?;
    /// assert_eq!(client.peer_addr()?, listener.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        net::TcpStream::peer_addr(&self.inner)
    }

    /// The local address of this end.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyrt_core::implicit::{TcpListener, TcpStream};
    /// # let rt = anyrt_tokio::Tokio::new();
    /// # let listener = TcpListener::bind(&rt, "127.0.0.1:0")?;
    /// # let client = TcpStream::connect(&rt, listener.local_addr()?)?;
    /// # let (server, _) = listener.accept()?;
    /// assert_eq!(client.local_addr()?, server.peer_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        net::TcpStream::local_addr(&self.inner)
    }

    /// Shuts down the read half, the write half or both.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// use std::net::Shutdown;
    /// # use anyrt_core::implicit::{TcpListener, TcpStream};
    /// # let rt = anyrt_tokio::Tokio::new();
    /// # let listener = TcpListener::bind(&rt, "127.0.0.1:0")?;
    /// # let client = TcpStream::connect(&rt, listener.local_addr()?)?;
    /// # let (server, _) = listener.accept()?;
    /// # let mut server = server;
    /// client.shutdown(Shutdown::Write)?;
    /// let mut rest = Vec::new();
    /// server.read_to_end(&mut rest)?; // EOF at once
    /// assert!(rest.is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        net::TcpStream::shutdown(&self.inner, how)
    }

    /// Sets `TCP_NODELAY`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyrt_core::implicit::{TcpListener, TcpStream};
    /// # let rt = anyrt_tokio::Tokio::new();
    /// # let listener = TcpListener::bind(&rt, "127.0.0.1:0")?;
    /// # let client = TcpStream::connect(&rt, listener.local_addr()?)?;
    /// # let (server, _) = listener.accept()?;
    /// client.set_nodelay(true)?;
    /// assert!(client.nodelay()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        net::TcpStream::set_nodelay(&self.inner, on)
    }

    /// Reads `TCP_NODELAY`.
    ///
    /// # Examples
    ///
    /// See [`set_nodelay`](TcpStream::set_nodelay).
    pub fn nodelay(&self) -> io::Result<bool> {
        net::TcpStream::nodelay(&self.inner)
    }

    /// Sets the read timeout: a read that waits longer fails with
    /// [`io::ErrorKind::TimedOut`] and the stream stays usable. `None` waits forever.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a zero duration, as `std::net::TcpStream` does.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// use std::time::Duration;
    /// # use anyrt_core::implicit::{TcpListener, TcpStream};
    /// # let rt = anyrt_tokio::Tokio::new();
    /// # let listener = TcpListener::bind(&rt, "127.0.0.1:0")?;
    /// # let client = TcpStream::connect(&rt, listener.local_addr()?)?;
    /// # let (server, _) = listener.accept()?;
    /// # let mut server = server;
    /// server.set_read_timeout(Some(Duration::from_millis(10)))?;
    /// let err = server.read(&mut [0u8; 8]).unwrap_err(); // the client sends nothing
    /// assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        store_timeout(&self.timeouts.read, timeout)
    }

    /// Sets the write timeout; see [`set_read_timeout`](TcpStream::set_read_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// # use anyrt_core::implicit::{TcpListener, TcpStream};
    /// # let rt = anyrt_tokio::Tokio::new();
    /// # let listener = TcpListener::bind(&rt, "127.0.0.1:0")?;
    /// # let client = TcpStream::connect(&rt, listener.local_addr()?)?;
    /// # let (server, _) = listener.accept()?;
    /// client.set_write_timeout(Some(Duration::from_secs(5)))?;
    /// assert_eq!(client.write_timeout()?, Some(Duration::from_secs(5)));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        store_timeout(&self.timeouts.write, timeout)
    }

    /// The read timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// # use anyrt_core::implicit::{TcpListener, TcpStream};
    /// # let rt = anyrt_tokio::Tokio::new();
    /// # let listener = TcpListener::bind(&rt, "127.0.0.1:0")?;
    /// # let client = TcpStream::connect(&rt, listener.local_addr()?)?;
    /// # let (server, _) = listener.accept()?;
    /// assert_eq!(client.read_timeout()?, None);
    /// client.set_read_timeout(Some(Duration::from_secs(1)))?;
    /// assert_eq!(client.read_timeout()?, Some(Duration::from_secs(1)));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(load_timeout(&self.timeouts.read))
    }

    /// The write timeout.
    ///
    /// # Examples
    ///
    /// See [`set_write_timeout`](TcpStream::set_write_timeout).
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(load_timeout(&self.timeouts.write))
    }
}

/// A stream's read and write timeouts: nanoseconds, or `NO_TIMEOUT`; atomics so the setters
/// take `&self`, as std's do.
#[derive(Debug)]
pub(crate) struct Timeouts {
    pub(crate) read: AtomicU64,
    pub(crate) write: AtomicU64,
}

impl Timeouts {
    pub(crate) const fn none() -> Timeouts {
        Timeouts {
            read: AtomicU64::new(NO_TIMEOUT),
            write: AtomicU64::new(NO_TIMEOUT),
        }
    }

    /// The same settings, for a cloned handle (which then keeps its own).
    pub(crate) fn copied(&self) -> Timeouts {
        Timeouts {
            read: AtomicU64::new(self.read.load(Ordering::Relaxed)),
            write: AtomicU64::new(self.write.load(Ordering::Relaxed)),
        }
    }
}

fn store_timeout(slot: &AtomicU64, timeout: Option<Duration>) -> io::Result<()> {
    let nanos = match timeout {
        None => NO_TIMEOUT,
        Some(d) if d.is_zero() => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot set a 0 duration timeout",
            ));
        }
        // Non-zero, so at least one nanosecond; durations past u64::MAX nanoseconds
        // (584 years) are kept as that.
        Some(d) => u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
    };
    slot.store(nanos, Ordering::Relaxed);
    Ok(())
}

fn load_timeout(slot: &AtomicU64) -> Option<Duration> {
    match slot.load(Ordering::Relaxed) {
        NO_TIMEOUT => None,
        n => Some(Duration::from_nanos(n)),
    }
}

/// Runs an IO future to completion, within `timeout` if one is set. The caller has
/// checked that the runtime still runs (once per call: it is a read or write's only check).
fn with_timeout<R: Runtime, T>(
    rt: &R,
    timeout: &AtomicU64,
    fut: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    match load_timeout(timeout) {
        None => block_io(rt, fut),
        Some(d) => block_io(rt, async { rt.timeout(d, fut).await? }),
    }
}

impl<R: Runtime> Read for TcpStream<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        running(&self.rt)?;
        // The backend's direct path (Green: the syscall and may's own wait, as a may socket
        // does), when it has one here and no timeout is set.
        if load_timeout(&self.timeouts.read).is_none()
            && let Some(r) = net::TcpStream::direct_blocking_read(&self.inner, buf)
        {
            return r;
        }
        with_timeout(&self.rt, &self.timeouts.read, self.inner.read(buf))
    }
}

impl<R: Runtime> Write for TcpStream<R> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        running(&self.rt)?;
        if load_timeout(&self.timeouts.write).is_none()
            && let Some(r) = net::TcpStream::direct_blocking_write(&self.inner, buf)
        {
            return r;
        }
        with_timeout(&self.rt, &self.timeouts.write, self.inner.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        running(&self.rt)?;
        with_timeout(&self.rt, &self.timeouts.write, self.inner.flush())
    }
}

/// Reads through a shared reference, as std's `&TcpStream` does (one thread reads while
/// another writes, say); concurrent readers take turns.
impl<R: Runtime> Read for &TcpStream<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let this: &TcpStream<R> = self;
        let _turn = this.shared_reader.lock();
        running(&this.rt)?;
        if load_timeout(&this.timeouts.read).is_none()
            && let Some(r) = net::TcpStream::direct_blocking_read(&this.inner, buf)
        {
            return r;
        }
        with_timeout(
            &this.rt,
            &this.timeouts.read,
            std::future::poll_fn(|cx| net::TcpStream::poll_read_shared(&this.inner, cx, buf)),
        )
    }
}

/// Writes through a shared reference, as std's `&TcpStream` does; concurrent writers take
/// turns (each `write` call whole: use one `write_all` per message).
impl<R: Runtime> Write for &TcpStream<R> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let this: &TcpStream<R> = self;
        let _turn = this.shared_writer.lock();
        running(&this.rt)?;
        if load_timeout(&this.timeouts.write).is_none()
            && let Some(r) = net::TcpStream::direct_blocking_write(&this.inner, buf)
        {
            return r;
        }
        with_timeout(
            &this.rt,
            &this.timeouts.write,
            std::future::poll_fn(|cx| net::TcpStream::poll_write_shared(&this.inner, cx, buf)),
        )
    }

    fn flush(&mut self) -> io::Result<()> {
        // A TCP stream buffers nothing of its own: there is nothing to flush.
        running(&self.rt)
    }
}

impl<R: Runtime> fmt::Debug for TcpStream<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}

/// A blocking-style UDP socket.
pub struct UdpSocket<R: Runtime> {
    rt: R,
    inner: R::UdpSocket,
}

impl<R: Runtime> UdpSocket<R> {
    /// Binds a socket.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::implicit::UdpSocket;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let socket = UdpSocket::bind(&rt, "127.0.0.1:0")?;
    /// assert!(socket.local_addr()?.ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind<A: ToSocketAddrs>(rt: &R, addr: A) -> io::Result<Self> {
        running(rt)?;
        let inner = block_io(rt, rt.udp_bind(addr))?;
        Ok(UdpSocket {
            rt: rt.clone(),
            inner,
        })
    }

    /// Sends one datagram to `target`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyrt_core::implicit::UdpSocket;
    /// # let rt = anyrt_tokio::Tokio::new();
    /// # let a = UdpSocket::bind(&rt, "127.0.0.1:0")?;
    /// # let b = UdpSocket::bind(&rt, "127.0.0.1:0")?;
    /// a.send_to(b"ping", b.local_addr()?)?;
    /// let mut buf = [0u8; 16];
    /// let (n, from) = b.recv_from(&mut buf)?;
    /// assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        running(&self.rt)?;
        block_io(&self.rt, net::UdpSocket::send_to(&self.inner, buf, target))
    }

    /// Blocks until a datagram arrives; returns its length and sender.
    ///
    /// # Examples
    ///
    /// See [`send_to`](UdpSocket::send_to).
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        running(&self.rt)?;
        block_io(&self.rt, net::UdpSocket::recv_from(&self.inner, buf))
    }

    /// Sets the default peer.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyrt_core::implicit::UdpSocket;
    /// # let rt = anyrt_tokio::Tokio::new();
    /// # let a = UdpSocket::bind(&rt, "127.0.0.1:0")?;
    /// # let b = UdpSocket::bind(&rt, "127.0.0.1:0")?;
    /// a.connect(b.local_addr()?)?;
    /// b.connect(a.local_addr()?)?;
    /// a.send(b"hi")?;
    /// let mut buf = [0u8; 8];
    /// let n = b.recv(&mut buf)?;
    /// assert_eq!(&buf[..n], b"hi");
    /// assert_eq!(a.peer_addr()?, b.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect(&self, addr: SocketAddr) -> io::Result<()> {
        running(&self.rt)?;
        block_io(&self.rt, net::UdpSocket::connect(&self.inner, addr))
    }

    /// Sends one datagram to the connected peer.
    ///
    /// # Examples
    ///
    /// See [`connect`](UdpSocket::connect).
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        running(&self.rt)?;
        block_io(&self.rt, net::UdpSocket::send(&self.inner, buf))
    }

    /// Blocks until a datagram from the connected peer arrives.
    ///
    /// # Examples
    ///
    /// See [`connect`](UdpSocket::connect).
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        running(&self.rt)?;
        block_io(&self.rt, net::UdpSocket::recv(&self.inner, buf))
    }

    /// The address this socket is bound to.
    ///
    /// # Examples
    ///
    /// See [`bind`](UdpSocket::bind).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        net::UdpSocket::local_addr(&self.inner)
    }

    /// The connected peer's address.
    ///
    /// # Examples
    ///
    /// See [`connect`](UdpSocket::connect).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        net::UdpSocket::peer_addr(&self.inner)
    }
}

impl<R: Runtime> fmt::Debug for UdpSocket<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

/// The socket handle of each blocking-style socket is its async socket's.
macro_rules! blocking_style_handle {
    ($($name:ident),*) => {$(
        #[cfg(unix)]
        impl<R: Runtime> std::os::fd::AsFd for $name<R> {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                std::os::fd::AsFd::as_fd(&self.inner)
            }
        }

        #[cfg(unix)]
        impl<R: Runtime> std::os::fd::AsRawFd for $name<R> {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                std::os::fd::AsRawFd::as_raw_fd(&std::os::fd::AsFd::as_fd(&self.inner))
            }
        }
    )*};
}

blocking_style_handle!(TcpListener, TcpStream, UdpSocket);
#[cfg(unix)]
blocking_style_handle!(UnixListener, UnixStream, UnixDatagram);
