use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::task::{Context, Poll};

/// The OS handle of a socket: on Unix, [`AsFd`](std::os::fd::AsFd) (and so `AsRawFd`), so
/// that `socket2::SockRef::from(&socket)` reaches every socket option on every backend
/// (keepalive, linger, TTL, buffer sizes, `only_v6`, ...). Implemented for every type that
/// has the handle; elsewhere it asks for nothing.
///
/// ```
/// use anyrt_core::Runtime;
/// use anyrt_core::net::TcpListener;
///
/// let rt = anyrt_tokio::Tokio::new();
/// rt.block_on(async {
///     let listener = rt.tcp_listen("127.0.0.1:0").await?;
///     let stream = rt.tcp_connect(listener.local_addr()?).await?;
///     // Any option, through socket2, on any backend's stream.
///     let sock = socket2::SockRef::from(&stream);
///     sock.set_keepalive(true)?;
///     assert!(sock.keepalive()?);
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[cfg(unix)]
pub trait AsSocket: std::os::fd::AsFd {}

#[cfg(unix)]
impl<T: std::os::fd::AsFd + ?Sized> AsSocket for T {}

/// The OS handle of a socket (on Unix, `AsFd`); here it asks for nothing.
#[cfg(not(unix))]
pub trait AsSocket {}

#[cfg(not(unix))]
impl<T: ?Sized> AsSocket for T {}

/// With the `tokio-io` feature, tokio's `AsyncRead` and `AsyncWrite`, which every stream
/// type ([`TcpStream`], and on Unix [`UnixStream`](super::UnixStream)) then implements, so
/// generic code uses tokio-util's codecs, hyper-util's `TokioIo` or tokio-rustls on
/// `R::TcpStream` with no `.compat()`. Without the feature it asks for nothing.
///
/// ```
/// # #[cfg(feature = "tokio-io")]
/// fn tokio_stream<S: tokio::io::AsyncRead + tokio::io::AsyncWrite>(_: &S) {}
/// # #[cfg(feature = "tokio-io")]
/// fn generic<S: anyrt_core::net::TcpStream>(s: &S) {
///     tokio_stream(s); // no `.compat()`
/// }
/// ```
#[cfg(feature = "tokio-io")]
pub trait TokioIo: tokio::io::AsyncRead + tokio::io::AsyncWrite {}

#[cfg(feature = "tokio-io")]
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + ?Sized> TokioIo for T {}

/// With the `tokio-io` feature, tokio's `AsyncRead` and `AsyncWrite`; here (the feature
/// is off) it asks for nothing.
#[cfg(not(feature = "tokio-io"))]
pub trait TokioIo {}

#[cfg(not(feature = "tokio-io"))]
impl<T: ?Sized> TokioIo for T {}

/// A TCP listener; made by [`Runtime::tcp_listen`](crate::Runtime::tcp_listen).
///
/// Dropping the listener closes its socket.
pub trait TcpListener: Send + Sync + AsSocket + std::fmt::Debug + 'static {
    /// The stream type accepted connections have.
    type Stream: TcpStream;

    /// Accepts a new connection.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future before it completes loses no connection.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use anyrt_core::net::{TcpListener, TcpStream};
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// rt.block_on(async {
    ///     let listener = rt.tcp_listen("127.0.0.1:0").await?;
    ///     let client = rt.tcp_connect(listener.local_addr()?).await?;
    ///     let (server_side, peer) = listener.accept().await?;
    ///     assert_eq!(peer, client.local_addr()?);
    ///     assert_eq!(server_side.peer_addr()?, client.local_addr()?);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn accept(&self) -> impl Future<Output = io::Result<(Self::Stream, SocketAddr)>> + Send + '_;

    /// The address this listener is bound to.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use anyrt_core::net::TcpListener;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let listener = rt.block_on(rt.tcp_listen("127.0.0.1:0"))?;
    /// assert!(listener.local_addr()?.ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn local_addr(&self) -> io::Result<SocketAddr>;
}

