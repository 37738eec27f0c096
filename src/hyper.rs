//! hyper 1.x on every backend, with no glue (feature `hyper`; `hyper-http2` adds HTTP/2).
//!
//! * [`Io`]: hyper's [`Read`] and [`Write`] for
//!   every anyrt stream (TCP and Unix, every backend, [`AnyTcpStream`](crate::dynamic::AnyTcpStream)).
//!   Reads go straight into hyper's uninitialised read buffer through
//!   [`ReadUninit`]: nothing is zeroed.
//! * [`FuturesIo`]: the same for any futures-io stream (a futures-rustls `TlsStream` over
//!   an anyrt stream, say). futures-io reads only into initialised memory, so it zeroes the
//!   part of hyper's buffer not yet initialised before a read.
//! * [`Executor`] and [`Timer`]: hyper's runtime hooks for any [`Runtime`] (HTTP/2's
//!   background tasks, header-read and keep-alive timeouts); `Timer::now` is the runtime's
//!   clock.
//! * [`Server`]: serve a hyper service on a listener (HTTP/1; with `hyper-http2`, HTTP/2
//!   with prior knowledge too, told apart by the connection preface), one task per
//!   connection, with graceful shutdown.
//! * [`Http1Client`]: an HTTP/1 client connection that waits until the connection is ready
//!   before each request.
//!
//! ```
//! # #[cfg(feature = "tokio")] {
//! use anyrt::hyper::{Http1Client, Server};
//! use anyrt::net::TcpListener;
//! use anyrt::{JoinHandle, Runtime, RuntimeExt};
//! use http_body_util::{BodyExt, Empty, Full};
//! use hyper::body::{Bytes, Incoming};
//! use hyper::{Request, Response};
//!
//! async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
//!     Ok(Response::new(Full::new(Bytes::from("hello"))))
//! }
//!
//! let rt = anyrt::Tokio::new();
//! rt.block_on(async {
//!     let listener = rt.tcp_listen("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     let server = rt.spawn(Server::new(&rt).serve(listener, hyper::service::service_fn(hello)));
//!
//!     let mut client = Http1Client::connect(&rt, addr).await?;
//!     let req = Request::get("/").header("host", "localhost").body(Empty::<Bytes>::new()).unwrap();
//!     let resp = client.send(req).await.map_err(std::io::Error::other)?;
//!     let body = resp.into_body().collect().await.map_err(std::io::Error::other)?.to_bytes();
//!     assert_eq!(body, "hello");
//!     server.abort();
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # }
//! # Ok::<(), std::io::Error>(())
//! ```

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use ::hyper::body::{Body, Incoming};
use ::hyper::rt::{Read, ReadBufCursor, Write};
use ::hyper::service::Service;
use ::hyper::{Request, Response};
use anyrt_core::Runtime;
#[cfg(feature = "hyper-http2")]
use anyrt_core::RuntimeExt;
use anyrt_core::io::{AsyncRead, AsyncWrite, ReadUninit};
use anyrt_core::net::{TcpListener, ToSocketAddrs};
use anyrt_core::structured::{CancellationToken, JoinSet};

/// The error type hyper's bounds name: any error, boxed.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// An anyrt stream as hyper's I/O: hyper's [`Read`] (into hyper's uninitialised buffer,
/// nothing zeroed: [`ReadUninit`]) and [`Write`] (futures-io's `AsyncWrite`;
/// `poll_shutdown` is `poll_close`).
///
/// Works for every backend's TCP and Unix stream, [`AnyTcpStream`](crate::dynamic::AnyTcpStream)
/// and anything else implementing [`ReadUninit`]; for other futures-io streams use
/// [`FuturesIo`].
///
/// ```
/// # #[cfg(feature = "tokio")] {
/// use anyrt::Runtime;
/// use anyrt::hyper::Io;
///
/// fn is_hyper_io<T: hyper::rt::Read + hyper::rt::Write>(_: &T) {}
///
/// let rt = anyrt::Tokio::new();
/// let (a, _b) = rt.unix_stream_pair()?;
/// is_hyper_io(&Io::new(a));
/// # }
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Io<S> {
    inner: S,
    vectored: bool,
}

impl<S> Io<S> {
    /// Wraps `stream`. hyper's writes of several buffers are flattened into one (the
    /// cheaper choice for small responses); see [`vectored`](Io::vectored).
    pub fn new(stream: S) -> Io<S> {
        Io {
            inner: stream,
            vectored: false,
        }
    }

