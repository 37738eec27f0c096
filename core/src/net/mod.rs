//! Socket traits every backend implements, and address conversion.
//!
//! Backends implement [`TcpListener`], [`TcpStream`] and [`UdpSocket`]; users reach them
//! through [`Runtime::tcp_listen`](crate::Runtime::tcp_listen),
//! [`Runtime::tcp_connect`](crate::Runtime::tcp_connect) and
//! [`Runtime::udp_bind`](crate::Runtime::udp_bind). On Unix, [`UnixListener`],
//! [`UnixStream`] and [`UnixDatagram`] the same way, through
//! [`Runtime::unix_listen`](crate::Runtime::unix_listen) and its neighbours.

mod addr;
mod split;
mod traits;
#[cfg(unix)]
mod unix;

pub use addr::{AddrQuery, Addrs, ToSocketAddrs};
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};
pub use traits::{AsSocket, TcpListener, TcpStream, TokioIo, UdpSocket};
#[cfg(unix)]
pub use unix::{UnixDatagram, UnixListener, UnixStream};

/// How [`RuntimeExt::tcp_listen_with`](crate::RuntimeExt::tcp_listen_with) binds a
/// listener. The default is what [`Runtime::tcp_listen`](crate::Runtime::tcp_listen)
/// does: a backlog of 1024, `SO_REUSEADDR` on Unix, no `SO_REUSEPORT`, the OS's default
/// for `IPV6_V6ONLY`.
///
/// ```
/// let options = anyrt_core::net::ListenOptions {
///     backlog: 4096,
///     reuse_port: true,
///     ..Default::default()
/// };
/// assert!(options.reuse_address);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenOptions {
    /// The listen backlog: connections the kernel completes before they are accepted.
    pub backlog: i32,
    /// `SO_REUSEADDR` (Unix): a restarted server binds at once.
    pub reuse_address: bool,
    /// `SO_REUSEPORT` (Unix): several listeners share a port, the kernel balancing
    /// connections between them.
    pub reuse_port: bool,
    /// `IPV6_V6ONLY` for an IPv6 address: `Some(true)` takes IPv6 only, `Some(false)` IPv4
    /// too, `None` leaves the OS's default.
    pub only_v6: Option<bool>,
}

impl Default for ListenOptions {
    fn default() -> ListenOptions {
        ListenOptions {
            backlog: 1024,
            reuse_address: cfg!(unix),
            reuse_port: false,
            only_v6: None,
        }
    }
}

impl ListenOptions {
    /// A std listener bound to `addr` with these options.
    pub(crate) fn bind(
        &self,
        addr: std::net::SocketAddr,
    ) -> std::io::Result<std::net::TcpListener> {
        use socket2::{Domain, Socket, Type};
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
        if self.reuse_address {
            socket.set_reuse_address(true)?;
        }
        #[cfg(unix)]
        if self.reuse_port {
            socket.set_reuse_port(true)?;
        }
        if let (Some(only), true) = (self.only_v6, addr.is_ipv6()) {
            socket.set_only_v6(only)?;
        }
        socket.bind(&addr.into())?;
        socket.listen(self.backlog)?;
        Ok(socket.into())
    }
}
