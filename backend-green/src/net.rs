//! The Green backend's sockets: [`TcpListener`], [`TcpStream`] and [`UdpSocket`], each a
//! std socket registered with may (see `source.rs`).

use std::future::Future;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use crate::source::Owned;

/// The Green backend's TCP listener.
#[derive(Debug)]
pub struct TcpListener {
    src: Owned<std::net::TcpListener>,
}

impl TcpListener {
    pub(crate) fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
        TcpListener::from_std(anyrt_core::backend::bind_tcp_listener(addr)?)
    }

    pub(crate) fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            src: Owned::new(listener)?,
        })
    }

    /// The std socket underneath (in non-blocking mode: anyrt's futures wait for it).
    pub fn get_ref(&self) -> &std::net::TcpListener {
        self.src.get()
    }

    /// Takes the std socket out of may's registration (it stays in non-blocking mode).
    ///
    /// # Errors
    ///
    /// The OS error if a task still waiting on the socket for a moment leaves only a
    /// duplicate descriptor to hand out, and none can be made (no descriptor left).
    pub fn into_inner(self) -> io::Result<std::net::TcpListener> {
        self.src.into_inner()
    }
}

impl anyrt_core::net::TcpListener for TcpListener {
    type Stream = TcpStream;

    fn accept(&self) -> impl Future<Output = io::Result<(TcpStream, SocketAddr)>> + Send + '_ {
        std::future::poll_fn(move |cx| {
            let (s, addr) = ready!(self.src.poll_io(cx, |l| l.accept()))?;
            Poll::Ready(Ok((TcpStream::from_std(s)?, addr)))
        })
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.src.get().local_addr()
    }
}

/// The Green backend's TCP stream: futures-io `AsyncRead` + `AsyncWrite`.
#[derive(Debug)]
pub struct TcpStream {
    src: Owned<std::net::TcpStream>,
}

impl TcpStream {
    pub(crate) fn from_std(s: std::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            src: Owned::new(s)?,
        })
    }

    /// Connects without blocking the task: a non-blocking `connect`, then a wait for the
    /// socket to become writable.
    pub(crate) async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
        use socket2::{Domain, Socket, Type};
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
        socket.set_nonblocking(true)?;
        match socket.connect(&addr.into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err(e),
        }
        let stream = TcpStream::from_std(socket.into())?;
        std::future::poll_fn(|cx| {
            stream.src.poll_io(cx, |s| {
                if let Some(e) = s.take_error()? {
                    return Err(e);
                }
                match s.peer_addr() {
                    Ok(_) => Ok(()),
                    // Still in progress.
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                        Err(io::ErrorKind::WouldBlock.into())
                    }
                    Err(e) => Err(e),
                }
            })
        })
        .await?;
        Ok(stream)
    }

    /// The std socket underneath (in non-blocking mode: anyrt's futures wait for it).
    pub fn get_ref(&self) -> &std::net::TcpStream {
        self.src.get()
    }

    /// Takes the std socket out of may's registration (it stays in non-blocking mode).
    ///
    /// # Errors
    ///
    /// The OS error if a task still waiting on the socket for a moment leaves only a
    /// duplicate descriptor to hand out, and none can be made (no descriptor left).
    pub fn into_inner(self) -> io::Result<std::net::TcpStream> {
        self.src.into_inner()
    }
}

impl anyrt_core::net::TcpStream for TcpStream {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.src.get().peer_addr()
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.src.get().local_addr()
    }

    fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.src.get().set_nodelay(on)
    }

    fn nodelay(&self) -> io::Result<bool> {
        self.src.get().nodelay()
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.src.get().shutdown(how)
    }

    fn poll_read_shared(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.src.poll_io(cx, |mut s| s.read(buf))
    }

    fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.src.poll_io(cx, |s| s.peek(buf))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_write_shared(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.src.poll_io(cx, |mut s| s.write(buf))
    }

    fn direct_blocking_read(&self, buf: &mut [u8]) -> Option<io::Result<usize>> {
        self.src.direct(|mut s| s.read(buf))
    }

    fn direct_blocking_write(&self, buf: &[u8]) -> Option<io::Result<usize>> {
        self.src.direct(|mut s| s.write(buf))
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
                self.src
                    .poll_io(cx, |s| anyrt_core::backend::recv_uninit(s, buf))
            }
        }
    };
}
pub(crate) use impl_read_uninit;

impl_read_uninit!(TcpStream);

impl futures_io::AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.src.poll_io(cx, |mut s| s.read(buf))
    }
}

impl futures_io::AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.src.poll_io(cx, |mut s| s.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.src.poll_io(cx, |mut s| s.write_vectored(bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Writes go straight to the socket: nothing is buffered here.
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.src.get().shutdown(Shutdown::Write))
    }
}

/// The Green backend's UDP socket.
#[derive(Debug)]
pub struct UdpSocket {
    src: Owned<std::net::UdpSocket>,
}

impl UdpSocket {
    pub(crate) fn bind(addr: SocketAddr) -> io::Result<UdpSocket> {
        UdpSocket::from_std(std::net::UdpSocket::bind(addr)?)
    }

    pub(crate) fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            src: Owned::new(socket)?,
        })
    }

    /// The std socket underneath (in non-blocking mode: anyrt's futures wait for it).
    pub fn get_ref(&self) -> &std::net::UdpSocket {
        self.src.get()
    }

    /// Takes the std socket out of may's registration (it stays in non-blocking mode).
    ///
    /// # Errors
    ///
    /// The OS error if a task still waiting on the socket for a moment leaves only a
    /// duplicate descriptor to hand out, and none can be made (no descriptor left).
    pub fn into_inner(self) -> io::Result<std::net::UdpSocket> {
        self.src.into_inner()
    }
}

impl anyrt_core::net::UdpSocket for UdpSocket {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.src.get().local_addr()
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.src.get().peer_addr()
    }

    fn send_to(
        &self,
        buf: &[u8],
        target: SocketAddr,
    ) -> impl Future<Output = io::Result<usize>> + Send {
        std::future::poll_fn(move |cx| self.src.poll_io(cx, |s| s.send_to(buf, target)))
    }

    fn recv_from(
        &self,
        buf: &mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SocketAddr)>> + Send {
        std::future::poll_fn(move |cx| self.src.poll_io(cx, |s| s.recv_from(buf)))
    }

    fn connect(&self, addr: SocketAddr) -> impl Future<Output = io::Result<()>> + Send {
        // A UDP connect only sets the default peer: it never blocks.
        std::future::ready(self.src.get().connect(addr))
    }

    fn send(&self, buf: &[u8]) -> impl Future<Output = io::Result<usize>> + Send {
        std::future::poll_fn(move |cx| self.src.poll_io(cx, |s| s.send(buf)))
    }

    fn recv(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send {
        std::future::poll_fn(move |cx| self.src.poll_io(cx, |s| s.recv(buf)))
    }
}

anyrt_core::impl_as_socket!(TcpListener, |s| s.src.get());
anyrt_core::impl_as_socket!(TcpStream, |s| s.src.get());
anyrt_core::impl_as_socket!(UdpSocket, |s| s.src.get());
