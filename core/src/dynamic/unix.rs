//! Type-erased Unix sockets: [`AnyUnixListener`], [`AnyUnixStream`], [`AnyUnixDatagram`].

use std::fmt;
use std::future::Future;
use std::io;
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::BoxFuture;
use crate::net::{UnixDatagram, UnixListener, UnixStream};

/// Any backend's Unix stream, behind a pointer: what `DynRuntime` hands out. Reads and
/// writes are one virtual call each and allocate nothing.
///
/// ```
/// use anyrt_core::Runtime;
/// use anyrt_core::dynamic::AnyUnixStream;
/// use anyrt_core::io::{AsyncReadExt, AsyncWriteExt};
///
/// let rt = anyrt_tokio::Tokio::new();
/// rt.block_on(async {
///     let (a, b) = rt.unix_stream_pair()?;
///     let (mut a, mut b) = (AnyUnixStream::new(a), AnyUnixStream::new(b));
///     a.write_all(b"hi").await?;
///     let mut buf = [0; 2];
///     b.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hi");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct AnyUnixStream(Box<dyn UnixStream>);

#[cfg(feature = "tokio-io")]
crate::impl_tokio_io!(AnyUnixStream);

impl AnyUnixStream {
    /// Erases `stream`'s type.
    pub fn new(stream: impl UnixStream) -> AnyUnixStream {
        AnyUnixStream(Box::new(stream))
    }
}

impl fmt::Debug for AnyUnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyUnixStream")
            .field("local_addr", &self.0.local_addr().ok())
            .field("peer_addr", &self.0.peer_addr().ok())
            .finish()
    }
}

// SAFETY: forwards to the boxed stream, which keeps the trait's promise.
#[allow(unsafe_code)]
unsafe impl crate::io::ReadUninit for AnyUnixStream {
    fn poll_read_uninit(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        crate::io::ReadUninit::poll_read_uninit(Pin::new(&mut *self.0), cx, buf)
    }
}

impl futures_io::AsyncRead for AnyUnixStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        futures_io::AsyncRead::poll_read(Pin::new(&mut *self.0), cx, buf)
    }

    fn poll_read_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [io::IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_read_vectored(cx, bufs)
    }
}

impl futures_io::AsyncWrite for AnyUnixStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        futures_io::AsyncWrite::poll_write(Pin::new(&mut *self.0), cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        futures_io::AsyncWrite::poll_write_vectored(Pin::new(&mut *self.0), cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures_io::AsyncWrite::poll_flush(Pin::new(&mut *self.0), cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures_io::AsyncWrite::poll_close(Pin::new(&mut *self.0), cx)
    }
}

impl UnixStream for AnyUnixStream {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.peer_addr()
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.0.shutdown(how)
    }

    fn direct_blocking_read(&self, buf: &mut [u8]) -> Option<io::Result<usize>> {
        self.0.direct_blocking_read(buf)
    }

    fn direct_blocking_write(&self, buf: &[u8]) -> Option<io::Result<usize>> {
        self.0.direct_blocking_write(buf)
    }
}

trait DynUnixListener: Send + Sync + crate::net::AsSocket + 'static {
    fn dyn_accept(&self) -> BoxFuture<'_, io::Result<(AnyUnixStream, SocketAddr)>>;
    fn dyn_local_addr(&self) -> io::Result<SocketAddr>;
}

impl<L: UnixListener> DynUnixListener for L {
    fn dyn_accept(&self) -> BoxFuture<'_, io::Result<(AnyUnixStream, SocketAddr)>> {
        Box::pin(async move {
            let (s, addr) = self.accept().await?;
            Ok((AnyUnixStream::new(s), addr))
        })
    }

    fn dyn_local_addr(&self) -> io::Result<SocketAddr> {
        self.local_addr()
    }
}

/// Any backend's Unix listener, behind a pointer. Each accept boxes its future.
///
/// ```
/// use anyrt_core::Runtime;
/// use anyrt_core::dynamic::AnyUnixListener;
/// use anyrt_core::net::UnixListener;
///
/// let rt = anyrt_tokio::Tokio::new();
/// let name = format!("\0anyrt-doc-any-unix-listener-{}", std::process::id());
/// rt.block_on(async {
///     let listener = AnyUnixListener::new(rt.unix_listen(&name)?);
///     let _client = rt.unix_connect(name.clone()).await?;
///     let (_server, _) = listener.accept().await?;
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct AnyUnixListener(Box<dyn DynUnixListener>);

impl AnyUnixListener {
    /// Erases `listener`'s type.
    pub fn new(listener: impl UnixListener) -> AnyUnixListener {
        AnyUnixListener(Box::new(listener))
    }
}

