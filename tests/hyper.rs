//! hyper 1.x on every backend through `anyrt::hyper`: real requests over loopback, served
//! by `Server` and sent by `Http1Client` or hyper's own HTTP/2 client; hyper's timer
//! (header-read timeout) and executor (HTTP/2) on the runtime; graceful shutdown.
#![cfg(feature = "hyper")]

use std::convert::Infallible;
use std::time::{Duration, Instant};

use anyrt::hyper::{Http1Client, Io, Server};
use anyrt::io::{AsyncReadExt, AsyncWriteExt};
use anyrt::net::TcpListener;
use anyrt::{JoinHandle, Runtime, RuntimeExt};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};

/// Echoes the request body, prefixed with the method and path.
async fn echo(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let head = format!("{} {}\n", req.method(), req.uri().path());
    let body = req.into_body().collect().await?.to_bytes();
    let mut out = head.into_bytes();
    out.extend_from_slice(&body);
    Ok(Response::new(Full::new(Bytes::from(out))))
}

fn pattern(len: usize, seed: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 7 + seed) % 251) as u8).collect()
}

fn post(path: &str, body: Vec<u8>) -> Request<Full<Bytes>> {
    Request::post(path)
        .header("host", "localhost")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

async fn body_of(resp: Response<Incoming>) -> Vec<u8> {
    resp.into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec()
}

/// 16 clients, each with one keep-alive connection and 20 requests of up to 64 KiB, all
/// echoed byte for byte by `Server::serve`.
#[anyrt::test(timeout = "60s")]
async fn http1_keep_alive_requests_echo_every_byte<R: Runtime>(rt: R) {
    let listener = rt.tcp_listen("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = rt.spawn(Server::new(&rt).serve(listener, service_fn(echo)));
    let mut clients = Vec::new();
    for c in 0..16 {
        let rt2 = rt.clone();
        clients.push(rt.spawn(async move {
            let mut client = Http1Client::connect(&rt2, addr).await.unwrap();
            for i in 0..20 {
                let body = pattern((c * 20 + i) * 211 % (64 * 1024), c + i);
                let resp = client
                    .send(post(&format!("/c{c}/r{i}"), body.clone()))
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 200);
                let got = body_of(resp).await;
                let mut expected = format!("POST /c{c}/r{i}\n").into_bytes();
                expected.extend_from_slice(&body);
                assert!(got == expected, "client {c} request {i}: body differs");
            }
        }));
    }
    for c in clients {
        c.await.unwrap();
    }
    server.abort();
}

/// A connection over a Unix stream pair, served with `serve_connection`.
#[cfg(unix)]
#[anyrt::test(timeout = "30s")]
async fn http1_over_a_unix_stream<R: Runtime>(rt: R) {
    let (a, b) = rt.unix_stream_pair().unwrap();
    let server = Server::new(&rt);
    let serving = rt.spawn(async move {
        server
            .serve_connection(Io::new(a), service_fn(echo))
            .await
            .is_ok()
    });
    let mut client = Http1Client::handshake(&rt, Io::new(b)).await.unwrap();
    let resp = client
        .send(post("/unix", b"over a path".to_vec()))
        .await
        .unwrap();
    assert_eq!(body_of(resp).await, b"POST /unix\nover a path");
    drop(client);
    assert!(
        rt.timeout(Duration::from_secs(10), serving)
            .await
            .unwrap()
            .unwrap()
    );
}

/// hyper's header-read timeout runs on the runtime's timer: a client that sends half a
/// request head and waits is disconnected after the timeout, not before.
#[anyrt::test(timeout = "30s")]
async fn header_read_timeout_fires_on_the_runtime_timer<R: Runtime>(rt: R) {
    let listener = rt.tcp_listen("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut server = Server::new(&rt);
    server
        .http1()
        .header_read_timeout(Duration::from_millis(300));
    let serving = rt.spawn(server.serve(listener, service_fn(echo)));
    let mut stream = rt.tcp_connect(addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let t0 = Instant::now();
    let mut rest = Vec::new();
    // hyper answers 408 or just closes: either way, the connection ends.
    rt.timeout(Duration::from_secs(10), stream.read_to_end(&mut rest))
        .await
        .expect("the header-read timeout never fired")
        .unwrap();
    assert!(
        t0.elapsed() >= Duration::from_millis(250),
        "closed after {:?}",
        t0.elapsed()
    );
    serving.abort();
}

/// `serve_with_shutdown`: a request in flight when the signal comes is answered, then the
/// server returns; a connect after that is refused.
#[anyrt::test(timeout = "30s")]
async fn graceful_shutdown_answers_the_request_in_flight<R: Runtime>(rt: R) {
    let listener = rt.tcp_listen("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = anyrt::sync::channel::bounded::<()>(1);
    let (started_tx, started_rx) = anyrt::sync::channel::bounded::<()>(1);
    let rt2 = rt.clone();
    let slow = service_fn(move |req: Request<Incoming>| {
        let rt = rt2.clone();
        let started = started_tx.clone();
        async move {
            started.send(()).await.unwrap();
            rt.sleep(Duration::from_millis(200)).await;
            echo(req).await
        }
    });
    let signal = async move {
        let _ = stop_rx.recv().await;
    };
    let serving = rt.spawn(Server::new(&rt).serve_with_shutdown(listener, slow, signal));
    let mut client = Http1Client::connect(&rt, addr).await.unwrap();
    let request = rt.spawn(async move {
        let resp = client.send(post("/slow", b"late".to_vec())).await.unwrap();
        (body_of(resp).await, client)
    });
    started_rx.recv().await.unwrap();
    stop_tx.send(()).await.unwrap();
    // The client keeps its keep-alive connection open: the server must close it.
    let (body, client) = request.await.unwrap();
    assert_eq!(body, b"POST /slow\nlate");
    rt.timeout(Duration::from_secs(10), serving)
        .await
        .expect("the server did not return after its shutdown signal")
        .unwrap()
        .unwrap();
    let err = rt.tcp_connect(addr).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    drop(client);
}

/// HTTP/2 with prior knowledge and HTTP/1 on the same `Server` (`Protocol::Auto`): hyper's
/// HTTP/2 client, driven by `anyrt::hyper::Executor`, multiplexes 32 requests on one
/// connection.
#[cfg(feature = "hyper-http2")]
#[anyrt::test(timeout = "60s")]
async fn h2c_and_http1_on_one_server<R: Runtime>(rt: R) {
    let listener = rt.tcp_listen("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = rt.spawn(Server::new(&rt).serve(listener, service_fn(echo)));

    let stream = rt.tcp_connect(addr).await.unwrap();
    let (sender, conn) = hyper::client::conn::http2::Builder::new(anyrt::hyper::Executor::new(&rt))
        .timer(anyrt::hyper::Timer::new(&rt))
        .handshake(Io::new(stream))
        .await
        .unwrap();
    drop(rt.spawn(async move {
        let _ = conn.await;
    }));
    let mut requests = Vec::new();
    for i in 0..32 {
        let mut sender = sender.clone();
        requests.push(rt.spawn(async move {
            let body = pattern(i * 1000, i);
            let req = Request::post(format!("http://localhost/h2/{i}"))
                .body(Full::new(Bytes::from(body.clone())))
                .unwrap();
            let resp = sender.send_request(req).await.unwrap();
            assert_eq!(resp.version(), hyper::Version::HTTP_2);
            let mut expected = format!("POST /h2/{i}\n").into_bytes();
            expected.extend_from_slice(&body);
            assert!(
                body_of(resp).await == expected,
                "h2 request {i}: body differs"
            );
        }));
    }
    for r in requests {
        r.await.unwrap();
    }

    let mut client = Http1Client::connect(&rt, addr).await.unwrap();
    let resp = client.send(post("/h1", b"one".to_vec())).await.unwrap();
    assert_eq!(resp.version(), hyper::Version::HTTP_11);
    assert_eq!(body_of(resp).await, b"POST /h1\none");
    server.abort();
}

/// A response whose body streams while the client reads it slowly: 4 MiB, every byte
/// checked (the write path under back-pressure, vectored and not).
#[anyrt::test(timeout = "60s")]
async fn a_large_response_streams_under_back_pressure<R: Runtime>(rt: R) {
    for vectored in [false, true] {
        let listener = rt.tcp_listen("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let big = Bytes::from(pattern(4 << 20, 3));
        let sent = big.clone();
        let server = Server::new(&rt);
        let serving = rt.spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let service = service_fn(move |_: Request<Incoming>| {
                let body = sent.clone();
                async move { Ok::<_, Infallible>(Response::new(Full::new(body))) }
            });
            server
                .serve_connection(Io::new(stream).vectored(vectored), service)
                .await
                .is_ok()
        });
        let mut client = Http1Client::connect(&rt, addr).await.unwrap();
        let req = Request::get("/big")
            .header("host", "localhost")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let mut resp = client.send(req).await.unwrap();
        let mut got = Vec::with_capacity(big.len());
        while let Some(frame) = resp.body_mut().frame().await {
            if let Ok(data) = frame.unwrap().into_data() {
                got.extend_from_slice(&data);
                if got.len() % (1 << 20) < data.len() {
                    rt.sleep(Duration::from_millis(5)).await;
                }
            }
        }
        assert!(got == big, "vectored = {vectored}: the body differs");
        drop(client);
        assert!(
            rt.timeout(Duration::from_secs(10), serving)
                .await
                .unwrap()
                .unwrap()
        );
    }
}
