//! Runtimes behind a pointer: [`DynRuntime`], the object-safe face of every [`Runtime`],
//! and the type-erased sockets and handles it hands out.
//!
//! [`Runtime`] has generic methods and associated types, so it cannot be a trait object.
//! `DynRuntime` can: its futures are boxed (hand-boxed [`BoxFuture`]s, no `async-trait`:
//! the same boxes, without a macro between the reader and the signatures), a spawned task's
//! output travels as `Box<dyn Any + Send>`, and its sockets are [`AnyTcpStream`],
//! [`AnyTcpListener`] and [`AnyUdpSocket`] (and on Unix `AnyUnixStream`,
//! `AnyUnixListener`, `AnyUnixDatagram`). Every `Runtime` is a `DynRuntime` (a blanket
//! implementation); the `anyrt` facade's `AnyRuntime` wraps an `Arc<dyn DynRuntime>` and is
//! a `Runtime` again, so generic code accepts it.
//!
//! What a dynamic call costs, against the static backend: a spawn boxes the future, its
//! output and the handle (three allocations); a sleep, a timeout's timer, an accept and
//! each UDP call box their future (one allocation each). Reads and writes on an
//! `AnyTcpStream` are one virtual call each and allocate nothing.
//!
//! ```
//! use anyrt_core::Runtime;
//! use anyrt_core::dynamic::DynRuntime;
//! use std::sync::Arc;
//!
//! // Stored without a type parameter, as gRPC or quinn store "a runtime".
//! let rt: Arc<dyn DynRuntime> = Arc::new(anyrt_tokio::Tokio::new());
//! assert_eq!(rt.dyn_name(), "tokio");
//! ```

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::net::{AddrQuery, TcpListener, TcpStream, UdpSocket};
use crate::{JoinHandle, Runtime};

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::{AnyUnixDatagram, AnyUnixListener, AnyUnixStream};

/// A boxed, `Send` future: what [`DynRuntime`]'s async methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A boxed timer: what [`DynRuntime::dyn_sleep`] returns (`Sync`, as every
/// [`Runtime::Sleep`] is).
pub type BoxSleep = Pin<Box<dyn crate::time::FusedFuture<Output = ()> + Send + Sync>>;

/// A task's output, type-erased.
pub type AnyOutput = Box<dyn Any + Send>;

/// A closure with a type-erased output, for [`DynRuntime::dyn_spawn_blocking`] and
/// [`DynRuntime::dyn_spawn_implicit`].
pub type AnyClosure = Box<dyn FnOnce() -> AnyOutput + Send>;

/// The handle of a task spawned through [`DynRuntime`]: the backend's own handle, boxed, so
/// detach-on-drop, `abort` and panics are the backend's.
pub type DynJoinHandle = Box<dyn JoinHandle<AnyOutput>>;