    /// Tells hyper to write a response's head and body with one vectored write
    /// (`writev`) instead of copying them into one buffer: cheaper for large bodies. The
    /// stream must implement `poll_write_vectored` as one system call (every anyrt TCP
    /// and Unix stream does).
    pub fn vectored(mut self, on: bool) -> Io<S> {
        self.vectored = on;
        self
    }

    /// The stream inside.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The stream inside, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the stream.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: ReadUninit + Unpin> Read for Io<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        // SAFETY: `poll_read_uninit` only writes into the memory; it never de-initialises
        // a byte hyper may have initialised before.
        let unfilled = unsafe { buf.as_mut() };
        let n = ready!(Pin::new(&mut self.inner).poll_read_uninit(cx, unfilled))?;
        // SAFETY: `ReadUninit`'s contract: the first `n` bytes were written, `n <= len`.
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

/// hyper's `Write` for a wrapper of a futures-io writer in its `inner` field
/// (`poll_shutdown` is `poll_close`); `$vectored` is what `is_write_vectored` reports.
macro_rules! futures_io_write {
    ($ty:ident, |$this:ident| $vectored:expr) => {
        impl<S: AsyncWrite + Unpin> Write for $ty<S> {
            fn poll_write(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut self.inner).poll_write(cx, buf)
            }

            fn poll_write_vectored(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                let $this = self;
                $vectored
            }

            fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Pin::new(&mut self.inner).poll_flush(cx)
            }

            fn poll_shutdown(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
            ) -> Poll<io::Result<()>> {
                Pin::new(&mut self.inner).poll_close(cx)
            }
        }
    };
}

futures_io_write!(Io, |this| this.vectored);

/// Any futures-io stream as hyper's I/O (a futures-rustls `TlsStream` over an anyrt
/// stream, say).
///
/// futures-io's `AsyncRead` reads only into initialised memory, so the part of hyper's
/// read buffer that was never initialised is zeroed before a read (hyper reuses its
/// buffer, so this is mostly once per buffer growth). For anyrt's own streams use [`Io`],
/// which zeroes nothing.
///
/// ```
/// fn is_hyper_io<T: hyper::rt::Read + hyper::rt::Write>(_: &T) {}
/// let cursor = futures_util::io::Cursor::new(Vec::<u8>::new());
/// is_hyper_io(&anyrt::hyper::FuturesIo::new(cursor));
/// ```
#[derive(Debug)]
pub struct FuturesIo<S> {
    inner: S,
}

impl<S> FuturesIo<S> {
    /// Wraps `stream`.
    pub fn new(stream: S) -> FuturesIo<S> {
        FuturesIo { inner: stream }
    }

    /// The stream inside.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The stream inside, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the stream.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: AsyncRead + Unpin> Read for FuturesIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let unfilled = buf.initialize_unfilled();
        let len = unfilled.len();
        let n = ready!(Pin::new(&mut self.inner).poll_read(cx, unfilled))?;
        if n > len {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the stream reported more bytes than the buffer holds",
            )));
        }
        // SAFETY: the whole unfilled part was initialised above, and `n <= len`.
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

// hyper's default: flattened writes (futures-io cannot tell whether `writev` is one call).
futures_io_write!(FuturesIo, |_this| false);

/// hyper's [`Executor`](::hyper::rt::Executor) for a [`Runtime`]: each future hyper hands
/// over (HTTP/2's connection and stream tasks) becomes a detached task of the runtime.
///
/// ```
/// # #[cfg(all(feature = "tokio", feature = "hyper-http2"))] {
/// let rt = anyrt::Tokio::new();
/// let builder = hyper::server::conn::http2::Builder::new(anyrt::hyper::Executor::new(&rt));
/// # let _ = builder;
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Executor<R> {
    rt: R,
}

impl<R: Runtime> Executor<R> {
    /// An executor spawning on `rt`.
    pub fn new(rt: &R) -> Executor<R> {
        Executor { rt: rt.clone() }
    }
}

impl<R, F> ::hyper::rt::Executor<F> for Executor<R>
where
    R: Runtime,
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        // Dropping the handle detaches the task.
        drop(self.rt.spawn(fut));
    }
}

