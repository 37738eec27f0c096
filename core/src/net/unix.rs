//! Unix domain socket traits: [`UnixListener`], [`UnixStream`] and [`UnixDatagram`].
//!
//! Paths name sockets as std's do; on Linux (and Android) a path whose first byte is NUL
//! (`"\0name"`) names a socket in the abstract namespace, as tokio and socket2 read it:
//! nothing is made on disk, and it goes away with its last socket. Addresses come back as
//! std's [`SocketAddr`](std::os::unix::net::SocketAddr) (`as_pathname()`, `is_unnamed()`,
//! and `as_abstract_name()` through `std::os::linux::net::SocketAddrExt`).

use std::future::Future;
use std::io;
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::Path;

use super::AsSocket;

/// A Unix stream listener; made by [`Runtime::unix_listen`](crate::Runtime::unix_listen)
/// or [`Runtime::unix_listener_from_std`](crate::Runtime::unix_listener_from_std).
///
/// Dropping the listener closes its socket but leaves its path on disk, as std and tokio
/// do: remove the file when you are done (a second bind to a path still there fails with
/// `AddrInUse`).
///
/// ```
/// use anyrt_core::Runtime;
/// use anyrt_core::net::UnixListener;
///
/// let dir = std::env::temp_dir().join(format!("anyrt-doc-listener-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("server.sock");
/// # let _ = std::fs::remove_file(&path);
/// let rt = anyrt_tokio::Tokio::new();
/// rt.block_on(async {
///     let listener = rt.unix_listen(&path)?;
///     let _client = rt.unix_connect(path.clone()).await?;
///     let (_server, peer) = listener.accept().await?;
///     assert!(peer.is_unnamed()); // the client did not bind a path
///     Ok::<(), std::io::Error>(())
/// })?;
/// std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait UnixListener: Send + Sync + AsSocket + std::fmt::Debug + 'static {
    /// The stream type accepted connections have.
    type Stream: UnixStream;

    /// Accepts a new connection. Cancel safe: dropping the future loses no connection.
    fn accept(&self) -> impl Future<Output = io::Result<(Self::Stream, SocketAddr)>> + Send + '_;

    /// The address this listener is bound to.
    fn local_addr(&self) -> io::Result<SocketAddr>;
}

/// A connected Unix stream socket: futures-io's `AsyncRead` and `AsyncWrite`, as
/// [`TcpStream`](super::TcpStream) is. Made by
/// [`Runtime::unix_connect`](crate::Runtime::unix_connect), an accept, or
/// [`Runtime::unix_stream_pair`](crate::Runtime::unix_stream_pair).
///
/// Closing the write side (`close()`, or `shutdown(Shutdown::Write)`) sends end-of-file to
/// the peer; the read side stays open.
///
/// ```
/// use anyrt_core::Runtime;
/// use anyrt_core::io::{AsyncReadExt, AsyncWriteExt};
/// use anyrt_core::net::UnixStream;
///
/// let rt = anyrt_tokio::Tokio::new();
/// rt.block_on(async {
///     let (mut a, mut b) = rt.unix_stream_pair()?;
///     a.write_all(b"ping").await?;
///     a.close().await?; // end-of-file for b
///     let mut got = Vec::new();
///     b.read_to_end(&mut got).await?;
///     assert_eq!(got, b"ping");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait UnixStream:
    futures_io::AsyncRead
    + crate::io::ReadUninit
    + futures_io::AsyncWrite
    + super::TokioIo
    + Send
    + Sync
    + Unpin
    + AsSocket
    + std::fmt::Debug
    + 'static
{
    /// The address of the peer (unnamed when the peer did not bind a path).
    fn peer_addr(&self) -> io::Result<SocketAddr>;

    /// This socket's own address (unnamed for a connecting client).
    fn local_addr(&self) -> io::Result<SocketAddr>;

    /// Shuts down the read side, the write side, or both.
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use anyrt_core::io::AsyncReadExt;
    /// use anyrt_core::net::UnixStream;
    /// use std::net::Shutdown;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// rt.block_on(async {
    ///     let (a, mut b) = rt.unix_stream_pair()?;
    ///     a.shutdown(Shutdown::Write)?;
    ///     assert_eq!(b.read(&mut [0; 8]).await?, 0);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn shutdown(&self, how: Shutdown) -> io::Result<()>;

    /// For backends only: a read that completes without a future, when the backend can
    /// block the calling implicit thread on this socket directly (Green: the syscall and
    /// may's own wait). `None` (the default) sends the caller to the general path. See
    /// [`TcpStream::direct_blocking_read`](super::TcpStream::direct_blocking_read).
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use anyrt_core::net::UnixStream;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let (a, _b) = rt.block_on(async { rt.unix_stream_pair() })?;
    /// assert!(a.direct_blocking_read(&mut [0; 4]).is_none()); // Tokio has no direct path
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn direct_blocking_read(&self, buf: &mut [u8]) -> Option<io::Result<usize>> {
        let _ = buf;
        None
    }

    /// For backends only: the write twin of
    /// [`direct_blocking_read`](UnixStream::direct_blocking_read).
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use anyrt_core::net::UnixStream;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let (a, _b) = rt.block_on(async { rt.unix_stream_pair() })?;
    /// assert!(a.direct_blocking_write(b"x").is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn direct_blocking_write(&self, buf: &[u8]) -> Option<io::Result<usize>> {
        let _ = buf;
        None
    }
}

