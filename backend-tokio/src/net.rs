use std::future::Future;
use std::io::{self, IoSlice};
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::ReadBuf;

/// The Tokio backend's TCP listener.
#[derive(Debug)]
pub struct TcpListener {
    io: tokio::net::TcpListener,
    // Accepted streams register with this runtime, whoever polls `accept`.
    handle: tokio::runtime::Handle,
}

impl TcpListener {
    pub(crate) fn new(io: tokio::net::TcpListener, handle: tokio::runtime::Handle) -> Self {
        TcpListener { io, handle }
    }

    /// The tokio listener inside.
    pub fn get_ref(&self) -> &tokio::net::TcpListener {
        &self.io
    }

    /// Unwraps the tokio listener.
    pub fn into_inner(self) -> tokio::net::TcpListener {
        self.io
    }
}

impl anyrt_core::net::TcpListener for TcpListener {
    type Stream = TcpStream;

    fn accept(&self) -> impl Future<Output = io::Result<(TcpStream, SocketAddr)>> + Send + '_ {
        std::future::poll_fn(move |cx| {
            let _guard = self.handle.enter();
            let (s, addr) = ready!(self.io.poll_accept(cx))?;
            Poll::Ready(Ok((TcpStream::new(s), addr)))
        })
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }
}

/// The Tokio backend's TCP stream: futures-io and tokio `AsyncRead` + `AsyncWrite`.
#[derive(Debug)]
pub struct TcpStream {
    io: tokio::net::TcpStream,
}

impl TcpStream {
    pub(crate) fn new(io: tokio::net::TcpStream) -> Self {
        TcpStream { io }
    }

    /// The tokio stream inside.
    pub fn get_ref(&self) -> &tokio::net::TcpStream {
        &self.io
    }

    /// Unwraps the tokio stream.
    pub fn into_inner(self) -> tokio::net::TcpStream {
        self.io
    }
}

impl anyrt_core::net::TcpStream for TcpStream {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.peer_addr()
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }

    fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.io.set_nodelay(on)
    }

    fn nodelay(&self) -> io::Result<bool> {
        self.io.nodelay()
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        socket2::SockRef::from(&self.io).shutdown(how)
    }

    fn poll_read_shared(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.io.poll_read_ready(cx))?;
            match self.io.try_read(buf) {
                // `try_read` cleared the readiness: the next poll registers the waker.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                r => return Poll::Ready(r),
            }
        }
    }

    fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut rb = ReadBuf::new(buf);
        self.io.poll_peek(cx, &mut rb)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_write_shared(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.io.poll_write_ready(cx))?;
            match self.io.try_write(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                r => return Poll::Ready(r),
            }
        }
    }
}

/// Reads from a tokio stream into `rb` and returns how many bytes it filled: the
/// futures-io `poll_read` and the `ReadUninit` of this backend's streams.
pub(crate) fn poll_read_count(
    io: Pin<&mut impl tokio::io::AsyncRead>,
    cx: &mut Context<'_>,
    mut rb: ReadBuf<'_>,
) -> Poll<io::Result<usize>> {
    ready!(io.poll_read(cx, &mut rb))?;
    Poll::Ready(Ok(rb.filled().len()))
}

/// `ReadUninit` for a stream type of this backend (TCP and Unix share the body).
macro_rules! impl_read_uninit {
    ($ty:ty) => {
        // SAFETY: tokio's `ReadBuf` counts as filled only bytes the socket wrote into it.
        #[allow(unsafe_code)]
        unsafe impl anyrt_core::io::ReadUninit for $ty {
            fn poll_read_uninit(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [std::mem::MaybeUninit<u8>],
            ) -> Poll<io::Result<usize>> {
                $crate::net::poll_read_count(Pin::new(&mut self.io), cx, ReadBuf::uninit(buf))
            }
        }
    };
}
pub(crate) use impl_read_uninit;

impl_read_uninit!(TcpStream);

impl futures_io::AsyncRead for TcpStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        poll_read_count(Pin::new(&mut self.io), cx, ReadBuf::new(buf))
    }
}

impl futures_io::AsyncWrite for TcpStream {
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

impl tokio::io::AsyncRead for TcpStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for TcpStream {
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

/// The Tokio backend's UDP socket.
#[derive(Debug)]
pub struct UdpSocket {
    io: tokio::net::UdpSocket,
}

impl UdpSocket {
    pub(crate) fn new(io: tokio::net::UdpSocket) -> Self {
        UdpSocket { io }
    }

    /// The tokio socket inside.
    pub fn get_ref(&self) -> &tokio::net::UdpSocket {
        &self.io
    }

    /// Unwraps the tokio socket.
    pub fn into_inner(self) -> tokio::net::UdpSocket {
        self.io
    }
}

impl anyrt_core::net::UdpSocket for UdpSocket {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.peer_addr()
    }

    fn send_to(
        &self,
        buf: &[u8],
        target: SocketAddr,
    ) -> impl Future<Output = io::Result<usize>> + Send {
        self.io.send_to(buf, target)
    }

    fn recv_from(
        &self,
        buf: &mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SocketAddr)>> + Send {
        self.io.recv_from(buf)
    }

    fn connect(&self, addr: SocketAddr) -> impl Future<Output = io::Result<()>> + Send {
        self.io.connect(addr)
    }

    fn send(&self, buf: &[u8]) -> impl Future<Output = io::Result<usize>> + Send {
        self.io.send(buf)
    }

    fn recv(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send {
        self.io.recv(buf)
    }
}

anyrt_core::impl_as_socket!(TcpListener, |s| &s.io);
anyrt_core::impl_as_socket!(TcpStream, |s| &s.io);
anyrt_core::impl_as_socket!(UdpSocket, |s| &s.io);
