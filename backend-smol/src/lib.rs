//! The [smol](https://github.com/smol-rs/smol) backend of [anyrt](https://docs.rs/anyrt).
//!
//! [`Smol`] implements [`anyrt_core::Runtime`] with an `async-executor` run by worker
//! threads of its own (so spawned tasks progress without anyone calling `block_on`),
//! `async-io` for sockets and timers, and the `blocking` thread pool.
//!
//! ```
//! use anyrt_core::Runtime;
//! use anyrt_smol::Smol;
//!
//! let rt = Smol::new();
//! let task = rt.spawn(async { 1 + 1 });
//! assert_eq!(rt.block_on(task).unwrap(), 2);
//! ```

// The one exception: the `unsafe impl` of `ReadUninit` on the streams (a promise that
// the byte count is what the socket wrote, no unsafe block).
#![deny(unsafe_code)]

mod net;
mod runtime;
mod spawn;
mod time;
#[cfg(unix)]
mod unix;

pub use net::{TcpListener, TcpStream, UdpSocket};
pub use runtime::{Builder, Smol};
pub use spawn::JoinHandle;
pub use time::Sleep;
#[cfg(unix)]
pub use unix::{UnixDatagram, UnixListener, UnixStream};
