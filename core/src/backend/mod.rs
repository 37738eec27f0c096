//! The backend kit: what a backend's implementation needs beyond the traits. For
//! implementers only; applications and libraries use the traits.
//!
//! A backend is one `Clone + Send + Sync + 'static` handle type implementing
//! [`Runtime`](crate::Runtime). What it must guarantee is stated with each trait (and
//! checked by anyrt's conformance suite); this module has the pieces every backend so far
//! shares, each kept in one place:
//!
//! * join handles: [`ThreadHandle`] (a closure on an OS thread of its own),
//!   [`AsyncTaskHandle`] (an `async-task` task: smol's executor, the `blocking` pool) and
//!   [`TaskOrThread`] (a handle of either kind);
//! * the errors a handle reports ([`cancelled`], [`panicked`], [`elapsed`]), and
//!   [`catch_panic`] and [`CatchPanic`], which catch a task's panics (also those of its
//!   destructor, see [`DropPanic`]);
//! * the misuse check: [`AsyncScope`] and [`set_polling_async`] mark a thread as polling an
//!   async task, and [`assert_may_block`] turns blocking there into a clear panic;
//! * sockets and settings: [`each_addr`] (the body of `tcp_listen`, `tcp_connect` and
//!   `udp_bind`), [`bind_tcp_listener`] and [`worker_threads`];
//! * [`testing`]: one test body run on a runtime, within a time limit (what
//!   `#[anyrt::test]` and the conformance suite use).

mod blocking;
mod guard;
mod handles;
mod net;
pub mod testing;
#[cfg(feature = "tokio-context")]
pub mod tokio_context;

/// Implements the socket handle traits (`AsFd` and `AsRawFd`, on Unix) for a socket type,
/// from an expression that reaches the wrapped socket:
/// `impl_as_socket!(TcpStream, |s| &s.io);`.
///
/// ```
/// struct MySocket {
///     io: std::net::UdpSocket,
/// }
/// anyrt_core::impl_as_socket!(MySocket, |s| &s.io);
/// # #[cfg(unix)] {
/// let s = MySocket { io: std::net::UdpSocket::bind("127.0.0.1:0")? };
/// assert!(std::os::fd::AsRawFd::as_raw_fd(&s) >= 0);
/// # }
/// # Ok::<(), std::io::Error>(())
/// ```
#[macro_export]
macro_rules! impl_as_socket {
    ($ty:ty, |$this:ident| $inner:expr) => {
        #[cfg(unix)]
        impl ::std::os::fd::AsFd for $ty {
            fn as_fd(&self) -> ::std::os::fd::BorrowedFd<'_> {
                let $this = self;
                ::std::os::fd::AsFd::as_fd($inner)
            }
        }

        #[cfg(unix)]
        impl ::std::os::fd::AsRawFd for $ty {
            fn as_raw_fd(&self) -> ::std::os::fd::RawFd {
                let $this = self;
                ::std::os::fd::AsRawFd::as_raw_fd(&::std::os::fd::AsFd::as_fd($inner))
            }
        }
    };
}

use std::any::Any;
use std::io;

pub use blocking::{
    CoroutineBlockOn, CoroutineSlot, ImplicitSlot, block_current, cancel_point, interruptible,
    is_cancelled, register_coroutine_block_on, register_coroutine_slot,
};
pub(crate) use blocking::{current_token, set_current_token};
pub use guard::{
    AsyncScope, BOX_FUTURES_OVER, CatchPanic, DropPanic, assert_may_block, catch_panic,
    panic_message, set_polling_async,
};
pub use handles::{AsyncTaskHandle, TaskOrThread, ThreadHandle};
pub use net::{bind_tcp_listener, each_addr, recv_uninit, resolve};
#[cfg(unix)]
pub use net::{
    bind_unix_datagram, bind_unix_listener, start_unix_connect, unix_datagram_connect, unix_send_to,
};

use crate::{Elapsed, JoinError};

/// The error of a task that was cancelled: aborted, or dropped when its runtime shut down.
///
/// ```
/// assert!(anyrt_core::backend::cancelled().is_cancelled());
/// ```
pub fn cancelled() -> JoinError {
    JoinError::cancelled()
}

/// The error of a task that panicked with `payload`.
///
/// ```
/// let e = anyrt_core::backend::panicked(Box::new("boom"));
/// assert!(e.is_panic());
/// assert_eq!(e.to_string(), "task panicked: boom");
/// ```
pub fn panicked(payload: Box<dyn Any + Send + 'static>) -> JoinError {
    JoinError::panic(payload)
}

/// The error of a [`Timeout`](crate::Timeout) whose deadline passed, for backends with
/// timeouts of their own.
///
/// ```
/// assert_eq!(anyrt_core::backend::elapsed().to_string(), "deadline has elapsed");
/// ```
pub fn elapsed() -> Elapsed {
    Elapsed::new()
}

