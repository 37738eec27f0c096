use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};

/// A TCP listener; made by [`Runtime::tcp_listen`](crate::Runtime::tcp_listen).
///
/// Dropping the listener closes its socket.
pub trait TcpListener: Send + Sync + 'static {
    /// The stream type accepted connections have.
    type Stream: TcpStream;

    /// Accepts a new connection.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future before it completes loses no connection.
    fn accept(&self) -> impl Future<Output = io::Result<(Self::Stream, SocketAddr)>> + Send + '_;

    /// The address this listener is bound to.
    fn local_addr(&self) -> io::Result<SocketAddr>;
}

/// A TCP connection: [`futures_io::AsyncRead`] + [`futures_io::AsyncWrite`].
///
/// Reads and writes return `Pending` when the socket is not ready and never block inside
/// `poll`. `poll_close` shuts down the write half (the peer reads EOF). Dropping the stream
/// closes the socket.
pub trait TcpStream:
    futures_io::AsyncRead + futures_io::AsyncWrite + Send + Unpin + 'static
{
    /// The address of the remote peer.
    fn peer_addr(&self) -> io::Result<SocketAddr>;

    /// The local address of this end.
    fn local_addr(&self) -> io::Result<SocketAddr>;

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm when `on`).
    fn set_nodelay(&self, on: bool) -> io::Result<()>;

    /// Reads `TCP_NODELAY`.
    fn nodelay(&self) -> io::Result<bool>;

    /// Shuts down the read half, the write half or both.
    ///
    /// After `shutdown(Shutdown::Write)` the peer reads EOF and can still write back.
    fn shutdown(&self, how: Shutdown) -> io::Result<()>;

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
pub trait UdpSocket: Send + Sync + 'static {
    /// The address this socket is bound to.
    fn local_addr(&self) -> io::Result<SocketAddr>;

    /// The address this socket is connected to (`NotConnected` if it is not).
    fn peer_addr(&self) -> io::Result<SocketAddr>;

    /// Sends one datagram to `target`, returning the number of bytes sent.
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
    fn recv_from(
        &self,
        buf: &mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SocketAddr)>> + Send;

    /// Sets the default peer for [`send`](UdpSocket::send) and the only source
    /// [`recv`](UdpSocket::recv) accepts.
    fn connect(&self, addr: SocketAddr) -> impl Future<Output = io::Result<()>> + Send;

    /// Sends one datagram to the connected peer.
    fn send(&self, buf: &[u8]) -> impl Future<Output = io::Result<usize>> + Send;

    /// Receives one datagram from the connected peer.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped future has received nothing.
    fn recv(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send;
}
