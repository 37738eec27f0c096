//! The Tokio backend's Unix sockets: tokio's, behind anyrt's traits.

use std::future::Future;
use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use anyrt_core::backend::{start_unix_connect, unix_datagram_connect, unix_send_to};
use tokio::io::{Interest, ReadBuf};

/// The Tokio backend's Unix stream listener: a [`tokio::net::UnixListener`].
#[derive(Debug)]
pub struct UnixListener {
    io: tokio::net::UnixListener,
    // Accepted streams register with this runtime, whoever polls `accept`.
    handle: tokio::runtime::Handle,
}

impl UnixListener {
    pub(crate) fn new(io: tokio::net::UnixListener, handle: tokio::runtime::Handle) -> Self {
        UnixListener { io, handle }
    }

    /// The tokio listener inside.
    ///
    /// ```
    /// use anyrt_core::Runtime;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let name = format!("\0anyrt-doc-tokio-unix-get-ref-{}", std::process::id());
    /// let l = rt.block_on(async { rt.unix_listen(&name) })?;
    /// assert!(l.get_ref().local_addr()?.as_pathname().is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn get_ref(&self) -> &tokio::net::UnixListener {
        &self.io
    }

    /// Unwraps the tokio listener.
    ///
    /// ```
    /// use anyrt_core::Runtime;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let name = format!("\0anyrt-doc-tokio-unix-into-inner-{}", std::process::id());
    /// let l = rt.block_on(async { rt.unix_listen(&name) })?;
    /// let _tokio_listener: tokio::net::UnixListener = l.into_inner();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_inner(self) -> tokio::net::UnixListener {
        self.io
    }
}

impl anyrt_core::net::UnixListener for UnixListener {
    type Stream = UnixStream;

    fn accept(&self) -> impl Future<Output = io::Result<(UnixStream, SocketAddr)>> + Send + '_ {
        std::future::poll_fn(move |cx| {
            let _guard = self.handle.enter();
            let (s, addr) = ready!(self.io.poll_accept(cx))?;
            Poll::Ready(Ok((UnixStream::new(s), addr.into())))
        })
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.io.local_addr()?.into())
    }
}

/// The Tokio backend's Unix stream: a [`tokio::net::UnixStream`], with futures-io's
/// traits and tokio's.
#[derive(Debug)]
pub struct UnixStream {
    io: tokio::net::UnixStream,
}

impl UnixStream {
    pub(crate) fn new(io: tokio::net::UnixStream) -> Self {
        UnixStream { io }
    }

    pub(crate) async fn connect(path: &Path) -> io::Result<UnixStream> {
        let (socket, in_progress) = start_unix_connect(path)?;
        let io = tokio::net::UnixStream::from_std(socket)?;
        if in_progress {
            io.writable().await?;
            if let Some(e) = io.take_error()? {
                return Err(e);
            }
        }
        Ok(UnixStream::new(io))
    }

    /// The tokio stream inside.
    ///
    /// ```
    /// use anyrt_core::Runtime;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let (a, _b) = rt.block_on(async { rt.unix_stream_pair() })?;
    /// assert!(a.get_ref().peer_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn get_ref(&self) -> &tokio::net::UnixStream {
        &self.io
    }

    /// Unwraps the tokio stream.
    ///
    /// ```
    /// use anyrt_core::Runtime;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let (a, _b) = rt.block_on(async { rt.unix_stream_pair() })?;
    /// let _tokio_stream: tokio::net::UnixStream = a.into_inner();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_inner(self) -> tokio::net::UnixStream {
        self.io
    }
}

impl anyrt_core::net::UnixStream for UnixStream {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.io.peer_addr()?.into())
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.io.local_addr()?.into())
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        socket2::SockRef::from(&self.io).shutdown(how)
    }
}

crate::net::impl_read_uninit!(UnixStream);

impl futures_io::AsyncRead for UnixStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        crate::net::poll_read_count(Pin::new(&mut self.io), cx, ReadBuf::new(buf))
    }
}

impl futures_io::AsyncWrite for UnixStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        tokio::io::AsyncWrite::poll_write(Pin::new(&mut self.io), cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        tokio::io::AsyncWrite::poll_write_vectored(Pin::new(&mut self.io), cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::io::AsyncWrite::poll_flush(Pin::new(&mut self.io), cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::io::AsyncWrite::poll_shutdown(Pin::new(&mut self.io), cx)
    }
}

impl tokio::io::AsyncRead for UnixStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for UnixStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The Tokio backend's Unix datagram socket: a [`tokio::net::UnixDatagram`].
#[derive(Debug)]
pub struct UnixDatagram {
    io: tokio::net::UnixDatagram,
}

impl UnixDatagram {
    pub(crate) fn new(io: tokio::net::UnixDatagram) -> Self {
        UnixDatagram { io }
    }

    /// The tokio socket inside.
    ///
    /// ```
    /// use anyrt_core::Runtime;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let socket = rt.block_on(async { rt.unix_datagram_unbound() })?;
    /// assert!(socket.get_ref().local_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn get_ref(&self) -> &tokio::net::UnixDatagram {
        &self.io
    }

    /// Unwraps the tokio socket.
    ///
    /// ```
    /// use anyrt_core::Runtime;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let socket = rt.block_on(async { rt.unix_datagram_unbound() })?;
    /// let _tokio_socket: tokio::net::UnixDatagram = socket.into_inner();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_inner(self) -> tokio::net::UnixDatagram {
        self.io
    }
}

impl anyrt_core::net::UnixDatagram for UnixDatagram {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.io.local_addr()?.into())
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.io.peer_addr()?.into())
    }

    fn connect(&self, path: &Path) -> io::Result<()> {
        unix_datagram_connect(&self.io, path)
    }

    fn send_to(&self, buf: &[u8], target: &Path) -> impl Future<Output = io::Result<usize>> + Send {
        self.io.async_io(Interest::WRITABLE, move || {
            unix_send_to(&self.io, buf, target)
        })
    }

    async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, addr) = self.io.recv_from(buf).await?;
        Ok((n, addr.into()))
    }

    fn send(&self, buf: &[u8]) -> impl Future<Output = io::Result<usize>> + Send {
        self.io.send(buf)
    }

    fn recv(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send {
        self.io.recv(buf)
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.shutdown(how)
    }
}

anyrt_core::impl_as_socket!(UnixListener, |s| &s.io);
anyrt_core::impl_as_socket!(UnixStream, |s| &s.io);
anyrt_core::impl_as_socket!(UnixDatagram, |s| &s.io);