/// The number of worker threads a backend's builder asked for, checked: `requested`, or
/// one per CPU when `None`.
///
/// # Errors
///
/// `InvalidInput` for zero workers.
pub fn worker_threads(requested: Option<usize>) -> io::Result<usize> {
    match requested {
        Some(0) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a runtime needs at least one worker thread",
        )),
        Some(n) => Ok(n),
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_threads_rejects_zero_and_defaults_to_the_cpus() {
        assert_eq!(
            worker_threads(Some(0)).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(worker_threads(Some(3)).unwrap(), 3);
        assert!(worker_threads(None).unwrap() >= 1);
    }
}

/// tokio's I/O traits, for backends that implement them on their streams with the
/// `tokio-io` feature (see [`impl_tokio_io!`](crate::impl_tokio_io)).
#[cfg(feature = "tokio-io")]
pub mod tokio_io {
    pub use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
}

/// Implements tokio's `AsyncRead` and `AsyncWrite` (the `tokio-io` feature) for a stream
/// type from its futures-io and [`ReadUninit`](crate::io::ReadUninit) implementations:
/// reads go straight into the `ReadBuf`'s unfilled part (nothing zeroed), `poll_shutdown`
/// is `poll_close`.
///
/// ```
/// # #[cfg(feature = "tokio-io")] {
/// struct MyStream(futures_util::io::Cursor<Vec<u8>>);
///
/// impl futures_io::AsyncRead for MyStream {
///     fn poll_read(
///         mut self: std::pin::Pin<&mut Self>,
///         cx: &mut std::task::Context<'_>,
///         buf: &mut [u8],
///     ) -> std::task::Poll<std::io::Result<usize>> {
///         std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
///     }
/// }
/// impl futures_io::AsyncWrite for MyStream {
///     fn poll_write(
///         mut self: std::pin::Pin<&mut Self>,
///         cx: &mut std::task::Context<'_>,
///         buf: &[u8],
///     ) -> std::task::Poll<std::io::Result<usize>> {
///         std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
///     }
///     fn poll_flush(
///         self: std::pin::Pin<&mut Self>,
///         _: &mut std::task::Context<'_>,
///     ) -> std::task::Poll<std::io::Result<()>> {
///         std::task::Poll::Ready(Ok(()))
///     }
///     fn poll_close(
///         self: std::pin::Pin<&mut Self>,
///         _: &mut std::task::Context<'_>,
///     ) -> std::task::Poll<std::io::Result<()>> {
///         std::task::Poll::Ready(Ok(()))
///     }
/// }
/// // SAFETY: the provided method zeroes the buffer before it reads into it.
/// unsafe impl anyrt_core::io::ReadUninit for MyStream {}
/// anyrt_core::impl_tokio_io!(MyStream);
/// # }
/// ```
#[cfg(feature = "tokio-io")]
#[macro_export]
macro_rules! impl_tokio_io {
    ($ty:ty) => {
        impl $crate::backend::tokio_io::AsyncRead for $ty {
            fn poll_read(
                self: ::core::pin::Pin<&mut Self>,
                cx: &mut ::core::task::Context<'_>,
                buf: &mut $crate::backend::tokio_io::ReadBuf<'_>,
            ) -> ::core::task::Poll<::std::io::Result<()>> {
                $crate::io::poll_read_tokio(self, cx, buf)
            }
        }

        impl $crate::backend::tokio_io::AsyncWrite for $ty {
            fn poll_write(
                self: ::core::pin::Pin<&mut Self>,
                cx: &mut ::core::task::Context<'_>,
                buf: &[u8],
            ) -> ::core::task::Poll<::std::io::Result<usize>> {
                $crate::io::AsyncWrite::poll_write(self, cx, buf)
            }

            fn poll_write_vectored(
                self: ::core::pin::Pin<&mut Self>,
                cx: &mut ::core::task::Context<'_>,
                bufs: &[::std::io::IoSlice<'_>],
            ) -> ::core::task::Poll<::std::io::Result<usize>> {
                $crate::io::AsyncWrite::poll_write_vectored(self, cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(
                self: ::core::pin::Pin<&mut Self>,
                cx: &mut ::core::task::Context<'_>,
            ) -> ::core::task::Poll<::std::io::Result<()>> {
                $crate::io::AsyncWrite::poll_flush(self, cx)
            }

            fn poll_shutdown(
                self: ::core::pin::Pin<&mut Self>,
                cx: &mut ::core::task::Context<'_>,
            ) -> ::core::task::Poll<::std::io::Result<()>> {
                $crate::io::AsyncWrite::poll_close(self, cx)
            }
        }
    };
}