/// The object-safe face of a [`Runtime`]; implemented for every `Runtime`.
///
/// Each method is the `Runtime` method of the same name without the `dyn_` prefix; the
/// `anyrt` facade's `AnyRuntime` turns it back into a `Runtime`.
pub trait DynRuntime: Send + Sync + 'static {
    /// [`Runtime::name`].
    fn dyn_name(&self) -> &'static str;
    /// [`Runtime::spawn`], with a type-erased output.
    fn dyn_spawn(&self, future: BoxFuture<'static, AnyOutput>) -> DynJoinHandle;
    /// [`Runtime::spawn_blocking`], with a type-erased output.
    fn dyn_spawn_blocking(&self, f: AnyClosure) -> DynJoinHandle;
    /// [`Runtime::spawn_implicit`], with a type-erased output.
    fn dyn_spawn_implicit(&self, f: AnyClosure) -> DynJoinHandle;
    /// [`Runtime::block_on`] of a future that leaves its output where its caller finds it
    /// (the future need not be `Send`).
    fn dyn_block_on(&self, future: Pin<&mut (dyn Future<Output = ()> + '_)>);
    /// [`Runtime::is_shut_down`].
    fn dyn_is_shut_down(&self) -> bool;
    /// [`Runtime::now`].
    fn dyn_now(&self) -> Instant;
    /// [`Runtime::sleep`].
    fn dyn_sleep(&self, duration: Duration) -> BoxSleep;
    /// [`Runtime::sleep_until`].
    fn dyn_sleep_until(&self, deadline: Instant) -> BoxSleep;
    /// [`Runtime::tcp_listen`].
    fn dyn_tcp_listen(&self, addr: AddrQuery) -> BoxFuture<'static, io::Result<AnyTcpListener>>;
    /// [`Runtime::tcp_connect`].
    fn dyn_tcp_connect(&self, addr: AddrQuery) -> BoxFuture<'static, io::Result<AnyTcpStream>>;
    /// [`Runtime::udp_bind`].
    fn dyn_udp_bind(&self, addr: AddrQuery) -> BoxFuture<'static, io::Result<AnyUdpSocket>>;
    /// [`Runtime::tcp_listener_from_std`].
    fn dyn_tcp_listener_from_std(
        &self,
        listener: std::net::TcpListener,
    ) -> io::Result<AnyTcpListener>;
    /// [`Runtime::tcp_stream_from_std`].
    fn dyn_tcp_stream_from_std(&self, stream: std::net::TcpStream) -> io::Result<AnyTcpStream>;
    /// [`Runtime::udp_socket_from_std`].
    fn dyn_udp_socket_from_std(&self, socket: std::net::UdpSocket) -> io::Result<AnyUdpSocket>;
    /// [`Runtime::unix_connect`], its future boxed.
    #[cfg(unix)]
    fn dyn_unix_connect(
        &self,
        path: std::path::PathBuf,
    ) -> BoxFuture<'static, io::Result<AnyUnixStream>>;
    /// [`Runtime::unix_listener_from_std`].
    #[cfg(unix)]
    fn dyn_unix_listener_from_std(
        &self,
        listener: std::os::unix::net::UnixListener,
    ) -> io::Result<AnyUnixListener>;
    /// [`Runtime::unix_stream_from_std`].
    #[cfg(unix)]
    fn dyn_unix_stream_from_std(
        &self,
        stream: std::os::unix::net::UnixStream,
    ) -> io::Result<AnyUnixStream>;
    /// [`Runtime::unix_datagram_from_std`].
    #[cfg(unix)]
    fn dyn_unix_datagram_from_std(
        &self,
        socket: std::os::unix::net::UnixDatagram,
    ) -> io::Result<AnyUnixDatagram>;
    /// The runtime itself, to downcast to its concrete type (to call its `shutdown`, say).
    fn dyn_as_any(&self) -> &dyn Any;
}

impl<R: Runtime> DynRuntime for R {
    fn dyn_name(&self) -> &'static str {
        self.name()
    }

    fn dyn_spawn(&self, future: BoxFuture<'static, AnyOutput>) -> DynJoinHandle {
        Box::new(self.spawn(future))
    }

    fn dyn_spawn_blocking(&self, f: AnyClosure) -> DynJoinHandle {
        Box::new(self.spawn_blocking(f))
    }

    fn dyn_spawn_implicit(&self, f: AnyClosure) -> DynJoinHandle {
        Box::new(self.spawn_implicit(f))
    }

    fn dyn_block_on(&self, future: Pin<&mut (dyn Future<Output = ()> + '_)>) {
        self.block_on(future);
    }

    fn dyn_is_shut_down(&self) -> bool {
        self.is_shut_down()
    }

    fn dyn_now(&self) -> Instant {
        self.now()
    }

    fn dyn_sleep(&self, duration: Duration) -> BoxSleep {
        Box::pin(self.sleep(duration))
    }

    fn dyn_sleep_until(&self, deadline: Instant) -> BoxSleep {
        Box::pin(self.sleep_until(deadline))
    }

    fn dyn_tcp_listen(&self, addr: AddrQuery) -> BoxFuture<'static, io::Result<AnyTcpListener>> {
        let rt = self.clone();
        Box::pin(async move { Ok(AnyTcpListener::new(rt.tcp_listen(addr).await?)) })
    }

    fn dyn_tcp_connect(&self, addr: AddrQuery) -> BoxFuture<'static, io::Result<AnyTcpStream>> {
        let rt = self.clone();
        Box::pin(async move { Ok(AnyTcpStream::new(rt.tcp_connect(addr).await?)) })
    }

    fn dyn_udp_bind(&self, addr: AddrQuery) -> BoxFuture<'static, io::Result<AnyUdpSocket>> {
        let rt = self.clone();
        Box::pin(async move { Ok(AnyUdpSocket::new(rt.udp_bind(addr).await?)) })
    }

    fn dyn_tcp_listener_from_std(
        &self,
        listener: std::net::TcpListener,
    ) -> io::Result<AnyTcpListener> {
        Ok(AnyTcpListener::new(self.tcp_listener_from_std(listener)?))
    }

    fn dyn_tcp_stream_from_std(&self, stream: std::net::TcpStream) -> io::Result<AnyTcpStream> {
        Ok(AnyTcpStream::new(self.tcp_stream_from_std(stream)?))
    }

    fn dyn_udp_socket_from_std(&self, socket: std::net::UdpSocket) -> io::Result<AnyUdpSocket> {
        Ok(AnyUdpSocket::new(self.udp_socket_from_std(socket)?))
    }

    #[cfg(unix)]
    fn dyn_unix_connect(
        &self,
        path: std::path::PathBuf,
    ) -> BoxFuture<'static, io::Result<AnyUnixStream>> {
        let connected = self.unix_connect(path);
        Box::pin(async move { Ok(AnyUnixStream::new(connected.await?)) })
    }

    #[cfg(unix)]
    fn dyn_unix_listener_from_std(
        &self,
        listener: std::os::unix::net::UnixListener,
    ) -> io::Result<AnyUnixListener> {
        Ok(AnyUnixListener::new(self.unix_listener_from_std(listener)?))
    }

    #[cfg(unix)]
    fn dyn_unix_stream_from_std(
        &self,
        stream: std::os::unix::net::UnixStream,
    ) -> io::Result<AnyUnixStream> {
        Ok(AnyUnixStream::new(self.unix_stream_from_std(stream)?))
    }

    #[cfg(unix)]
    fn dyn_unix_datagram_from_std(
        &self,
        socket: std::os::unix::net::UnixDatagram,
    ) -> io::Result<AnyUnixDatagram> {
        Ok(AnyUnixDatagram::new(self.unix_datagram_from_std(socket)?))
    }

    fn dyn_as_any(&self) -> &dyn Any {
        self
    }
}

