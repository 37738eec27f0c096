//! Addresses and listeners, done once for every backend.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use crate::Runtime;
use crate::net::{AddrQuery, Addrs, ToSocketAddrs};

/// Binds a TCP listener socket the way every backend does: `SO_REUSEADDR` (as std and
/// tokio set it on Unix, so a restarted server can bind at once), and a listen backlog of
/// 1024 (tokio's; std's 128 drops connections in a burst of clients). For backends that
/// wrap a `std` listener.
///
/// ```
/// let l = anyrt_core::backend::bind_tcp_listener("127.0.0.1:0".parse().unwrap())?;
/// assert!(l.local_addr()?.port() > 0);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn bind_tcp_listener(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    crate::net::ListenOptions::default().bind(addr)
}

/// The body of a backend's `tcp_listen`, `tcp_connect` or `udp_bind`: converts `addr`
/// now (so the future is `Send + 'static` whatever `A` is), then resolves it (host names
/// through [`Runtime::spawn_blocking`]) and calls `op` on each address in turn until one
/// succeeds. The error is the last address's, as `std::net::TcpStream::connect` reports.
///
/// ```
/// use std::future::Future;
///
/// use anyrt_core::Runtime;
/// use anyrt_core::backend::{bind_tcp_listener, each_addr};
/// use anyrt_core::net::ToSocketAddrs;
///
/// /// A backend's `tcp_listen`, less the wrapping in its own listener type.
/// fn listen<R: Runtime>(
///     rt: &R,
///     addr: impl ToSocketAddrs,
/// ) -> impl Future<Output = std::io::Result<std::net::TcpListener>> + Send {
///     each_addr(rt, addr, |a| async move { bind_tcp_listener(a) })
/// }
/// ```
pub fn each_addr<R, A, T, F, Fut>(
    rt: &R,
    addr: A,
    op: F,
) -> impl Future<Output = io::Result<T>> + Send + 'static + use<R, A, T, F, Fut>
where
    R: Runtime,
    A: ToSocketAddrs,
    T: Send,
    F: FnMut(SocketAddr) -> Fut + Send + 'static,
    Fut: Future<Output = io::Result<T>> + Send,
{
    let query = addr.to_addr_query();
    let rt = rt.clone();
    async move { query.try_each(&rt, op).await }
}

/// Resolves `query`: a host name is looked up with the system resolver inside
/// [`Runtime::spawn_blocking`], so the lookup never blocks a worker.
pub async fn resolve<R: Runtime>(query: AddrQuery, rt: &R) -> io::Result<Addrs> {
    query.resolve(rt).await
}

/// Binds a Unix stream listener at `path` the way every backend does: a listen backlog of
/// 1024 (as [`bind_tcp_listener`]), and a leading NUL byte naming an abstract address on
/// Linux (as tokio and socket2 read it; std's `bind` refuses such a path).
///
/// ```
/// let dir = std::env::temp_dir().join(format!("anyrt-doc-bind-unix-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let l = anyrt_core::backend::bind_unix_listener(&dir.join("s.sock"))?;
/// assert!(l.local_addr()?.as_pathname().is_some());
/// std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[cfg(unix)]
pub fn bind_unix_listener(path: &std::path::Path) -> io::Result<std::os::unix::net::UnixListener> {
    use socket2::{Domain, SockAddr, Socket, Type};
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    socket.bind(&SockAddr::unix(path)?)?;
    socket.listen(1024)?;
    Ok(std::os::unix::net::UnixListener::from(
        std::os::fd::OwnedFd::from(socket),
    ))
}

/// Binds a Unix datagram socket at `path` (a leading NUL byte: an abstract address on
/// Linux), as [`bind_unix_listener`] binds a listener.
///
/// ```
/// let name = format!("\0anyrt-doc-bind-dgram-{}", std::process::id());
/// let d = anyrt_core::backend::bind_unix_datagram(name.as_ref())?;
/// assert!(d.local_addr()?.as_pathname().is_none()); // abstract: no path on disk
/// # Ok::<(), std::io::Error>(())
/// ```
#[cfg(unix)]
pub fn bind_unix_datagram(path: &std::path::Path) -> io::Result<std::os::unix::net::UnixDatagram> {
    use socket2::{Domain, SockAddr, Socket, Type};
    let socket = Socket::new(Domain::UNIX, Type::DGRAM, None)?;
    socket.bind(&SockAddr::unix(path)?)?;
    Ok(std::os::unix::net::UnixDatagram::from(
        std::os::fd::OwnedFd::from(socket),
    ))
}

