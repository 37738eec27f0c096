//! The HTTP case: one hyper hello-world service on hyper over raw tokio (hyper-util's
//! `TokioIo` and `TokioTimer`, as hyper's own examples serve) and through `anyrt::hyper`
//! on each backend; loaded by the HTTP/1 keep-alive load generator in `echo::load`.

use std::convert::Infallible;
use std::io;

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

/// The rows of the HTTP case; every anyrt row is compared with hyper on raw tokio.
pub(crate) fn has_row(row: &str) -> bool {
    matches!(row, "raw-tokio" | "tokio" | "smol" | "green")
}

/// Starts `row`'s HTTP server on `listener` (in the background).
pub(crate) fn start(row: &str, workers: usize, listener: std::net::TcpListener) -> io::Result<()> {
    match row {
        "raw-tokio" => raw_tokio(listener, workers),
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
