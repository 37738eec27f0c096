//! Blocking-style Unix sockets: [`UnixListener`], [`UnixStream`], [`UnixDatagram`], as
//! std's `std::os::unix::net` has them, on any backend.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use super::{Timeouts, block_io, load_timeout, running, store_timeout, with_timeout};
use crate::Runtime;
use crate::io::{AsyncReadExt, AsyncWriteExt};
use crate::net;

/// A blocking-style Unix stream listener.
///
/// ```
/// use anyrt_core::implicit::{self, UnixListener, UnixStream};
/// use std::io::{Read, Write};
///
/// let rt = anyrt_tokio::Tokio::new();
/// let name = format!("\0anyrt-doc-implicit-unix-{}", std::process::id());
/// let listener = UnixListener::bind(&rt, &name)?;
/// let server = implicit::spawn(&rt, move || -> std::io::Result<()> {
///     let (mut stream, _) = listener.accept()?;
///     let mut buf = [0; 4];
///     stream.read_exact(&mut buf)?;
///     stream.write_all(&buf)
/// });
/// let mut client = UnixStream::connect(&rt, &name)?;
/// client.write_all(b"ping")?;
/// let mut back = [0; 4];
/// client.read_exact(&mut back)?;
/// assert_eq!(&back, b"ping");
/// server.join().unwrap()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixListener<R: Runtime> {
    rt: R,
    pub(super) inner: R::UnixListener,
}

impl<R: Runtime> UnixListener<R> {
    /// Binds a listener at `path`, as [`Runtime::unix_listen`] does.
    ///
    /// # Errors
    ///
    /// As [`Runtime::unix_listen`]'s (`AddrInUse` when a file is at `path`).
    pub fn bind<P: AsRef<Path>>(rt: &R, path: P) -> io::Result<Self> {
        running(rt)?;
        Ok(UnixListener {
            rt: rt.clone(),
            inner: rt.unix_listen(path)?,
        })
    }

    /// Wraps an async listener for blocking-style use.
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use anyrt_core::implicit::UnixListener;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let (std_listener, name) = {
    ///     let name = format!("\0anyrt-doc-implicit-unix-from-{}", std::process::id());
    ///     (anyrt_core::backend::bind_unix_listener(name.as_ref())?, name)
    /// };
    /// let async_listener = rt.block_on(async { rt.unix_listener_from_std(std_listener) })?;
    /// let listener = UnixListener::from_async(&rt, async_listener);
    /// assert!(listener.local_addr()?.as_pathname().is_none());
    /// # drop(name);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_async(rt: &R, listener: R::UnixListener) -> Self {
        UnixListener {
            rt: rt.clone(),
            inner: listener,
        }
    }

    /// Blocks until a client connects.
    ///
    /// # Errors
    ///
    /// The OS error of the accept, or `Other` once the runtime is shut down.
    pub fn accept(&self) -> io::Result<(UnixStream<R>, SocketAddr)> {
        running(&self.rt)?;
        let (s, addr) = block_io(&self.rt, net::UnixListener::accept(&self.inner))?;
        Ok((UnixStream::new(self.rt.clone(), s), addr))
    }

    /// An endless iterator of accepted connections, as std's `incoming`.
    pub fn incoming(&self) -> UnixIncoming<'_, R> {
        UnixIncoming { listener: self }
    }

    /// The address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        net::UnixListener::local_addr(&self.inner)
    }

    /// The async listener inside.
    pub fn into_inner(self) -> R::UnixListener {
        self.inner
    }
}

impl<R: Runtime> fmt::Debug for UnixListener<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

/// The iterator of [`UnixListener::incoming`]; it never returns `None`.
#[derive(Debug)]
pub struct UnixIncoming<'a, R: Runtime> {
    listener: &'a UnixListener<R>,
}

impl<R: Runtime> Iterator for UnixIncoming<'_, R> {
    type Item = io::Result<UnixStream<R>>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.listener.accept().map(|(s, _)| s))
    }
}

