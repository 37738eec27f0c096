//! The Green backend's Unix sockets: [`UnixListener`], [`UnixStream`] and
//! [`UnixDatagram`], each a std socket registered with may (see `source.rs`), as the TCP
//! ones are.

use std::future::Future;
use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use anyrt_core::backend::{start_unix_connect, unix_datagram_connect, unix_send_to};

use crate::source::Owned;

/// The Green backend's Unix stream listener.
#[derive(Debug)]
pub struct UnixListener {
    src: Owned<std::os::unix::net::UnixListener>,
}

impl UnixListener {
    pub(crate) fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<Self> {
        Ok(UnixListener {
            src: Owned::new(listener)?,
        })
    }

    /// The std listener inside (in non-blocking mode).
    pub fn get_ref(&self) -> &std::os::unix::net::UnixListener {
        self.src.get()
    }

    /// The std listener, taken out of may's registration (still in non-blocking mode).
    ///
    /// # Errors
    ///
    /// As [`TcpListener::into_inner`](crate::TcpListener::into_inner).
    pub fn into_inner(self) -> io::Result<std::os::unix::net::UnixListener> {
        self.src.into_inner()
    }
}

impl anyrt_core::net::UnixListener for UnixListener {
    type Stream = UnixStream;

    fn accept(&self) -> impl Future<Output = io::Result<(UnixStream, SocketAddr)>> + Send + '_ {
        std::future::poll_fn(move |cx| {
            let (s, addr) = ready!(self.src.poll_io(cx, |l| l.accept()))?;
            Poll::Ready(Ok((UnixStream::from_std(s)?, addr)))
        })
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.src.get().local_addr()
    }
}

/// The Green backend's Unix stream.
#[derive(Debug)]
pub struct UnixStream {
    src: Owned<std::os::unix::net::UnixStream>,
}

impl UnixStream {
    pub(crate) fn from_std(s: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            src: Owned::new(s)?,
        })
    }

    pub(crate) async fn connect(path: &Path) -> io::Result<UnixStream> {
        let (socket, in_progress) = start_unix_connect(path)?;
        let stream = UnixStream::from_std(socket)?;
        if in_progress {
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
        }
        Ok(stream)
    }

    /// The std stream inside (in non-blocking mode).
    pub fn get_ref(&self) -> &std::os::unix::net::UnixStream {
        self.src.get()
    }

    /// The std stream, taken out of may's registration (still in non-blocking mode).
    ///
    /// # Errors
    ///
    /// As [`TcpListener::into_inner`](crate::TcpListener::into_inner).
    pub fn into_inner(self) -> io::Result<std::os::unix::net::UnixStream> {
        self.src.into_inner()
    }
}

impl anyrt_core::net::UnixStream for UnixStream {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.src.get().peer_addr()
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.src.get().local_addr()
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.src.get().shutdown(how)
    }

    fn direct_blocking_read(&self, buf: &mut [u8]) -> Option<io::Result<usize>> {
        self.src.direct(|mut s| s.read(buf))
    }

    fn direct_blocking_write(&self, buf: &[u8]) -> Option<io::Result<usize>> {
        self.src.direct(|mut s| s.write(buf))
    }
}

#[cfg(feature = "tokio-io")]
anyrt_core::impl_tokio_io!(UnixStream);

crate::net::impl_read_uninit!(UnixStream);

impl futures_io::AsyncRead for UnixStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.src.poll_io(cx, |mut s| s.read(buf))
    }
}

impl futures_io::AsyncWrite for UnixStream {
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

/// The Green backend's Unix datagram socket.
#[derive(Debug)]
pub struct UnixDatagram {
    src: Owned<std::os::unix::net::UnixDatagram>,
}

impl UnixDatagram {
    pub(crate) fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<Self> {
        Ok(UnixDatagram {
            src: Owned::new(socket)?,
        })
    }

    /// The std socket inside (in non-blocking mode).
    pub fn get_ref(&self) -> &std::os::unix::net::UnixDatagram {
        self.src.get()
    }

    /// The std socket, taken out of may's registration (still in non-blocking mode).
    ///
    /// # Errors
    ///
    /// As [`TcpListener::into_inner`](crate::TcpListener::into_inner).
    pub fn into_inner(self) -> io::Result<std::os::unix::net::UnixDatagram> {
        self.src.into_inner()
    }
}

impl anyrt_core::net::UnixDatagram for UnixDatagram {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.src.get().local_addr()
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.src.get().peer_addr()
    }

    fn connect(&self, path: &Path) -> io::Result<()> {
        unix_datagram_connect(self.src.get(), path)
    }

    fn send_to(&self, buf: &[u8], target: &Path) -> impl Future<Output = io::Result<usize>> + Send {
        std::future::poll_fn(move |cx| self.src.poll_io(cx, |s| unix_send_to(s, buf, target)))
    }

    fn recv_from(
        &self,
        buf: &mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SocketAddr)>> + Send {
        std::future::poll_fn(move |cx| self.src.poll_io(cx, |s| s.recv_from(buf)))
    }

    fn send(&self, buf: &[u8]) -> impl Future<Output = io::Result<usize>> + Send {
        std::future::poll_fn(move |cx| self.src.poll_io(cx, |s| s.send(buf)))
    }

    fn recv(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send {
        std::future::poll_fn(move |cx| self.src.poll_io(cx, |s| s.recv(buf)))
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.src.get().shutdown(how)
    }
}

anyrt_core::impl_as_socket!(UnixListener, |s| s.src.get());
anyrt_core::impl_as_socket!(UnixStream, |s| s.src.get());
anyrt_core::impl_as_socket!(UnixDatagram, |s| s.src.get());