/// A TCP connection: [`futures_io::AsyncRead`] + [`futures_io::AsyncWrite`], and
/// [`ReadUninit`](crate::io::ReadUninit) (reads into uninitialised buffers, nothing zeroed).
///
/// Reads and writes return `Pending` when the socket is not ready and never block inside
/// `poll`. `poll_close` shuts down the write half (the peer reads EOF). Dropping the stream
/// closes the socket.
pub trait TcpStream:
    futures_io::AsyncRead
    + crate::io::ReadUninit
    + futures_io::AsyncWrite
    + TokioIo
    + Send
    + Sync
    + Unpin
    + AsSocket
    + std::fmt::Debug
    + 'static
{
    /// The address of the remote peer.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyrt_core::Runtime;
    /// # use anyrt_core::net::{TcpListener, TcpStream};
    /// # let rt = anyrt_tokio::Tokio::new();
    /// # let (client, server) = rt.block_on(async {
    /// #     let l = rt.tcp_listen("127.0.0.1:0").await?;
    /// #     let c = rt.tcp_connect(l.local_addr()?).await?;
    /// #     let (s, _) = l.accept().await?;
    /// #     Ok::<_, std::io::Error>((c, s))
    /// # })?;
    /// assert_eq!(client.peer_addr()?, server.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn peer_addr(&self) -> io::Result<SocketAddr>;

    /// The local address of this end.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyrt_core::Runtime;
    /// # use anyrt_core::net::{TcpListener, TcpStream};
    /// # let rt = anyrt_tokio::Tokio::new();
    /// # let (client, server) = rt.block_on(async {
    /// #     let l = rt.tcp_listen("127.0.0.1:0").await?;
    /// #     let c = rt.tcp_connect(l.local_addr()?).await?;
    /// #     let (s, _) = l.accept().await?;
    /// #     Ok::<_, std::io::Error>((c, s))
    /// # })?;
    /// assert_eq!(client.local_addr()?, server.peer_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn local_addr(&self) -> io::Result<SocketAddr>;

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm when `on`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyrt_core::Runtime;
    /// # use anyrt_core::net::{TcpListener, TcpStream};
    /// # let rt = anyrt_tokio::Tokio::new();
    /// # let (client, server) = rt.block_on(async {
    /// #     let l = rt.tcp_listen("127.0.0.1:0").await?;
    /// #     let c = rt.tcp_connect(l.local_addr()?).await?;
    /// #     let (s, _) = l.accept().await?;
    /// #     Ok::<_, std::io::Error>((c, s))
    /// # })?;
    /// client.set_nodelay(true)?;
    /// assert!(client.nodelay()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn set_nodelay(&self, on: bool) -> io::Result<()>;

    /// Reads `TCP_NODELAY`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyrt_core::Runtime;
    /// # use anyrt_core::net::{TcpListener, TcpStream};
    /// # let rt = anyrt_tokio::Tokio::new();
    /// # let (client, server) = rt.block_on(async {
    /// #     let l = rt.tcp_listen("127.0.0.1:0").await?;
    /// #     let c = rt.tcp_connect(l.local_addr()?).await?;
    /// #     let (s, _) = l.accept().await?;
    /// #     Ok::<_, std::io::Error>((c, s))
    /// # })?;
    /// client.set_nodelay(false)?;
    /// assert!(!client.nodelay()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn nodelay(&self) -> io::Result<bool>;

    /// Shuts down the read half, the write half or both.
    ///
    /// After `shutdown(Shutdown::Write)` the peer reads EOF and can still write back.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::io::AsyncReadExt;
    /// use std::net::Shutdown;
    /// # use anyrt_core::Runtime;
    /// # use anyrt_core::net::{TcpListener, TcpStream};
    /// # let rt = anyrt_tokio::Tokio::new();
    /// # let (client, server) = rt.block_on(async {
    /// #     let l = rt.tcp_listen("127.0.0.1:0").await?;
    /// #     let c = rt.tcp_connect(l.local_addr()?).await?;
    /// #     let (s, _) = l.accept().await?;
    /// #     Ok::<_, std::io::Error>((c, s))
    /// # })?;
    /// # let mut server = server;
    /// client.shutdown(Shutdown::Write)?;
    /// let mut rest = Vec::new();
    /// rt.block_on(server.read_to_end(&mut rest))?; // EOF: the client will write no more
    /// assert!(rest.is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn shutdown(&self, how: Shutdown) -> io::Result<()>;

    /// Reads through a shared reference: what [`OwnedReadHalf`](super::OwnedReadHalf)
    /// uses, so that a stream split with [`into_split`](TcpStream::into_split) reads in
    /// one task while it writes in another, with no lock per call. One reader at a time.
    fn poll_read_shared(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;

    /// Writes through a shared reference, as [`poll_read_shared`](TcpStream::poll_read_shared)
    /// reads. One writer at a time.
    fn poll_write_shared(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;

    /// Polls a peek: the bytes that a read would return next, left in the socket.
    fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;

    /// Waits for data and copies it into `buf` without taking it from the socket: the next
    /// read returns the same bytes.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: nothing is consumed.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use anyrt_core::io::{AsyncReadExt, AsyncWriteExt};
    /// use anyrt_core::net::{TcpListener, TcpStream};
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// rt.block_on(async {
    ///     let listener = rt.tcp_listen("127.0.0.1:0").await?;
    ///     let mut client = rt.tcp_connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///     client.write_all(b"hello").await?;
    ///     let mut buf = [0u8; 5];
    ///     let n = server.peek(&mut buf).await?;
    ///     server.read_exact(&mut buf[..n]).await?; // the same bytes, now taken
    ///     assert_eq!(&buf[..n], &b"hello"[..n]);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn peek(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send
    where
        Self: Sized,
    {
        std::future::poll_fn(move |cx| self.poll_peek(cx, buf))
    }

    /// Whether writes of several buffers at once (`poll_write_vectored`) are one system
    /// call rather than one per buffer.
    fn is_write_vectored(&self) -> bool {
        false
    }

    /// Sets the IP time-to-live of outgoing packets (`IP_TTL`).
    #[cfg(unix)]
    fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        socket2::SockRef::from(&std::os::fd::AsFd::as_fd(self)).set_ttl_v4(ttl)
    }

    /// The IP time-to-live of outgoing packets.
    #[cfg(unix)]
    fn ttl(&self) -> io::Result<u32> {
        socket2::SockRef::from(&std::os::fd::AsFd::as_fd(self)).ttl_v4()
    }

    /// Sets `SO_LINGER`: how long a close waits for unsent data (`None`: the OS default).
    #[cfg(unix)]
    fn set_linger(&self, linger: Option<std::time::Duration>) -> io::Result<()> {
        socket2::SockRef::from(&std::os::fd::AsFd::as_fd(self)).set_linger(linger)
    }

    /// Reads `SO_LINGER`.
    #[cfg(unix)]
    fn linger(&self) -> io::Result<Option<std::time::Duration>> {
        socket2::SockRef::from(&std::os::fd::AsFd::as_fd(self)).linger()
    }

    /// Sets `SO_KEEPALIVE` (finer settings through `socket2::SockRef::from(&stream)`).
    #[cfg(unix)]
    fn set_keepalive(&self, on: bool) -> io::Result<()> {
        socket2::SockRef::from(&std::os::fd::AsFd::as_fd(self)).set_keepalive(on)
    }

    /// Reads `SO_KEEPALIVE`.
    #[cfg(unix)]
    fn keepalive(&self) -> io::Result<bool> {
        socket2::SockRef::from(&std::os::fd::AsFd::as_fd(self)).keepalive()
    }

    /// Splits the stream into a read half and a write half that can move to two tasks (no
    /// lock per read or write); [`OwnedReadHalf::reunite`](super::OwnedReadHalf::reunite)
    /// puts them back together. Dropping the write half shuts down the writing side (the
    /// peer reads EOF), as tokio's does.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use anyrt_core::io::{AsyncReadExt, AsyncWriteExt};
    /// use anyrt_core::net::{TcpListener, TcpStream};
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// rt.block_on(async {
    ///     let listener = rt.tcp_listen("127.0.0.1:0").await?;
    ///     let client = rt.tcp_connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///     let (mut read, mut write) = client.into_split();
    ///     let writer = rt.spawn(async move {
    ///         write.write_all(b"ping").await?;
    ///         Ok::<_, std::io::Error>(write)
    ///     });
    ///     let mut buf = [0u8; 4];
    ///     server.read_exact(&mut buf).await?;
    ///     server.write_all(b"pong").await?;
    ///     read.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"pong");
    ///     let write = writer.await??;
    ///     let _client = read.reunite(write).expect("halves of one stream");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn into_split(self) -> (super::OwnedReadHalf<Self>, super::OwnedWriteHalf<Self>)
    where
        Self: Sized,
    {
        super::split::split(self)
    }

    /// Reads as blocking-style code does, without a poll loop, where the backend can do
    /// so in the calling context; `None` where it cannot, and the caller then blocks on the
    /// [`AsyncRead`](futures_io::AsyncRead) future instead
    /// (`Runtime::block_on(stream.read(buf))`). Either way the bytes are the same.
    ///
    /// This is the backend contract behind [`crate::implicit::TcpStream`]'s `read` when
    /// no read timeout is set. The default returns `None`. A backend whose blocking-style
    /// code runs on stackful coroutines can do better on one of its coroutines: the
    /// non-blocking syscall, and on `WouldBlock` a park of the calling coroutine until the
    /// socket is ready (Green does this; an abort of the implicit task must still end the
    /// wait).
    ///
    /// ```
    /// use anyrt_core::net::TcpStream;
    /// use std::io;
    ///
    /// /// A blocking-style read through the direct path where there is one.
    /// fn read_now<S: TcpStream>(s: &S, buf: &mut [u8], slow: impl FnOnce() -> io::Result<usize>)
    ///     -> io::Result<usize>
    /// {
    ///     s.direct_blocking_read(buf).unwrap_or_else(slow)
    /// }
    /// ```
    fn direct_blocking_read(&self, buf: &mut [u8]) -> Option<io::Result<usize>> {
        let _ = buf;
        None
    }

    /// The write counterpart of [`direct_blocking_read`](TcpStream::direct_blocking_read):
    /// writes as blocking-style code does, or `None` where the backend cannot here.
    fn direct_blocking_write(&self, buf: &[u8]) -> Option<io::Result<usize>> {
        let _ = buf;
        None
    }
}

/// A UDP socket; made by [`Runtime::udp_bind`](crate::Runtime::udp_bind).
///
/// All methods take `&self`, so one socket can be shared between a sending and a receiving
/// task (wrap it in an `Arc`).
pub trait UdpSocket: Send + Sync + AsSocket + std::fmt::Debug + 'static {
    /// The address this socket is bound to.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyrt_core::Runtime;
    /// # use anyrt_core::net::UdpSocket;
    /// # let rt = anyrt_tokio::Tokio::new();
    /// # let (a, b) = rt.block_on(async {
    /// #     Ok::<_, std::io::Error>((rt.udp_bind("127.0.0.1:0").await?, rt.udp_bind("127.0.0.1:0").await?))
    /// # })?;
    /// assert!(a.local_addr()?.ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn local_addr(&self) -> io::Result<SocketAddr>;

    /// The address this socket is connected to (`NotConnected` if it is not).
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyrt_core::Runtime;
    /// # use anyrt_core::net::UdpSocket;
    /// # let rt = anyrt_tokio::Tokio::new();
    /// # let (a, b) = rt.block_on(async {
    /// #     Ok::<_, std::io::Error>((rt.udp_bind("127.0.0.1:0").await?, rt.udp_bind("127.0.0.1:0").await?))
    /// # })?;
    /// assert_eq!(a.peer_addr().unwrap_err().kind(), std::io::ErrorKind::NotConnected);
    /// rt.block_on(a.connect(b.local_addr()?))?;
    /// assert_eq!(a.peer_addr()?, b.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn peer_addr(&self) -> io::Result<SocketAddr>;

    /// Sends one datagram to `target`, returning the number of bytes sent.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped future has sent nothing, or the whole datagram.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyrt_core::Runtime;
    /// # use anyrt_core::net::UdpSocket;
    /// # let rt = anyrt_tokio::Tokio::new();
    /// # let (a, b) = rt.block_on(async {
    /// #     Ok::<_, std::io::Error>((rt.udp_bind("127.0.0.1:0").await?, rt.udp_bind("127.0.0.1:0").await?))
    /// # })?;
    /// rt.block_on(async {
    ///     a.send_to(b"ping", b.local_addr()?).await?;
    ///     let mut buf = [0u8; 16];
    ///     let (n, from) = b.recv_from(&mut buf).await?;
    ///     assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn send_to(
        &self,
        buf: &[u8],
        target: SocketAddr,
    ) -> impl Future<Output = io::Result<usize>> + Send;

    /// Receives one datagram, returning its length and sender. Bytes beyond `buf.len()` are
    /// discarded.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped future has received nothing.
    ///
    /// # Examples
    ///
    /// See [`send_to`](UdpSocket::send_to).
    fn recv_from(
        &self,
        buf: &mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SocketAddr)>> + Send;

    /// Sets the default peer for [`send`](UdpSocket::send) and the only source
    /// [`recv`](UdpSocket::recv) accepts.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the peer is set or not; nothing is sent.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyrt_core::Runtime;
    /// # use anyrt_core::net::UdpSocket;
    /// # let rt = anyrt_tokio::Tokio::new();
    /// # let (a, b) = rt.block_on(async {
    /// #     Ok::<_, std::io::Error>((rt.udp_bind("127.0.0.1:0").await?, rt.udp_bind("127.0.0.1:0").await?))
    /// # })?;
    /// rt.block_on(async {
    ///     a.connect(b.local_addr()?).await?;
    ///     b.connect(a.local_addr()?).await?;
    ///     a.send(b"hi").await?;
    ///     let mut buf = [0u8; 8];
    ///     let n = b.recv(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"hi");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn connect(&self, addr: SocketAddr) -> impl Future<Output = io::Result<()>> + Send;

    /// Sends one datagram to the connected peer.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped future has sent nothing, or the whole datagram.
    ///
    /// # Examples
    ///
    /// See [`connect`](UdpSocket::connect).
    fn send(&self, buf: &[u8]) -> impl Future<Output = io::Result<usize>> + Send;

    /// Receives one datagram from the connected peer.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped future has received nothing.
    ///
    /// # Examples
    ///
    /// See [`connect`](UdpSocket::connect).
    fn recv(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send;
}
