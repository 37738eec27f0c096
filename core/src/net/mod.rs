//! Socket traits every backend implements, and address conversion.
//!
//! Backends implement [`TcpListener`], [`TcpStream`] and [`UdpSocket`]; users reach them
//! through [`Runtime::tcp_listen`](crate::Runtime::tcp_listen),
//! [`Runtime::tcp_connect`](crate::Runtime::tcp_connect) and
//! [`Runtime::udp_bind`](crate::Runtime::udp_bind).

mod addr;
mod traits;

pub use addr::{AddrQuery, Addrs, ToSocketAddrs};
pub use traits::{AsSocket, TcpListener, TcpStream, UdpSocket};
