//! Socket traits every backend implements, and address conversion.
//!
//! Backends implement [`TcpListener`], [`TcpStream`] and [`UdpSocket`]; users reach them
//! through [`Runtime::tcp_listen`](crate::Runtime::tcp_listen),
//! [`Runtime::tcp_connect`](crate::Runtime::tcp_connect) and
//! [`Runtime::udp_bind`](crate::Runtime::udp_bind).

mod addr;
mod traits;

pub use addr::{AddrQuery, Addrs, ToSocketAddrs};
pub use traits::{TcpListener, TcpStream, UdpSocket};

/// Binds a TCP listener socket the way every backend does: `SO_REUSEADDR` (as std and
/// tokio set it on Unix, so a restarted server can bind at once), and a listen backlog of
/// 1024 (tokio's; std's 128 drops connections in a burst of clients). For backends that
/// wrap a `std` listener.
pub fn bind_tcp_listener(addr: std::net::SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}
