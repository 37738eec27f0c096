//! The HTTP case: one hyper hello-world service on hyper over raw tokio (hyper-util's
//! `TokioIo` and `TokioTimer`, as hyper's own examples serve), over raw smol (hyper's I/O
//! and timer traits over async-io, as the smol-hyper crate implements them, reading
//! without zeroing), and through `anyrt::hyper` on each backend; loaded by the HTTP/1
//! keep-alive load generator in `echo::load`.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use futures_lite::AsyncWrite;

use anyrt::Runtime;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};

/// The response body.
pub(crate) const BODY: &[u8] = b"Hello, World!";

/// The request every load-generator connection sends, again and again.
pub(crate) const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nhost: bench\r\n\r\n";

async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(BODY))))
}

/// The rows of the HTTP case. Tokio and Green are compared with hyper on raw tokio (may has
/// no hyper integration), Smol with hyper on raw smol.
pub(crate) fn has_row(row: &str) -> bool {
    matches!(row, "raw-tokio" | "tokio" | "raw-smol" | "smol" | "green")
}

/// The raw row an anyrt row of the HTTP case is compared with.
pub(crate) fn baseline(row: &str) -> Option<&'static str> {
    match row {
        "tokio" | "green" => Some("raw-tokio"),
        "smol" => Some("raw-smol"),
        _ => None,
    }
}

/// Starts `row`'s HTTP server on `listener` (in the background).
pub(crate) fn start(row: &str, workers: usize, listener: std::net::TcpListener) -> io::Result<()> {
    match row {
        "raw-tokio" => raw_tokio(listener, workers),
        "raw-smol" => raw_smol(listener, workers),
        "tokio" => anyrt_hyper(anyrt::Tokio::builder().workers(workers).build()?, listener),
        "smol" => anyrt_hyper(anyrt::Smol::builder().workers(workers).build()?, listener),
        "green" => anyrt_hyper(crate::echo::green(workers)?, listener),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("the http case has no row {other}"),
        )),
    }
}

/// hyper on raw tokio, the way hyper's and hyper-util's docs serve HTTP/1.
fn raw_tokio(listener: std::net::TcpListener, workers: usize) -> io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    crate::echo::raw_tokio_serve(listener, workers, |s| async move {
        let _ = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .serve_connection(TokioIo::new(s), hyper::service::service_fn(hello))
            .await;
    })
}

/// hyper on raw smol: what the smol-hyper crate provides (`FuturesIo`, `SmolTimer`),
/// written out: hyper's `Read`/`Write` over async-io's `Async<TcpStream>`, hyper's timer
/// over `async_io::Timer`. One difference, so that the ratio measures anyrt's glue and
/// nothing else: smol-hyper zeroes hyper's buffer before every read (futures-io reads into
/// initialised memory); this row reads into it uninitialised with `recv`, as anyrt does.
fn raw_smol(listener: std::net::TcpListener, workers: usize) -> io::Result<()> {
    crate::echo::raw_smol_serve(listener, workers, |s| async move {
        let _ = hyper::server::conn::http1::Builder::new()
            .timer(SmolTimer)
            .serve_connection(SmolIo(s), hyper::service::service_fn(hello))
            .await;
    })
}

/// An async-io socket as hyper's I/O.
struct SmolIo(async_io::Async<std::net::TcpStream>);

impl hyper::rt::Read for SmolIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        // As async-io's own `poll_read`: the non-blocking call, then a wait for readiness
        // on `WouldBlock`.
        loop {
            // SAFETY: `recv` writes only initialised bytes into this memory and reports
            // how many; nothing is read from it here.
            let unfilled = unsafe { buf.as_mut() };
            match socket2::SockRef::from(self.0.get_ref()).recv(unfilled) {
                Ok(n) => {
                    // SAFETY: `recv` initialised the first `n` bytes of the unfilled part.
                    unsafe { buf.advance(n) };
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    ready!(self.0.poll_readable(cx))?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl hyper::rt::Write for SmolIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}

/// hyper's timer over async-io's, as smol-hyper's `SmolTimer`.
#[derive(Clone, Copy, Debug)]
struct SmolTimer;

impl hyper::rt::Timer for SmolTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(SmolSleep(async_io::Timer::after(duration)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(SmolSleep(async_io::Timer::at(deadline)))
    }
}

struct SmolSleep(async_io::Timer);

impl Future for SmolSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(drop)
    }
}

impl hyper::rt::Sleep for SmolSleep {}

/// The same service through `anyrt::hyper::Server`, generic over the runtime.
fn anyrt_hyper<R: Runtime>(rt: R, listener: std::net::TcpListener) -> io::Result<()> {
    let addr = listener.local_addr()?;
    drop(listener);
    let l = rt.block_on(rt.tcp_listen(addr))?;
    let server = anyrt::hyper::Server::new(&rt).serve(l, hyper::service::service_fn(hello));
    drop(rt.spawn(server));
    Ok(())
}

/// Reads one response to [`REQUEST`] from `s` (its head, then `content-length` bytes of
/// body), keeping bytes of the next one in `buf`.
pub(crate) async fn read_response(
    s: &mut tokio::net::TcpStream,
    buf: &mut Vec<u8>,
) -> io::Result<()> {
    use tokio::io::AsyncReadExt;
    loop {
        if let Some(head) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head_len = head + 4;
            let len = content_length(&buf[..head_len])?;
            while buf.len() < head_len + len {
                read_some(s, buf).await?;
            }
            if !buf.starts_with(b"HTTP/1.1 200") || &buf[head_len..head_len + len] != BODY {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "unexpected response",
                ));
            }
            buf.drain(..head_len + len);
            return Ok(());
        }
        read_some(s, buf).await?;
    }

    async fn read_some(s: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> io::Result<()> {
        let mut chunk = [0u8; 1024];
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

fn content_length(head: &[u8]) -> io::Result<usize> {
    let text = std::str::from_utf8(head).map_err(|_| io::ErrorKind::InvalidData)?;
    text.split("\r\n")
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no content-length"))
}