/// A Unix datagram socket; made by
/// [`Runtime::unix_datagram_bind`](crate::Runtime::unix_datagram_bind),
/// [`unix_datagram_unbound`](crate::Runtime::unix_datagram_unbound) or
/// [`unix_datagram_pair`](crate::Runtime::unix_datagram_pair).
///
/// Datagrams keep their boundaries; a receive into a buffer shorter than the datagram
/// returns the start of it and drops the rest, as `recv` does.
///
/// ```
/// use anyrt_core::Runtime;
/// use anyrt_core::net::UnixDatagram;
///
/// let rt = anyrt_tokio::Tokio::new();
/// rt.block_on(async {
///     let (a, b) = rt.unix_datagram_pair()?;
///     a.send(b"one").await?;
///     a.send(b"two").await?;
///     let mut buf = [0; 16];
///     let n = b.recv(&mut buf).await?;
///     assert_eq!(&buf[..n], b"one");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait UnixDatagram: Send + Sync + AsSocket + std::fmt::Debug + 'static {
    /// This socket's own address (unnamed when unbound).
    fn local_addr(&self) -> io::Result<SocketAddr>;

    /// The address of the connected peer; `NotConnected` when not connected.
    fn peer_addr(&self) -> io::Result<SocketAddr>;

    /// Sets the default peer for [`send`](UnixDatagram::send) and filters what
    /// [`recv`](UnixDatagram::recv) receives. It does not block; a missing path fails with
    /// `NotFound`, a path with no socket bound with `ConnectionRefused`.
    fn connect(&self, path: &Path) -> io::Result<()>;

    /// Sends a datagram to the socket bound at `target` (a leading NUL byte names an
    /// abstract address on Linux).
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use anyrt_core::net::UnixDatagram;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// rt.block_on(async {
    ///     let name = format!("\0anyrt-doc-send-to-{}", std::process::id());
    ///     let server = rt.unix_datagram_bind(&name)?;
    ///     let client = rt.unix_datagram_unbound()?;
    ///     client.send_to(b"hi", name.as_ref()).await?;
    ///     let mut buf = [0; 8];
    ///     let (n, from) = server.recv_from(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"hi");
    ///     assert!(from.is_unnamed());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn send_to(&self, buf: &[u8], target: &Path) -> impl Future<Output = io::Result<usize>> + Send;

    /// Receives a datagram and the address it came from.
    fn recv_from(
        &self,
        buf: &mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SocketAddr)>> + Send;

    /// Sends a datagram to the connected peer.
    fn send(&self, buf: &[u8]) -> impl Future<Output = io::Result<usize>> + Send;

    /// Receives a datagram from the connected peer.
    fn recv(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send;

    /// Shuts down the read side, the write side, or both: a receive after
    /// `Shutdown::Read` returns 0 at once, a send after `Shutdown::Write` fails.
    fn shutdown(&self, how: Shutdown) -> io::Result<()>;
}