/// A blocking-style Unix stream: `std::io::Read + Write`, with std's read and write
/// timeouts.
///
/// ```
/// use anyrt_core::implicit::UnixStream;
/// use std::io::{Read, Write};
/// use std::time::Duration;
///
/// let rt = anyrt_tokio::Tokio::new();
/// let (mut a, mut b) = UnixStream::pair(&rt)?;
/// a.write_all(b"hi")?;
/// let mut buf = [0; 2];
/// b.read_exact(&mut buf)?;
/// assert_eq!(&buf, b"hi");
/// b.set_read_timeout(Some(Duration::from_millis(10)))?;
/// assert_eq!(b.read(&mut buf).unwrap_err().kind(), std::io::ErrorKind::TimedOut);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixStream<R: Runtime> {
    rt: R,
    pub(super) inner: R::UnixStream,
    timeouts: Timeouts,
}

impl<R: Runtime> UnixStream<R> {
    fn new(rt: R, inner: R::UnixStream) -> Self {
        UnixStream {
            rt,
            inner,
            timeouts: Timeouts::none(),
        }
    }

    /// A second handle to the same connection (the socket duplicated, as std's
    /// `try_clone`), for a reader thread and a writer thread; the timeouts set so far are
    /// copied, after that each handle keeps its own.
    ///
    /// ```
    /// use anyrt_core::implicit::{self, UnixStream};
    /// use std::io::{Read, Write};
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let (a, mut b) = UnixStream::pair(&rt)?;
    /// let mut writer = a.try_clone()?;
    /// let t = implicit::spawn(&rt, move || writer.write_all(b"cloned"));
    /// let mut got = [0u8; 6];
    /// b.read_exact(&mut got)?;
    /// assert_eq!(&got, b"cloned");
    /// t.join().unwrap()?;
    /// # drop(a);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_clone(&self) -> io::Result<UnixStream<R>> {
        let dup = std::os::fd::AsFd::as_fd(&self.inner).try_clone_to_owned()?;
        let inner = self
            .rt
            .unix_stream_from_std(std::os::unix::net::UnixStream::from(dup))?;
        let mut clone = UnixStream::new(self.rt.clone(), inner);
        clone.timeouts = self.timeouts.copied();
        Ok(clone)
    }

    /// Connects to the listener at `path`, as [`Runtime::unix_connect`] does.
    ///
    /// # Errors
    ///
    /// As [`Runtime::unix_connect`]'s (`NotFound`, `ConnectionRefused`).
    pub fn connect<P: AsRef<Path>>(rt: &R, path: P) -> io::Result<Self> {
        running(rt)?;
        let inner = block_io(rt, rt.unix_connect(path))?;
        Ok(UnixStream::new(rt.clone(), inner))
    }

    /// A connected pair, as [`Runtime::unix_stream_pair`].
    pub fn pair(rt: &R) -> io::Result<(Self, Self)> {
        running(rt)?;
        let (a, b) = rt.unix_stream_pair()?;
        Ok((
            UnixStream::new(rt.clone(), a),
            UnixStream::new(rt.clone(), b),
        ))
    }

    /// Wraps an async stream for blocking-style use.
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use anyrt_core::implicit::UnixStream;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let (a, _b) = rt.block_on(async { rt.unix_stream_pair() })?;
    /// let a = UnixStream::from_async(&rt, a);
    /// assert!(a.peer_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_async(rt: &R, stream: R::UnixStream) -> Self {
        UnixStream::new(rt.clone(), stream)
    }

    /// The async stream inside.
    pub fn into_inner(self) -> R::UnixStream {
        self.inner
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        net::UnixStream::peer_addr(&self.inner)
    }

    /// This socket's own address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        net::UnixStream::local_addr(&self.inner)
    }

    /// Shuts down the read side, the write side, or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        net::UnixStream::shutdown(&self.inner, how)
    }

    /// Bounds each `read` (`TimedOut` when it passes); `None` waits forever. A zero
    /// duration is `InvalidInput`, as in std.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        store_timeout(&self.timeouts.read, timeout)
    }

    /// Bounds each `write`, as [`set_read_timeout`](UnixStream::set_read_timeout) does
    /// each read.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        store_timeout(&self.timeouts.write, timeout)
    }

    /// The read timeout.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(load_timeout(&self.timeouts.read))
    }

    /// The write timeout.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(load_timeout(&self.timeouts.write))
    }
}

impl<R: Runtime> Read for UnixStream<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        running(&self.rt)?;
        if load_timeout(&self.timeouts.read).is_none()
            && let Some(r) = net::UnixStream::direct_blocking_read(&self.inner, buf)
        {
            return r;
        }
        with_timeout(&self.rt, &self.timeouts.read, self.inner.read(buf))
    }
}