/// Starts a non-blocking connect of a Unix stream socket to `path` (a leading NUL byte:
/// an abstract address on Linux). Returns the socket, in non-blocking mode, and whether
/// the connect is still in progress: then the backend waits until the socket is writable
/// and reads `take_error()`. On Linux a Unix connect never is: it completes or fails at
/// once. A listener whose backlog is full fails it with `WouldBlock` (as tokio's
/// `UnixStream::connect` reports), a missing path with `NotFound`, a path with no listener
/// behind it with `ConnectionRefused`.
///
/// ```
/// let name = format!("\0anyrt-doc-start-connect-{}", std::process::id());
/// let _l = anyrt_core::backend::bind_unix_listener(name.as_ref())?;
/// let (_stream, in_progress) = anyrt_core::backend::start_unix_connect(name.as_ref())?;
/// # #[cfg(target_os = "linux")]
/// assert!(!in_progress);
/// # Ok::<(), std::io::Error>(())
/// ```
#[cfg(unix)]
pub fn start_unix_connect(
    path: &std::path::Path,
) -> io::Result<(std::os::unix::net::UnixStream, bool)> {
    use socket2::{Domain, SockAddr, Socket, Type};
    let addr = SockAddr::unix(path)?;
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    let in_progress = match socket.connect(&addr) {
        Ok(()) => false,
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => true,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!(
                    "connecting to the Unix socket {}: its listener's backlog is full",
                    path.display()
                ),
            ));
        }
        Err(e) => return Err(e),
    };
    Ok((
        std::os::unix::net::UnixStream::from(std::os::fd::OwnedFd::from(socket)),
        in_progress,
    ))
}

/// One non-blocking `sendto` of `buf` on the Unix datagram socket `socket` to `target` (a
/// leading NUL byte: an abstract address on Linux, which std's `send_to` refuses). For a
/// backend's `UnixDatagram::send_to`, inside its wait for writability.
///
/// ```
/// let (a, b) = std::os::unix::net::UnixDatagram::pair()?;
/// let name = format!("\0anyrt-doc-send-to-{}", std::process::id());
/// let server = anyrt_core::backend::bind_unix_datagram(name.as_ref())?;
/// assert_eq!(anyrt_core::backend::unix_send_to(&a, b"hi", name.as_ref())?, 2);
/// assert_eq!(server.recv(&mut [0; 4])?, 2);
/// # drop(b);
/// # Ok::<(), std::io::Error>(())
/// ```
#[cfg(unix)]
pub fn unix_send_to(
    socket: &impl std::os::fd::AsFd,
    buf: &[u8],
    target: &std::path::Path,
) -> io::Result<usize> {
    socket2::SockRef::from(socket).send_to(buf, &socket2::SockAddr::unix(target)?)
}

/// Connects the Unix datagram socket `socket` to `target` (a leading NUL byte: an
/// abstract address on Linux). A datagram connect never blocks.
///
/// ```
/// let name = format!("\0anyrt-doc-dgram-connect-{}", std::process::id());
/// let server = anyrt_core::backend::bind_unix_datagram(name.as_ref())?;
/// let client = std::os::unix::net::UnixDatagram::unbound()?;
/// anyrt_core::backend::unix_datagram_connect(&client, name.as_ref())?;
/// client.send(b"hi")?;
/// assert_eq!(server.recv(&mut [0; 4])?, 2);
/// # Ok::<(), std::io::Error>(())
/// ```
#[cfg(unix)]
pub fn unix_datagram_connect(
    socket: &impl std::os::fd::AsFd,
    target: &std::path::Path,
) -> io::Result<()> {
    socket2::SockRef::from(socket).connect(&socket2::SockAddr::unix(target)?)
}

/// `recv` into uninitialised memory on a connected socket in non-blocking mode: the
/// kernel writes the bytes it returns, nothing is zeroed first. The building block of a
/// backend's [`ReadUninit`](crate::io::ReadUninit) (`WouldBlock` when nothing is there).
///
/// ```
/// use std::mem::MaybeUninit;
/// use std::io::Write;
///
/// let (mut a, b) = std::os::unix::net::UnixStream::pair()?;
/// a.write_all(b"hi")?;
/// let mut buf = [MaybeUninit::<u8>::uninit(); 8];
/// let n = anyrt_core::backend::recv_uninit(&b, &mut buf)?;
/// assert_eq!(n, 2);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn recv_uninit<S>(socket: &S, buf: &mut [std::mem::MaybeUninit<u8>]) -> io::Result<usize>
where
    for<'a> socket2::SockRef<'a>: From<&'a S>,
{
    socket2::SockRef::from(socket).recv(buf)
}