/// Any backend's TCP stream, boxed: reads and writes are one virtual call each.
pub struct AnyTcpStream(Box<dyn TcpStream>);

#[cfg(feature = "tokio-io")]
crate::impl_tokio_io!(AnyTcpStream);

impl AnyTcpStream {
    /// Boxes `stream`.
    pub fn new(stream: impl TcpStream) -> AnyTcpStream {
        AnyTcpStream(Box::new(stream))
    }
}

impl fmt::Debug for AnyTcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyTcpStream")
            .field("local_addr", &self.0.local_addr().ok())
            .field("peer_addr", &self.0.peer_addr().ok())
            .finish()
    }
}

// SAFETY: forwards to the boxed stream, which keeps the trait's promise.
#[allow(unsafe_code)]
unsafe impl crate::io::ReadUninit for AnyTcpStream {
    fn poll_read_uninit(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        crate::io::ReadUninit::poll_read_uninit(Pin::new(&mut *self.0), cx, buf)
    }
}

impl futures_io::AsyncRead for AnyTcpStream {
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

impl futures_io::AsyncWrite for AnyTcpStream {
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

impl TcpStream for AnyTcpStream {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.peer_addr()
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }

    fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.0.set_nodelay(on)
    }

    fn nodelay(&self) -> io::Result<bool> {
        self.0.nodelay()
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.0.shutdown(how)
    }

    fn poll_read_shared(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.0.poll_read_shared(cx, buf)
    }

    fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.0.poll_peek(cx, buf)
    }

    fn is_write_vectored(&self) -> bool {
        TcpStream::is_write_vectored(&*self.0)
    }

    fn poll_write_shared(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.0.poll_write_shared(cx, buf)
    }

    fn direct_blocking_read(&self, buf: &mut [u8]) -> Option<io::Result<usize>> {
        self.0.direct_blocking_read(buf)
    }

    fn direct_blocking_write(&self, buf: &[u8]) -> Option<io::Result<usize>> {
        self.0.direct_blocking_write(buf)
    }
}

/// The object-safe face of a [`TcpListener`]: its accept future boxed.
trait DynTcpListener: Send + Sync + crate::net::AsSocket + 'static {
    fn dyn_accept(&self) -> BoxFuture<'_, io::Result<(AnyTcpStream, SocketAddr)>>;
    fn dyn_local_addr(&self) -> io::Result<SocketAddr>;
}

impl<L: TcpListener> DynTcpListener for L {
    fn dyn_accept(&self) -> BoxFuture<'_, io::Result<(AnyTcpStream, SocketAddr)>> {
        Box::pin(async move {
            let (s, addr) = self.accept().await?;
            Ok((AnyTcpStream::new(s), addr))
        })
    }

    fn dyn_local_addr(&self) -> io::Result<SocketAddr> {
        self.local_addr()
    }
}

/// Any backend's TCP listener, boxed; each accept boxes its future.
pub struct AnyTcpListener(Box<dyn DynTcpListener>);

impl AnyTcpListener {
    /// Boxes `listener`.
    pub fn new(listener: impl TcpListener) -> AnyTcpListener {
        AnyTcpListener(Box::new(listener))
    }
}

impl fmt::Debug for AnyTcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyTcpListener")
            .field("local_addr", &self.0.dyn_local_addr().ok())
            .finish()
    }
}

impl TcpListener for AnyTcpListener {
    type Stream = AnyTcpStream;

    fn accept(&self) -> impl Future<Output = io::Result<(AnyTcpStream, SocketAddr)>> + Send + '_ {
        self.0.dyn_accept()
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.dyn_local_addr()
    }
}

/// The object-safe face of a [`UdpSocket`]: its futures boxed.
trait DynUdpSocket: Send + Sync + crate::net::AsSocket + 'static {
    fn dyn_local_addr(&self) -> io::Result<SocketAddr>;
    fn dyn_peer_addr(&self) -> io::Result<SocketAddr>;
    fn dyn_send_to<'a>(
        &'a self,
        buf: &'a [u8],
        target: SocketAddr,
    ) -> BoxFuture<'a, io::Result<usize>>;
    fn dyn_recv_from<'a>(
        &'a self,
        buf: &'a mut [u8],
    ) -> BoxFuture<'a, io::Result<(usize, SocketAddr)>>;
    fn dyn_connect(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<()>>;
    fn dyn_send<'a>(&'a self, buf: &'a [u8]) -> BoxFuture<'a, io::Result<usize>>;
    fn dyn_recv<'a>(&'a self, buf: &'a mut [u8]) -> BoxFuture<'a, io::Result<usize>>;
}

impl<U: UdpSocket> DynUdpSocket for U {
    fn dyn_local_addr(&self) -> io::Result<SocketAddr> {
        self.local_addr()
    }

    fn dyn_peer_addr(&self) -> io::Result<SocketAddr> {
        self.peer_addr()
    }

    fn dyn_send_to<'a>(
        &'a self,
        buf: &'a [u8],
        target: SocketAddr,
    ) -> BoxFuture<'a, io::Result<usize>> {
        Box::pin(self.send_to(buf, target))
    }

    fn dyn_recv_from<'a>(
        &'a self,
        buf: &'a mut [u8],
    ) -> BoxFuture<'a, io::Result<(usize, SocketAddr)>> {
        Box::pin(self.recv_from(buf))
    }

    fn dyn_connect(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<()>> {
        Box::pin(self.connect(addr))
    }

    fn dyn_send<'a>(&'a self, buf: &'a [u8]) -> BoxFuture<'a, io::Result<usize>> {
        Box::pin(self.send(buf))
    }

    fn dyn_recv<'a>(&'a self, buf: &'a mut [u8]) -> BoxFuture<'a, io::Result<usize>> {
        Box::pin(self.recv(buf))
    }
}

