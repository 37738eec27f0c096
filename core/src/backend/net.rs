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