/// hyper's [`Timer`](::hyper::rt::Timer) for a [`Runtime`]: its sleeps are the runtime's,
/// and [`now`](::hyper::rt::Timer::now) is the runtime's clock
/// ([`Runtime::now`]). hyper's header-read timeout and keep-alive pings need it.
///
/// ```
/// # #[cfg(feature = "tokio")] {
/// use hyper::rt::Timer as _;
/// use std::time::Duration;
///
/// let rt = anyrt::Tokio::new();
/// let timer = anyrt::hyper::Timer::new(&rt);
/// let t0 = timer.now();
/// anyrt::Runtime::block_on(&rt, timer.sleep(Duration::from_millis(5)));
/// assert!(timer.now() >= t0 + Duration::from_millis(5));
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Timer<R> {
    rt: R,
}

impl<R: Runtime> Timer<R> {
    /// A timer on `rt`'s clock.
    pub fn new(rt: &R) -> Timer<R> {
        Timer { rt: rt.clone() }
    }
}

pin_project_lite::pin_project! {
    /// A runtime's sleep as hyper's `Sleep`.
    struct Sleep<R: Runtime> {
        #[pin]
        inner: R::Sleep,
    }
}

impl<R: Runtime> Future for Sleep<R> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().inner.poll(cx)
    }
}

impl<R: Runtime> ::hyper::rt::Sleep for Sleep<R> {}

impl<R: Runtime> ::hyper::rt::Timer for Timer<R> {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        Box::pin(Sleep::<R> {
            inner: self.rt.sleep(duration),
        })
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        Box::pin(Sleep::<R> {
            inner: self.rt.sleep_until(deadline),
        })
    }

    fn now(&self) -> Instant {
        self.rt.now()
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn ::hyper::rt::Sleep>>, new_deadline: Instant) {
        // Our own sleep: a new deadline in place (no allocation; no new timer where the
        // backend can move one: `Runtime::reset_sleep`).
        if let Some(ours) = sleep.as_mut().downcast_mut_pin::<Sleep<R>>() {
            self.rt.reset_sleep(ours.project().inner, new_deadline);
        } else {
            *sleep = self.sleep_until(new_deadline);
        }
    }
}

/// Which protocol a [`Server`] speaks on a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// HTTP/1.1 (and 1.0).
    Http1,
    /// HTTP/2 with prior knowledge (h2c; over TLS, after ALPN chose `h2`).
    #[cfg(feature = "hyper-http2")]
    Http2,
    /// HTTP/2 if the client opens with HTTP/2's connection preface, else HTTP/1.
    #[cfg(feature = "hyper-http2")]
    Auto,
}

/// Serves a hyper service on anyrt connections: HTTP/1, and with the `hyper-http2`
/// feature HTTP/2 with prior knowledge too ([`Protocol::Auto`], the default then, tells
/// them apart by the first bytes).
///
/// hyper's builders are reachable for tuning ([`http1`](Server::http1),
/// [`http2`](Server::http2)); their timer is the runtime's ([`Timer`]), so hyper's
/// header-read timeout (30 s by default) applies: a client that connects and sends
/// nothing is dropped.
///
/// See the [module docs](self) for a complete server and client.
pub struct Server<R: Runtime> {
    rt: R,
    protocol: Protocol,
    http1: ::hyper::server::conn::http1::Builder,
    #[cfg(feature = "hyper-http2")]
    http2: ::hyper::server::conn::http2::Builder<Executor<R>>,
}

impl<R: Runtime> fmt::Debug for Server<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("rt", &self.rt)
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

impl<R: Runtime> Clone for Server<R> {
    fn clone(&self) -> Self {
        Server {
            rt: self.rt.clone(),
            protocol: self.protocol,
            http1: self.http1.clone(),
            #[cfg(feature = "hyper-http2")]
            http2: self.http2.clone(),
        }
    }
}

/// How long [`Protocol::Auto`] waits for the first bytes of a connection: hyper's own
/// default header-read timeout.
#[cfg(feature = "hyper-http2")]
const PREFACE_TIMEOUT: Duration = Duration::from_secs(30);

impl<R: Runtime> Server<R> {
    /// A server on `rt`: HTTP/1 ([`Protocol::Auto`] with `hyper-http2`), hyper's defaults,
    /// the runtime's timer and executor.
    pub fn new(rt: &R) -> Server<R> {
        let mut http1 = ::hyper::server::conn::http1::Builder::new();
        http1.timer(Timer::new(rt));
        #[cfg(feature = "hyper-http2")]
        let http2 = {
            let mut b = ::hyper::server::conn::http2::Builder::new(Executor::new(rt));
            b.timer(Timer::new(rt));
            b
        };
        Server {
            rt: rt.clone(),
            #[cfg(not(feature = "hyper-http2"))]
            protocol: Protocol::Http1,
            #[cfg(feature = "hyper-http2")]
            protocol: Protocol::Auto,
            http1,
            #[cfg(feature = "hyper-http2")]
            http2,
        }
    }