impl<R: Runtime> Write for UnixStream<R> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        running(&self.rt)?;
        if load_timeout(&self.timeouts.write).is_none()
            && let Some(r) = net::UnixStream::direct_blocking_write(&self.inner, buf)
        {
            return r;
        }
        with_timeout(&self.rt, &self.timeouts.write, self.inner.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        running(&self.rt)?;
        with_timeout(&self.rt, &self.timeouts.write, self.inner.flush())
    }
}

impl<R: Runtime> fmt::Debug for UnixStream<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}

/// A blocking-style Unix datagram socket.
///
/// ```
/// use anyrt_core::implicit::UnixDatagram;
///
/// let rt = anyrt_tokio::Tokio::new();
/// let name = format!("\0anyrt-doc-implicit-dgram-{}", std::process::id());
/// let server = UnixDatagram::bind(&rt, &name)?;
/// let client = UnixDatagram::unbound(&rt)?;
/// client.send_to(b"hi", name.as_ref())?;
/// let mut buf = [0; 4];
/// let (n, _) = server.recv_from(&mut buf)?;
/// assert_eq!(&buf[..n], b"hi");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixDatagram<R: Runtime> {
    rt: R,
    pub(super) inner: R::UnixDatagram,
}

impl<R: Runtime> UnixDatagram<R> {
    fn new(rt: &R, inner: R::UnixDatagram) -> Self {
        UnixDatagram {
            rt: rt.clone(),
            inner,
        }
    }

    /// Binds a socket at `path`, as [`Runtime::unix_datagram_bind`].
    pub fn bind<P: AsRef<Path>>(rt: &R, path: P) -> io::Result<Self> {
        running(rt)?;
        Ok(UnixDatagram::new(rt, rt.unix_datagram_bind(path)?))
    }

    /// A socket bound to no address, as [`Runtime::unix_datagram_unbound`].
    pub fn unbound(rt: &R) -> io::Result<Self> {
        running(rt)?;
        Ok(UnixDatagram::new(rt, rt.unix_datagram_unbound()?))
    }

    /// A connected pair, as [`Runtime::unix_datagram_pair`].
    pub fn pair(rt: &R) -> io::Result<(Self, Self)> {
        running(rt)?;
        let (a, b) = rt.unix_datagram_pair()?;
        Ok((UnixDatagram::new(rt, a), UnixDatagram::new(rt, b)))
    }

    /// Wraps an async socket for blocking-style use.
    pub fn from_async(rt: &R, socket: R::UnixDatagram) -> Self {
        UnixDatagram::new(rt, socket)
    }

    /// The async socket inside.
    pub fn into_inner(self) -> R::UnixDatagram {
        self.inner
    }

    /// Sets the default peer (see [`net::UnixDatagram::connect`]).
    pub fn connect<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        running(&self.rt)?;
        net::UnixDatagram::connect(&self.inner, path.as_ref())
    }

    /// Sends a datagram to the socket bound at `target`, blocking while the socket's
    /// buffer is full.
    pub fn send_to(&self, buf: &[u8], target: &Path) -> io::Result<usize> {
        running(&self.rt)?;
        block_io(
            &self.rt,
            net::UnixDatagram::send_to(&self.inner, buf, target),
        )
    }

    /// Blocks until a datagram arrives; returns its length and sender.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        running(&self.rt)?;
        block_io(&self.rt, net::UnixDatagram::recv_from(&self.inner, buf))
    }

    /// Sends a datagram to the connected peer.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        running(&self.rt)?;
        block_io(&self.rt, net::UnixDatagram::send(&self.inner, buf))
    }

    /// Blocks until a datagram from the connected peer arrives.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        running(&self.rt)?;
        block_io(&self.rt, net::UnixDatagram::recv(&self.inner, buf))
    }

    /// This socket's own address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        net::UnixDatagram::local_addr(&self.inner)
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        net::UnixDatagram::peer_addr(&self.inner)
    }

    /// Shuts down the read side, the write side, or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        net::UnixDatagram::shutdown(&self.inner, how)
    }
}

impl<R: Runtime> fmt::Debug for UnixDatagram<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixDatagram")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}
