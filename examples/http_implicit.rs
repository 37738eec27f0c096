//! A blocking-style HTTP/1.1 server on implicit threads: one thread per connection, plain
//! `Read`/`Write` calls and httparse, no `async` anywhere in the server. On Green the
//! threads are coroutines (thousands are cheap); on Tokio and Smol they are OS threads.
//! The demo checks it with hyper's client.
//!
//! ```text
//! cargo run --features hyper --example http_implicit -- --backend green
//! cargo run --features hyper --example http_implicit -- --backend green --serve 127.0.0.1:8080
//! curl -s localhost:8080/            # hello from anyrt, blocking style (green)
//! curl -s -d 'some bytes' localhost:8080/echo
//! ```
//!
//! Routes as in `examples/http.rs`: `GET /`, `POST /echo`, `GET /sleep?ms=N`, else 404.
//! Keep-alive, `Content-Length` bodies (chunked requests get 411), `Connection: close`.
//! tests/examples_http.rs runs it on every backend.

use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyrt::Runtime;
use anyrt::implicit::{self, TcpListener, TcpStream, Thread};

/// The largest request head and body accepted.
const MAX_HEAD: usize = 16 * 1024;
const MAX_BODY: usize = 1 << 20;
/// A keep-alive connection idle this long is closed.
const IDLE: Duration = Duration::from_secs(30);

/// A running server: its accept thread and its connection threads.
#[derive(Debug)]
pub(crate) struct Serving {
    acceptor: Thread<io::Result<()>>,
    connections: Arc<Mutex<Vec<Thread<()>>>>,
}

impl Serving {
    /// Stops accepting, cancels the connections' waiting reads (a request being answered
    /// is finished: only calls that would wait fail), and waits for every thread.
    pub(crate) fn shutdown(self) -> io::Result<()> {
        self.acceptor.cancel();
        let accepted = self.acceptor.join().map_err(io::Error::from)?;
        let threads = std::mem::take(&mut *self.connections.lock().unwrap());
        for t in &threads {
            t.cancel();
        }
        for t in threads {
            let _ = t.join();
        }
        accepted
    }
}

/// Serves on `listener` from an implicit thread of `rt`, one implicit thread per connection.
pub(crate) fn serve<R: Runtime>(rt: &R, listener: TcpListener<R>) -> Serving {
    let connections: Arc<Mutex<Vec<Thread<()>>>> = Arc::default();
    let conns = connections.clone();
    let rt2 = rt.clone();
    let acceptor = implicit::spawn(rt, move || {
        loop {
            let stream = match listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if implicit::is_cancelled(&e) => return Ok(()),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
                    ) =>
                {
                    continue;
                }
                Err(e) => return Err(e),
            };
            let rt3 = rt2.clone();
            let thread = implicit::spawn(&rt2, move || {
                // A client's fault ends its connection only.
                let _ = connection(&rt3, stream);
            });
            let mut conns = conns.lock().unwrap();
            conns.retain(|t| !t.is_finished());
            conns.push(thread);
        }
    });
    Serving {
        acceptor,
        connections,
    }
}

/// One connection: requests until the client closes, asks to close, or idles too long.
fn connection<R: Runtime>(rt: &R, mut stream: TcpStream<R>) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(IDLE))?;
    let mut buf = Vec::with_capacity(4096);
    loop {
        // Read until a whole head is in.
        let (head_len, method, path, content_length, close) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut req = httparse::Request::new(&mut headers);
            match req.parse(&buf) {
                Ok(httparse::Status::Complete(n)) => {
                    let mut content_length = 0usize;
                    let mut close = req.version == Some(0);
                    for h in req.headers.iter() {
                        if h.name.eq_ignore_ascii_case("content-length") {
                            content_length = std::str::from_utf8(h.value)
                                .ok()
                                .and_then(|v| v.trim().parse().ok())
                                .ok_or_else(|| bad("bad content-length"))?;
                        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                            respond(&mut stream, 411, b"length required\n", true)?;
                            return Ok(());
                        } else if h.name.eq_ignore_ascii_case("connection") {
                            close = h.value.eq_ignore_ascii_case(b"close");
                        }
                    }
                    let method = req.method.unwrap_or("").to_owned();
                    let path = req.path.unwrap_or("").to_owned();
                    break (n, method, path, content_length, close);
                }
                Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => {
                    if read_more(&mut stream, &mut buf)? == 0 {
                        return Ok(()); // the client is done
                    }
                }
                Ok(httparse::Status::Partial) | Err(_) => {
                    respond(&mut stream, 400, b"bad request\n", true)?;
                    return Ok(());
                }
            }
        };
        if content_length > MAX_BODY {
            respond(&mut stream, 413, b"too large\n", true)?;
            return Ok(());
        }
        while buf.len() < head_len + content_length {
            if read_more(&mut stream, &mut buf)? == 0 {
                return Err(bad("the client closed inside a body"));
            }
        }
        let body = &buf[head_len..head_len + content_length];
        let (status, reply) = route(rt, &method, &path, body);
        respond(&mut stream, status, &reply, close)?;
        if close {
            return Ok(());
        }
        buf.drain(..head_len + content_length);
    }
}

