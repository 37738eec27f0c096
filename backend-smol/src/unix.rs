//! The Smol backend's Unix sockets: async-io's `Async` around std's, behind anyrt's traits.

use std::future::Future;
use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use anyrt_core::backend::{start_unix_connect, unix_datagram_connect, unix_send_to};
use async_io::Async;

/// The Smol backend's Unix stream listener.
#[derive(Debug)]
pub struct UnixListener {
    io: Async<std::os::unix::net::UnixListener>,
}

impl UnixListener {
    pub(crate) fn new(io: Async<std::os::unix::net::UnixListener>) -> Self {
        UnixListener { io }
    }

    /// The async-io listener inside.
    pub fn get_ref(&self) -> &Async<std::os::unix::net::UnixListener> {
        &self.io
    }

    /// Unwraps the async-io listener.
    pub fn into_inner(self) -> Async<std::os::unix::net::UnixListener> {
        self.io
    }
}

impl anyrt_core::net::UnixListener for UnixListener {
    type Stream = UnixStream;

    async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (s, addr) = self.io.accept().await?;
        Ok((UnixStream::new(s), addr))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }
}

/// The Smol backend's Unix stream.
#[derive(Debug)]
pub struct UnixStream {
    io: Async<std::os::unix::net::UnixStream>,
}

impl UnixStream {
    pub(crate) fn new(io: Async<std::os::unix::net::UnixStream>) -> Self {
        UnixStream { io }
    }

    pub(crate) async fn connect(path: &Path) -> io::Result<UnixStream> {
        let (socket, in_progress) = start_unix_connect(path)?;
        let io = Async::new(socket)?;
        if in_progress {
            io.writable().await?;
            if let Some(e) = io.get_ref().take_error()? {
                return Err(e);
            }
        }
        Ok(UnixStream::new(io))
    }

    /// The async-io stream inside.
    pub fn get_ref(&self) -> &Async<std::os::unix::net::UnixStream> {
        &self.io
    }

    /// Unwraps the async-io stream.
    pub fn into_inner(self) -> Async<std::os::unix::net::UnixStream> {
        self.io
    }
}

impl anyrt_core::net::UnixStream for UnixStream {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }
}

#[cfg(feature = "tokio-io")]
anyrt_core::impl_tokio_io!(UnixStream);

crate::net::impl_read_uninit!(UnixStream);

impl futures_io::AsyncRead for UnixStream {
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

impl futures_io::AsyncWrite for UnixStream {
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

/// The Smol backend's Unix datagram socket.
#[derive(Debug)]
pub struct UnixDatagram {
    io: Async<std::os::unix::net::UnixDatagram>,
}

impl UnixDatagram {
    pub(crate) fn new(io: Async<std::os::unix::net::UnixDatagram>) -> Self {
        UnixDatagram { io }
    }

    /// The async-io socket inside.
    pub fn get_ref(&self) -> &Async<std::os::unix::net::UnixDatagram> {
        &self.io
    }

    /// Unwraps the async-io socket.
    pub fn into_inner(self) -> Async<std::os::unix::net::UnixDatagram> {
        self.io
    }
}

impl anyrt_core::net::UnixDatagram for UnixDatagram {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    fn connect(&self, path: &Path) -> io::Result<()> {
        unix_datagram_connect(&self.io, path)
    }

    fn send_to(&self, buf: &[u8], target: &Path) -> impl Future<Output = io::Result<usize>> + Send {
        self.io.write_with(move |s| unix_send_to(s, buf, target))
    }

    fn recv_from(
        &self,
        buf: &mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SocketAddr)>> + Send {
        self.io.recv_from(buf)
    }

    fn send(&self, buf: &[u8]) -> impl Future<Output = io::Result<usize>> + Send {
        self.io.send(buf)
    }

    fn recv(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send {
        self.io.recv(buf)
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }
}

anyrt_core::impl_as_socket!(UnixListener, |s| &s.io);
anyrt_core::impl_as_socket!(UnixStream, |s| &s.io);
anyrt_core::impl_as_socket!(UnixDatagram, |s| &s.io);
