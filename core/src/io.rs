//! Async IO traits and helpers, re-exported from `futures-util`.
//!
//! These are the same traits the `futures` crate exports, so nothing clashes; one import
//! gives `read`, `write_all`, `read_line`, `split` and friends.

pub use futures_util::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
    BufWriter, ReadHalf, WriteHalf, copy,
};

use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

/// Reads into uninitialised memory: the read path of every anyrt stream that hands bytes
/// to a caller owning a growable buffer (hyper, tokio's `ReadBuf`, `bytes::BytesMut`'s
/// spare capacity) without writing zeros over the buffer first.
///
/// futures-io's [`AsyncRead`] reads only into initialised memory (`&mut [u8]`), so an
/// adapter from a buffer's spare capacity must zero it before every read: for hyper's
/// 8 KiB read buffer that was a third of the cost of serving a small request.
/// [`poll_read_uninit`](ReadUninit::poll_read_uninit) receives the spare capacity as it
/// is and lets the socket write into it: `recv` into the memory on Smol and Green, tokio's
/// `ReadBuf::uninit` on Tokio.
///
/// Every stream of every backend (TCP and Unix, and the boxed
/// [`AnyTcpStream`](crate::dynamic::AnyTcpStream)) implements it natively; the
/// [`TcpStream`](crate::net::TcpStream) and [`UnixStream`](crate::net::UnixStream)
/// traits require it. The provided method is the fallback for any other reader: it zeroes
/// the buffer and calls [`AsyncRead::poll_read`].
///
/// # Safety
///
/// An implementation that returns `Poll::Ready(Ok(n))` must have written the first `n`
/// bytes of `buf`, and `n <= buf.len()`: callers treat those bytes as initialised. The
/// provided method keeps that promise for any `AsyncRead` (a reader reporting more bytes
/// than the buffer holds gets an `InvalidData` error).
///
/// # Examples
///
/// ```
/// use std::mem::MaybeUninit;
/// use anyrt_core::Runtime;
/// use anyrt_core::io::{AsyncWriteExt, ReadUninit};
/// use anyrt_core::net::TcpListener;
///
/// let rt = anyrt_tokio::Tokio::new();
/// rt.block_on(async {
///     let listener = rt.tcp_listen("127.0.0.1:0").await?;
///     let mut client = rt.tcp_connect(listener.local_addr()?).await?;
///     let (mut server, _) = listener.accept().await?;
///     client.write_all(b"hello").await?;
///
///     let mut spare = Vec::<u8>::with_capacity(64);
///     let n = server.read_uninit(spare.spare_capacity_mut()).await?;
///     // SAFETY: `read_uninit` wrote the first `n` bytes of the spare capacity.
///     unsafe { spare.set_len(n) };
///     assert_eq!(spare, b"hello"[..n]);
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub unsafe trait ReadUninit: AsyncRead {
    /// Reads into `buf`, which may be uninitialised, as
    /// [`AsyncRead::poll_read`] reads into initialised memory: `Ok(n)` with the first `n`
    /// bytes written, `Ok(0)` at end of stream (or for an empty `buf`), `Pending` with the
    /// waker registered when nothing can be read yet.
    fn poll_read_uninit(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        let len = buf.len();
        let n = ready!(self.poll_read(cx, zeroed(buf)))?;
        if n > len {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the reader reported more bytes than the buffer holds",
            )));
        }
        Poll::Ready(Ok(n))
    }

    /// Waits for data and reads it into `buf` (see
    /// [`poll_read_uninit`](ReadUninit::poll_read_uninit)).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropped before it completes, it has read nothing.
    fn read_uninit<'a>(
        &'a mut self,
        buf: &'a mut [MaybeUninit<u8>],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a
    where
        Self: Unpin + Send + Sized,
    {
        std::future::poll_fn(move |cx| Pin::new(&mut *self).poll_read_uninit(cx, buf))
    }
}

/// Writes zeros over `buf` and returns it as initialised bytes.
fn zeroed(buf: &mut [MaybeUninit<u8>]) -> &mut [u8] {
    for b in buf.iter_mut() {
        b.write(0);
    }
    // SAFETY: every byte was just written; `MaybeUninit<u8>` has the layout of `u8`.
    unsafe { &mut *(buf as *mut [MaybeUninit<u8>] as *mut [u8]) }
}

// SAFETY: forwards to the boxed reader, which keeps the trait's promise.
unsafe impl<R: ReadUninit + Unpin + ?Sized> ReadUninit for Box<R> {
    fn poll_read_uninit(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut **self).poll_read_uninit(cx, buf)
    }
}

// SAFETY: forwards to the referenced reader, which keeps the trait's promise.
unsafe impl<R: ReadUninit + Unpin + ?Sized> ReadUninit for &mut R {
    fn poll_read_uninit(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut **self).poll_read_uninit(cx, buf)
    }
}

/// Reads from `reader` into the unfilled part of tokio's `ReadBuf` with
/// [`ReadUninit::poll_read_uninit`] (nothing zeroed), and advances it: the body of the
/// tokio `AsyncRead` that [`impl_tokio_io!`](crate::impl_tokio_io) writes.
#[cfg(feature = "tokio-io")]
pub fn poll_read_tokio<R: ReadUninit + ?Sized>(
    reader: Pin<&mut R>,
    cx: &mut Context<'_>,
    buf: &mut tokio::io::ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    // SAFETY: the unfilled part is only written by `poll_read_uninit`, never de-initialised.
    let unfilled = unsafe { buf.unfilled_mut() };
    let n = ready!(reader.poll_read_uninit(cx, unfilled))?;
    // SAFETY: `ReadUninit`'s contract: the first `n` bytes were written, `n <= len`.
    unsafe { buf.assume_init(n) };
    buf.advance(n);
    Poll::Ready(Ok(()))
}
