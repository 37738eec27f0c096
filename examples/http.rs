//! One hyper service, written once, served on the backend named by `--backend`
//! (`anyrt::hyper`: no glue), and a demo that drives it with hyper's client and checks
//! every reply.
//!
//! ```text
//! cargo run --features hyper --example http -- --backend green
//! cargo run --features hyper --example http -- --backend smol --serve 127.0.0.1:8080
//! curl -s localhost:8080/            # hello from anyrt (smol)
//! curl -s -d 'some bytes' localhost:8080/echo
//! curl -s 'localhost:8080/sleep?ms=200'
//! ```
//!
//! Routes: `GET /` (a greeting naming the backend), `POST /echo` (the body back),
//! `GET /sleep?ms=N` (answers after N ms of the runtime's timer, at most 10 s), anything
//! else 404. tests/examples_http.rs runs the same code on every backend.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

#[path = "common/mod.rs"]
#[allow(dead_code)] // the echo examples' options
pub(crate) mod common;

use anyrt::hyper::{Http1Client, Server};
use anyrt::net::TcpListener;
use anyrt::{Runtime, RuntimeExt};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};

/// The service: one function, generic over the runtime.
pub(crate) async fn handle<R: Runtime>(
    rt: R,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let reply = |status: StatusCode, body: Bytes| {
        let mut resp = Response::new(Full::new(body));
        *resp.status_mut() = status;
        Ok(resp)
    };
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => reply(
            StatusCode::OK,
            Bytes::from(format!("hello from anyrt ({})\n", rt.name())),
        ),
        (&Method::POST, "/echo") => {
            let body = req.into_body().collect().await?.to_bytes();
            reply(StatusCode::OK, body)
        }
        (&Method::GET, "/sleep") => {
            let ms = req
                .uri()
                .query()
                .and_then(|q| q.strip_prefix("ms="))
                .and_then(|v| v.parse::<u64>().ok());
            match ms {
                Some(ms) if ms <= 10_000 => {
                    rt.sleep(Duration::from_millis(ms)).await;
                    reply(StatusCode::OK, Bytes::from(format!("slept {ms} ms\n")))
                }
                _ => reply(
                    StatusCode::BAD_REQUEST,
                    Bytes::from_static(b"expected ?ms=N with N <= 10000\n"),
                ),
            }
        }
        _ => reply(StatusCode::NOT_FOUND, Bytes::from_static(b"not found\n")),
    }
}

/// Serves `handle` on `listener` until `stop` completes, then shuts down gracefully.
pub(crate) async fn serve<R: Runtime>(
    rt: R,
    listener: R::TcpListener,
    stop: impl std::future::Future<Output = ()>,
) -> io::Result<()> {
    let service_rt = rt.clone();
    let service = service_fn(move |req| handle(service_rt.clone(), req));
    Server::new(&rt)
        .serve_with_shutdown(listener, service, stop)
        .await
}

/// Sends one request and returns the status and body.
pub(crate) async fn request(
    client: &mut Http1Client<Full<Bytes>>,
    method: Method,
    path: &str,
    body: &[u8],
) -> io::Result<(StatusCode, Bytes)> {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .body(Full::new(Bytes::copy_from_slice(body)))
        .map_err(io::Error::other)?;
    let resp = client.send(req).await.map_err(io::Error::other)?;
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(io::Error::other)?
        .to_bytes();
    Ok((status, body))
}

/// The demo: 20 keep-alive clients × 10 rounds of every route, each reply checked
/// (`greeting` is what `GET /` must answer).
pub(crate) async fn demo<R: Runtime>(
    rt: R,
    addr: SocketAddr,
    greeting: String,
) -> io::Result<usize> {
    let clients: Vec<_> = (0..20)
        .map(|c| {
            let rt2 = rt.clone();
            let greeting = greeting.clone();
            rt.spawn(async move {
                let mut client = Http1Client::connect(&rt2, addr).await?;
                for i in 0..10 {
                    let body = format!("client {c} request {i}: {}", "x".repeat(c * 100 + i));
                    let checks = [
                        (Method::GET, "/", Vec::new(), StatusCode::OK, greeting.clone().into_bytes()),
                        (Method::POST, "/echo", body.clone().into_bytes(), StatusCode::OK, body.into_bytes()),
                        (Method::GET, "/sleep?ms=5", Vec::new(), StatusCode::OK, b"slept 5 ms\n".to_vec()),
                        (Method::GET, "/nowhere", Vec::new(), StatusCode::NOT_FOUND, b"not found\n".to_vec()),
                    ];
                    for (method, path, body, status, expected) in checks {
                        let (got_status, got) =
                            request(&mut client, method, path, &body).await?;
                        if got_status != status || got != expected {
                            return Err(io::Error::new(
                                io::ErrorKind::InvalidData,
                                format!("{path}: expected {status} {expected:?}, got {got_status} {got:?}"),
                            ));
                        }
                    }
                }
                Ok::<usize, io::Error>(40)
            })
        })
        .collect();
    let mut checked = 0;
    for c in clients {
        checked += c.await.map_err(io::Error::from)??;
    }
    Ok(checked)
}

#[allow(dead_code)] // tests/examples_http.rs includes this file and calls the rest.
fn main() {
    let args = common::Args::parse(&[]).unwrap_or_else(|e| common::fail(&e));
    args.only(&["backend", "serve"])
        .unwrap_or_else(|e| common::fail(&e));
    let serve_at = args.get("serve").map(str::to_owned);
    common::run_on(args.get("backend"), "http", |rt| {
        rt.block_on(async {
            match serve_at {
                Some(addr) => {
                    let listener = rt.tcp_listen(addr).await?;
                    eprintln!("http ({}) on http://{}", rt.name(), listener.local_addr()?);
                    serve(rt.clone(), listener, std::future::pending()).await
                }
                None => {
                    let listener = rt.tcp_listen("127.0.0.1:0").await?;
                    let addr = listener.local_addr()?;
                    let (stop_tx, stop_rx) = anyrt::sync::channel::bounded::<Infallible>(1);
                    let server = rt.spawn(serve(rt.clone(), listener, async move {
                        let _ = stop_rx.recv().await;
                    }));
                    let t0 = Instant::now();
                    let greeting = format!("hello from anyrt ({})\n", rt.name());
                    let checked = demo(rt.clone(), addr, greeting).await?;
                    drop(stop_tx); // graceful shutdown
                    rt.timeout(Duration::from_secs(10), server)
                        .await
                        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "shutdown hung"))?
                        .map_err(io::Error::from)??;
                    println!(
                        "http ({}): {checked} requests checked in {:?}; shut down gracefully",
                        rt.name(),
                        t0.elapsed()
                    );
                    Ok(())
                }
            }
        })
    });
}