    /// Chooses the protocol.
    pub fn protocol(mut self, protocol: Protocol) -> Server<R> {
        self.protocol = protocol;
        self
    }

    /// hyper's HTTP/1 connection builder, for its options.
    pub fn http1(&mut self) -> &mut ::hyper::server::conn::http1::Builder {
        &mut self.http1
    }

    /// hyper's HTTP/2 connection builder, for its options.
    #[cfg(feature = "hyper-http2")]
    pub fn http2(&mut self) -> &mut ::hyper::server::conn::http2::Builder<Executor<R>> {
        &mut self.http2
    }

    /// Serves one connection until the client is done (or the connection fails).
    ///
    /// # Errors
    ///
    /// hyper's error for the connection (a malformed request, a reset, a header-read
    /// timeout), or the I/O error that ended the wait for the first bytes
    /// ([`Protocol::Auto`]). Boxed, as hyper-util's `serve_connection` returns it.
    pub async fn serve_connection<IO, S, B>(&self, io: IO, service: S) -> Result<(), BoxError>
    where
        IO: Read + Write + Unpin + Send + 'static,
        S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        self.serve_until(io, service, std::future::pending()).await
    }

    /// Serves one connection; once `stop` completes, shuts it down gracefully (the
    /// request in flight is answered, then the connection closes).
    async fn serve_until<IO, S, B>(
        &self,
        io: IO,
        service: S,
        stop: impl Future<Output = ()>,
    ) -> Result<(), BoxError>
    where
        IO: Read + Write + Unpin + Send + 'static,
        S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        match self.protocol {
            Protocol::Http1 => {
                let conn = self.http1.serve_connection(io, service);
                Ok(drive(conn, stop, |c| c.graceful_shutdown()).await?)
            }
            #[cfg(feature = "hyper-http2")]
            Protocol::Http2 => {
                let conn = self.http2.serve_connection(io, service);
                Ok(drive(conn, stop, |c| c.graceful_shutdown()).await?)
            }
            #[cfg(feature = "hyper-http2")]
            Protocol::Auto => {
                let mut io = Rewind::new(io);
                let is_h2 = match self.rt.timeout(PREFACE_TIMEOUT, io.sniff_h2()).await {
                    Ok(r) => r?,
                    // Silent client: nothing to serve. hyper's own header-read timeout
                    // would close it the same way.
                    Err(_) => return Ok(()),
                };
                if is_h2 {
                    let conn = self.http2.serve_connection(io, service);
                    Ok(drive(conn, stop, |c| c.graceful_shutdown()).await?)
                } else {
                    let conn = self.http1.serve_connection(io, service);
                    Ok(drive(conn, stop, |c| c.graceful_shutdown()).await?)
                }
            }
        }
    }

    /// Accepts connections on `listener` and serves each in its own task (with
    /// `TCP_NODELAY` on, as axum does), forever (until the listener fails). Takes the server by value, so that the future is `'static`
    /// and can be spawned (`rt.spawn(Server::new(&rt).serve(listener, service))`).
    ///
    /// Dropping the returned future (aborting the task it runs in) aborts every
    /// connection task with it. Per-connection faults (a reset before `accept` returned,
    /// a malformed request) do not stop the server; running out of descriptors makes it
    /// pause 50 ms and go on.
    ///
    /// # Errors
    ///
    /// The listener's error when `accept` fails for a reason other than those.
    pub async fn serve<L, S, B>(self, listener: L, service: S) -> io::Result<()>
    where
        L: TcpListener,
        L::Stream: Unpin,
        S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        self.accept_loop(listener, service, None::<std::future::Pending<()>>)
            .await
    }

    /// As [`serve`](Server::serve), until `signal` completes: then it stops accepting,
    /// lets every connection finish the request it is answering (HTTP/1 keep-alive
    /// connections close after it; HTTP/2 sends GOAWAY) and returns once all are closed.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// use anyrt::net::TcpListener;
    /// use anyrt::{Runtime, RuntimeExt};
    /// use http_body_util::Full;
    /// use hyper::body::{Bytes, Incoming};
    /// use std::time::Duration;
    ///
    /// let rt = anyrt::Tokio::new();
    /// rt.block_on(async {
    ///     let listener = rt.tcp_listen("127.0.0.1:0").await?;
    ///     let service = hyper::service::service_fn(|_: hyper::Request<Incoming>| async {
    ///         Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(Bytes::from("hi"))))
    ///     });
    ///     let stop = rt.sleep(Duration::from_millis(20));
    ///     anyrt::hyper::Server::new(&rt).serve_with_shutdown(listener, service, stop).await
    /// })?;
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`serve`](Server::serve).
    pub async fn serve_with_shutdown<L, S, B>(
        self,
        listener: L,
        service: S,
        signal: impl Future<Output = ()>,
    ) -> io::Result<()>
    where
        L: TcpListener,
        L::Stream: Unpin,
        S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        self.accept_loop(listener, service, Some(signal)).await
    }

    /// The accept loop of [`serve`](Server::serve) (no `signal`) and
    /// [`serve_with_shutdown`](Server::serve_with_shutdown).
    async fn accept_loop<L, S, B>(
        self,
        listener: L,
        service: S,
        signal: Option<impl Future<Output = ()>>,
    ) -> io::Result<()>
    where
        L: TcpListener,
        L::Stream: Unpin,
        S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let stop = signal.is_some().then(CancellationToken::new);
        let mut conns = JoinSet::new(&self.rt);
        // Shared by the connection tasks: one reference count per connection, not a copy of
        // hyper's builders.
        let this = std::sync::Arc::new(self);
        let signal = async move {
            match signal {
                Some(signal) => signal.await,
                None => std::future::pending().await,
            }
        };
        let mut signal = std::pin::pin!(futures_util::FutureExt::fuse(signal));
        loop {
            // Reap finished connections so the set does not grow with the server's age.
            while conns.try_join_next().is_some() {}
            let accepted = futures_util::select_biased! {
                () = signal => break,
                r = futures_util::FutureExt::fuse(listener.accept()) => r,
            };
            let stream = match accepted {
                Ok((stream, _)) => stream,
                Err(e) if is_per_connection(&e) => continue,
                Err(e) if is_out_of_resources(&e) => {
                    this.rt.sleep(Duration::from_millis(50)).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            // As axum's `serve` does: a response's last segment is not held back for an
            // acknowledgement (Nagle's algorithm). Best effort: the socket serves anyway.
            let _ = anyrt_core::net::TcpStream::set_nodelay(&stream, true);
            let server = this.clone();
            let service = service.clone();
            let stop = stop.clone();
            conns.spawn(async move {
                let io = Io::new(stream);
                // A connection's own fault (a reset, a bad request) is the client's
                // business: the server goes on. With no shutdown signal there is nothing
                // to watch besides the connection (no listener polled per wake-up).
                let _ = match stop {
                    Some(stop) => server.serve_until(io, service, stop.cancelled()).await,
                    None => {
                        server
                            .serve_until(io, service, std::future::pending())
                            .await
                    }
                };
            });
        }
        // No new connections from here on (a connect now is refused, not left queued).
        drop(listener);
        if let Some(stop) = stop {
            stop.cancel();
        }
        while conns.join_next().await.is_some() {}
        Ok(())
    }
}

