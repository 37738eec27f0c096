//! The traits, for `use anyrt::prelude::*;` (no macros, so `#[test]` stays unambiguous).

pub use crate::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _};
pub use crate::net::{TcpListener, TcpStream, UdpSocket};
#[cfg(unix)]
pub use crate::net::{UnixDatagram, UnixListener, UnixStream};
pub use crate::{JoinHandle, Runtime, RuntimeExt};