impl fmt::Debug for AnyUnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyUnixListener")
            .field("local_addr", &self.0.dyn_local_addr().ok())
            .finish()
    }
}

impl UnixListener for AnyUnixListener {
    type Stream = AnyUnixStream;

    fn accept(&self) -> impl Future<Output = io::Result<(AnyUnixStream, SocketAddr)>> + Send + '_ {
        self.0.dyn_accept()
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.dyn_local_addr()
    }
}

trait DynUnixDatagram: Send + Sync + crate::net::AsSocket + 'static {
    fn dyn_local_addr(&self) -> io::Result<SocketAddr>;
    fn dyn_peer_addr(&self) -> io::Result<SocketAddr>;
    fn dyn_connect(&self, path: &Path) -> io::Result<()>;
    fn dyn_send_to<'a>(
        &'a self,
        buf: &'a [u8],
        target: &'a Path,
    ) -> BoxFuture<'a, io::Result<usize>>;
    fn dyn_recv_from<'a>(
        &'a self,
        buf: &'a mut [u8],
    ) -> BoxFuture<'a, io::Result<(usize, SocketAddr)>>;
    fn dyn_send<'a>(&'a self, buf: &'a [u8]) -> BoxFuture<'a, io::Result<usize>>;
    fn dyn_recv<'a>(&'a self, buf: &'a mut [u8]) -> BoxFuture<'a, io::Result<usize>>;
    fn dyn_shutdown(&self, how: Shutdown) -> io::Result<()>;
}

impl<D: UnixDatagram> DynUnixDatagram for D {
    fn dyn_local_addr(&self) -> io::Result<SocketAddr> {
        self.local_addr()
    }

    fn dyn_peer_addr(&self) -> io::Result<SocketAddr> {
        self.peer_addr()
    }

    fn dyn_connect(&self, path: &Path) -> io::Result<()> {
        self.connect(path)
    }

    fn dyn_send_to<'a>(
        &'a self,
        buf: &'a [u8],
        target: &'a Path,
    ) -> BoxFuture<'a, io::Result<usize>> {
        Box::pin(self.send_to(buf, target))
    }

    fn dyn_recv_from<'a>(
        &'a self,
        buf: &'a mut [u8],
    ) -> BoxFuture<'a, io::Result<(usize, SocketAddr)>> {
        Box::pin(self.recv_from(buf))
    }

    fn dyn_send<'a>(&'a self, buf: &'a [u8]) -> BoxFuture<'a, io::Result<usize>> {
        Box::pin(self.send(buf))
    }

    fn dyn_recv<'a>(&'a self, buf: &'a mut [u8]) -> BoxFuture<'a, io::Result<usize>> {
        Box::pin(self.recv(buf))
    }

    fn dyn_shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.shutdown(how)
    }
}

/// Any backend's Unix datagram socket, behind a pointer. Each send and receive boxes its
/// future.
///
/// ```
/// use anyrt_core::Runtime;
/// use anyrt_core::dynamic::AnyUnixDatagram;
/// use anyrt_core::net::UnixDatagram;
///
/// let rt = anyrt_tokio::Tokio::new();
/// rt.block_on(async {
///     let (a, b) = rt.unix_datagram_pair()?;
///     let (a, b) = (AnyUnixDatagram::new(a), AnyUnixDatagram::new(b));
///     a.send(b"hi").await?;
///     assert_eq!(b.recv(&mut [0; 4]).await?, 2);
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct AnyUnixDatagram(Box<dyn DynUnixDatagram>);

impl AnyUnixDatagram {
    /// Erases `socket`'s type.
    pub fn new(socket: impl UnixDatagram) -> AnyUnixDatagram {
        AnyUnixDatagram(Box::new(socket))
    }
}

impl fmt::Debug for AnyUnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyUnixDatagram")
            .field("local_addr", &self.0.dyn_local_addr().ok())
            .finish()
    }
}

impl UnixDatagram for AnyUnixDatagram {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.dyn_local_addr()
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.dyn_peer_addr()
    }

    fn connect(&self, path: &Path) -> io::Result<()> {
        self.0.dyn_connect(path)
    }

    async fn send_to(&self, buf: &[u8], target: &Path) -> io::Result<usize> {
        self.0.dyn_send_to(buf, target).await
    }

    async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.0.dyn_recv_from(buf).await
    }

    async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.0.dyn_send(buf).await
    }

    async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.dyn_recv(buf).await
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.0.dyn_shutdown(how)
    }
}

crate::impl_as_socket!(AnyUnixStream, |s| &*s.0);
crate::impl_as_socket!(AnyUnixListener, |s| &*s.0);
crate::impl_as_socket!(AnyUnixDatagram, |s| &*s.0);