/// Drives a hyper connection; when `stop` completes, asks it to shut down gracefully and
/// drives it to the end.
async fn drive<C, E>(
    conn: C,
    stop: impl Future<Output = ()>,
    shutdown: impl FnOnce(Pin<&mut C>),
) -> Result<(), E>
where
    C: Future<Output = Result<(), E>>,
{
    let mut conn = std::pin::pin!(conn);
    let mut stop = std::pin::pin!(stop);
    let mut shutdown = Some(shutdown);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(r) = conn.as_mut().poll(cx) {
            return Poll::Ready(r);
        }
        if shutdown.is_some() && stop.as_mut().poll(cx).is_ready() {
            (shutdown.take().expect("checked"))(conn.as_mut());
            return conn.as_mut().poll(cx);
        }
        Poll::Pending
    })
    .await
}

/// An `accept` error that concerns one connection only.
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

/// An `accept` error that passes once connections close (no descriptor or buffer left).
fn is_out_of_resources(e: &io::Error) -> bool {
    #[cfg(unix)]
    {
        matches!(
            e.raw_os_error(),
            Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
        )
    }
    #[cfg(not(unix))]
    {
        e.kind() == io::ErrorKind::OutOfMemory
    }
}

/// HTTP/2's connection preface.
#[cfg(feature = "hyper-http2")]
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// An I/O that first replays the bytes read while sniffing the protocol.
#[cfg(feature = "hyper-http2")]
struct Rewind<IO> {
    prefix: [u8; H2_PREFACE.len()],
    start: usize,
    end: usize,
    inner: IO,
}