/// Any backend's UDP socket, boxed; each call boxes its future.
pub struct AnyUdpSocket(Box<dyn DynUdpSocket>);

impl AnyUdpSocket {
    /// Boxes `socket`.
    pub fn new(socket: impl UdpSocket) -> AnyUdpSocket {
        AnyUdpSocket(Box::new(socket))
    }
}

impl fmt::Debug for AnyUdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyUdpSocket")
            .field("local_addr", &self.0.dyn_local_addr().ok())
            .finish()
    }
}

impl UdpSocket for AnyUdpSocket {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.dyn_local_addr()
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.dyn_peer_addr()
    }

    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.0.dyn_send_to(buf, target).await
    }

    async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.0.dyn_recv_from(buf).await
    }

    fn connect(&self, addr: SocketAddr) -> impl Future<Output = io::Result<()>> + Send {
        self.0.dyn_connect(addr)
    }

    async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.0.dyn_send(buf).await
    }

    async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.dyn_recv(buf).await
    }
}

/// The handle of a task spawned through a [`DynRuntime`]: the backend's boxed handle,
/// its output turned back into `T`. Made by its `spawn` functions, which box exactly a `T`.
pub struct AnyJoinHandle<T> {
    inner: DynJoinHandle,
    _output: std::marker::PhantomData<fn() -> T>,
}

impl<T: Send + 'static> AnyJoinHandle<T> {
    fn new(inner: DynJoinHandle) -> AnyJoinHandle<T> {
        AnyJoinHandle {
            inner,
            _output: std::marker::PhantomData,
        }
    }

    /// [`Runtime::spawn`] through `rt`.
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use anyrt_core::dynamic::{AnyJoinHandle, DynRuntime};
    ///
    /// let tokio = anyrt_tokio::Tokio::new();
    /// let rt: &dyn DynRuntime = &tokio;
    /// let handle = AnyJoinHandle::spawn(rt, async { 6 * 7 });
    /// assert_eq!(tokio.block_on(handle).unwrap(), 42);
    /// ```
    pub fn spawn<F>(rt: &dyn DynRuntime, future: F) -> AnyJoinHandle<T>
    where
        F: Future<Output = T> + Send + 'static,
    {
        AnyJoinHandle::new(
            rt.dyn_spawn(Box::pin(async move { Box::new(future.await) as AnyOutput })),
        )
    }

    /// [`Runtime::spawn_blocking`] through `rt`.
    pub fn spawn_blocking<F>(rt: &dyn DynRuntime, f: F) -> AnyJoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
    {
        AnyJoinHandle::new(rt.dyn_spawn_blocking(Box::new(move || Box::new(f()) as AnyOutput)))
    }

    /// [`Runtime::spawn_implicit`] through `rt`.
    pub fn spawn_implicit<F>(rt: &dyn DynRuntime, f: F) -> AnyJoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
    {
        AnyJoinHandle::new(rt.dyn_spawn_implicit(Box::new(move || Box::new(f()) as AnyOutput)))
    }
}

impl<T> fmt::Debug for AnyJoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyJoinHandle")
            .field("finished", &self.inner.is_finished())
            .finish()
    }
}

impl<T: Send + 'static> Future for AnyJoinHandle<T> {
    type Output = Result<T, crate::JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut *self.inner).poll(cx).map(|r| {
            r.map(|out| match out.downcast::<T>() {
                Ok(v) => *v,
                // `AnyRuntime` boxes exactly a `T` for an `AnyJoinHandle<T>`.
                Err(_) => unreachable!("a task's output is the type its handle names"),
            })
        })
    }
}

impl<T: Send + 'static> JoinHandle<T> for AnyJoinHandle<T> {
    fn abort(&self) {
        self.inner.abort();
    }

    fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }
}

crate::impl_as_socket!(AnyTcpStream, |s| &*s.0);
crate::impl_as_socket!(AnyTcpListener, |s| &*s.0);
crate::impl_as_socket!(AnyUdpSocket, |s| &*s.0);
