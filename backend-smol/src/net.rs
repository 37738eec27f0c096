use std::future::Future;
use std::io::{self, IoSlice};
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};

use async_io::Async;

/// The Smol backend's TCP listener.
#[derive(Debug)]
pub struct TcpListener {
    io: Async<std::net::TcpListener>,
}

impl TcpListener {
    pub(crate) fn new(io: Async<std::net::TcpListener>) -> Self {
        TcpListener { io }
    }

    /// The async-io listener inside.
    pub fn get_ref(&self) -> &Async<std::net::TcpListener> {
        &self.io
    }

    /// Unwraps the async-io listener.
    pub fn into_inner(self) -> Async<std::net::TcpListener> {
        self.io
    }
}

impl anyrt_core::net::TcpListener for TcpListener {
    type Stream = TcpStream;

    async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (s, addr) = self.io.accept().await?;
        Ok((TcpStream::new(s), addr))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }
}

/// The Smol backend's TCP stream: futures-io `AsyncRead` + `AsyncWrite`.
#[derive(Debug)]
pub struct TcpStream {
    io: Async<std::net::TcpStream>,
}

impl TcpStream {
    pub(crate) fn new(io: Async<std::net::TcpStream>) -> Self {
        TcpStream { io }
    }

    /// The async-io stream inside.
    pub fn get_ref(&self) -> &Async<std::net::TcpStream> {
        &self.io
    }

    /// Unwraps the async-io stream.
    pub fn into_inner(self) -> Async<std::net::TcpStream> {
        self.io
    }
}

impl anyrt_core::net::TcpStream for TcpStream {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(on)
    }

    fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    fn poll_read_shared(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        // async-io reads and writes through `&Async<TcpStream>` as well.
        futures_io::AsyncRead::poll_read(Pin::new(&mut &self.io), cx, buf)
    }

    fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        loop {
            match self.io.get_ref().peek(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::task::ready!(self.io.poll_readable(cx))?;
                }
                r => return Poll::Ready(r),
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_write_shared(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        futures_io::AsyncWrite::poll_write(Pin::new(&mut &self.io), cx, buf)
    }
}

#[cfg(feature = "tokio-io")]
anyrt_core::impl_tokio_io!(TcpStream);

/// `ReadUninit` for a stream type of this backend (TCP and Unix share the body).
macro_rules! impl_read_uninit {
    ($ty:ty) => {
        // SAFETY: `recv` reports the bytes the kernel wrote into `buf`.
        #[allow(unsafe_code)]
        unsafe impl anyrt_core::io::ReadUninit for $ty {
            fn poll_read_uninit(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [std::mem::MaybeUninit<u8>],
            ) -> Poll<io::Result<usize>> {
                // As async-io's own `poll_read`: try, and wait for readiness only on `WouldBlock`.
                loop {
                    match anyrt_core::backend::recv_uninit(self.io.get_ref(), buf) {
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            std::task::ready!(self.io.poll_readable(cx))?;
                        }
                        r => return Poll::Ready(r),
                    }
                }
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
        Pin::new(&mut self.io).poll_read(cx, buf)
    }

    fn poll_read_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [io::IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_read_vectored(cx, bufs)
    }
}

impl futures_io::AsyncWrite for TcpStream {
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

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // async-io's close only flushes; the contract (and tokio) shut the write half.
        std::task::ready!(Pin::new(&mut self.io).poll_flush(cx))?;
        Poll::Ready(self.io.get_ref().shutdown(Shutdown::Write))
    }
}

/// The Smol backend's UDP socket.
#[derive(Debug)]
pub struct UdpSocket {
    io: Async<std::net::UdpSocket>,
}

impl UdpSocket {
    pub(crate) fn new(io: Async<std::net::UdpSocket>) -> Self {
        UdpSocket { io }
    }

    /// The async-io socket inside.
    pub fn get_ref(&self) -> &Async<std::net::UdpSocket> {
        &self.io
    }

    /// Unwraps the async-io socket.
    pub fn into_inner(self) -> Async<std::net::UdpSocket> {
        self.io
    }
}

impl anyrt_core::net::UdpSocket for UdpSocket {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
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
        // A UDP connect only sets the default peer: it never blocks.
        std::future::ready(self.io.get_ref().connect(addr))
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