#[cfg(feature = "hyper-http2")]
impl<IO: Read + Unpin> Rewind<IO> {
    fn new(inner: IO) -> Rewind<IO> {
        Rewind {
            prefix: [0; H2_PREFACE.len()],
            start: 0,
            end: 0,
            inner,
        }
    }

    /// Reads until the first bytes match HTTP/2's preface, or stop matching it (or the
    /// client closes): whether the client speaks HTTP/2.
    async fn sniff_h2(&mut self) -> io::Result<bool> {
        while self.end < H2_PREFACE.len() {
            let n = std::future::poll_fn(|cx| {
                let mut buf = ::hyper::rt::ReadBuf::new(&mut self.prefix[self.end..]);
                ready!(Pin::new(&mut self.inner).poll_read(cx, buf.unfilled()))?;
                Poll::Ready(Ok::<_, io::Error>(buf.filled().len()))
            })
            .await?;
            if n == 0 {
                break;
            }
            self.end += n;
            if self.prefix[..self.end] != H2_PREFACE[..self.end] {
                return Ok(false);
            }
        }
        Ok(self.end == H2_PREFACE.len())
    }
}

#[cfg(feature = "hyper-http2")]
impl<IO: Read + Unpin> Read for Rewind<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        if self.start < self.end {
            let n = (self.end - self.start).min(buf.remaining());
            let start = self.start;
            buf.put_slice(&self.prefix[start..start + n]);
            self.start += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

#[cfg(feature = "hyper-http2")]
impl<IO: Write + Unpin> Write for Rewind<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// An HTTP/1 client connection: hyper's `SendRequest`, with its connection driven by a
/// task of the runtime, and [`send`](Http1Client::send) waiting until the connection can
/// take the next request (hyper's HTTP/1 sender takes one at a time).
///
/// See the [module docs](self) for an example.
#[derive(Debug)]
pub struct Http1Client<B> {
    sender: ::hyper::client::conn::http1::SendRequest<B>,
}

impl<B> Http1Client<B>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    /// Connects to `addr` over TCP and performs hyper's HTTP/1 handshake.
    ///
    /// # Errors
    ///
    /// The connect's error (`ConnectionRefused`, …), or hyper's handshake error as an
    /// `Other` I/O error.
    pub async fn connect<R: Runtime, A: ToSocketAddrs>(rt: &R, addr: A) -> io::Result<Self> {
        let stream = rt.tcp_connect(addr).await?;
        Http1Client::handshake(rt, Io::new(stream))
            .await
            .map_err(io::Error::other)
    }

    /// Performs hyper's HTTP/1 handshake over `io` (a TLS stream in [`FuturesIo`], say);
    /// the connection runs in a task of `rt` until the client and its clones are dropped
    /// or the server closes.
    ///
    /// # Errors
    ///
    /// hyper's handshake error.
    pub async fn handshake<R, IO>(rt: &R, io: IO) -> Result<Self, ::hyper::Error>
    where
        R: Runtime,
        IO: Read + Write + Unpin + Send + 'static,
    {
        let (sender, conn) = ::hyper::client::conn::http1::Builder::new()
            .handshake(io)
            .await?;
        // The connection's own error reaches the caller through `send`.
        drop(rt.spawn(async move {
            let _ = conn.await;
        }));
        Ok(Http1Client { sender })
    }

    /// Waits until the connection can take a request, then sends `req` and waits for the
    /// response's head (its body streams from [`Incoming`]).
    ///
    /// # Errors
    ///
    /// hyper's error: the connection closed or failed, or the response was malformed.
    pub async fn send(&mut self, req: Request<B>) -> Result<Response<Incoming>, ::hyper::Error> {
        self.sender.ready().await?;
        self.sender.send_request(req).await
    }

    /// hyper's sender, for what [`send`](Http1Client::send) does not cover.
    pub fn sender(&mut self) -> &mut ::hyper::client::conn::http1::SendRequest<B> {
        &mut self.sender
    }

    /// Whether the connection is closed (the next `send` would fail).
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }
}