fn route<R: Runtime>(rt: &R, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    match (method, path) {
        ("GET", "/") => (
            200,
            format!("hello from anyrt, blocking style ({})\n", rt.name()).into_bytes(),
        ),
        ("POST", "/echo") => (200, body.to_vec()),
        ("GET", p) if p.starts_with("/sleep") => {
            match p
                .strip_prefix("/sleep?ms=")
                .and_then(|v| v.parse::<u64>().ok())
            {
                Some(ms) if ms <= 10_000 => {
                    implicit::sleep(rt, Duration::from_millis(ms));
                    (200, format!("slept {ms} ms\n").into_bytes())
                }
                _ => (400, b"expected ?ms=N with N <= 10000\n".to_vec()),
            }
        }
        _ => (404, b"not found\n".to_vec()),
    }
}

fn read_more<R: Runtime>(stream: &mut TcpStream<R>, buf: &mut Vec<u8>) -> io::Result<usize> {
    let mut chunk = [0u8; 4096];
    let n = stream.read(&mut chunk)?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

fn respond<R: Runtime>(
    stream: &mut TcpStream<R>,
    status: u16,
    body: &[u8],
    close: bool,
) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        411 => "Length Required",
        _ => "Payload Too Large",
    };
    let connection = if close { "close" } else { "keep-alive" };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-length: {}\r\nconnection: {connection}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    stream.write_all(&out)
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_owned())
}

/// The demo's client: the async example's, hyper's HTTP/1 client in 20 tasks.
#[path = "http.rs"]
#[allow(dead_code)]
pub(crate) mod async_example;

use async_example::common;

/// 20 keep-alive clients × 10 rounds of every route, each reply checked.
pub(crate) fn demo<R: Runtime>(rt: &R, addr: std::net::SocketAddr) -> io::Result<usize> {
    let greeting = format!("hello from anyrt, blocking style ({})\n", rt.name());
    rt.block_on(async_example::demo(rt.clone(), addr, greeting))
}

#[allow(dead_code)] // tests/examples_http.rs includes this file and calls the rest.
fn main() {
    let args = common::Args::parse(&[]).unwrap_or_else(|e| common::fail(&e));
    args.only(&["backend", "serve"])
        .unwrap_or_else(|e| common::fail(&e));
    let serve_at = args.get("serve").map(str::to_owned);
    common::run_on(args.get("backend"), "http_implicit", |rt| match serve_at {
        Some(addr) => {
            let listener = TcpListener::bind(&rt, addr.as_str())?;
            eprintln!(
                "http_implicit ({}) on http://{}",
                rt.name(),
                listener.local_addr()?
            );
            let serving = serve(&rt, listener);
            serving.acceptor.join().map_err(io::Error::from)?
        }
        None => {
            let listener = TcpListener::bind(&rt, "127.0.0.1:0")?;
            let addr = listener.local_addr()?;
            let serving = serve(&rt, listener);
            let t0 = Instant::now();
            let checked = demo(&rt, addr)?;
            serving.shutdown()?;
            println!(
                "http_implicit ({}): {checked} requests checked in {:?}; shut down",
                rt.name(),
                t0.elapsed()
            );
            Ok(())
        }
    });
}
