//! TLS over anyrt's streams with no glue, on every backend: futures-rustls over
//! `R::TcpStream` (async style) and rustls's own `StreamOwned` over
//! `anyrt::implicit::TcpStream` (blocking style), with rustls's `ring` provider and a
//! certificate made by rcgen for the test.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use anyrt::implicit;
use anyrt::io::{AsyncReadExt, AsyncWriteExt};
use anyrt::net::TcpListener;
use anyrt::{Runtime, RuntimeExt};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};

/// A server and a client configuration that trust each other, for "localhost".
fn configs() -> (Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert: CertificateDer<'static> = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
    // rustls's process-wide default: the `ring` provider, the only one its features enable.
    let server = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let client = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (Arc::new(server), Arc::new(client))
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 253) as u8).collect()
}

/// An echo of 64 KiB through TLS: futures-rustls's acceptor and connector take the
/// backend's streams as they are.
#[anyrt::test]
async fn futures_rustls_over_every_backends_stream<R: Runtime>(rt: R) {
    let (server_config, client_config) = configs();
    let listener = rt.tcp_listen("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = rt.spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut tls = futures_rustls::TlsAcceptor::from(server_config)
            .accept(tcp)
            .await
            .unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        tls.read_exact(&mut buf).await.unwrap();
        tls.write_all(&buf).await.unwrap();
        tls.close().await.unwrap();
    });
    let tcp = rt.tcp_connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = futures_rustls::TlsConnector::from(client_config)
        .connect(name, tcp)
        .await
        .unwrap();
    let data = pattern(64 * 1024);
    tls.write_all(&data).await.unwrap();
    tls.flush().await.unwrap();
    let mut back = Vec::new();
    rt.timeout(Duration::from_secs(10), tls.read_to_end(&mut back))
        .await
        .expect("the TLS echo took too long")
        .unwrap();
    assert!(back == data, "bytes differ after the TLS round trip");
    server.await.unwrap();
}

/// The same in blocking style: rustls's sync `StreamOwned` over anyrt's implicit
/// streams, server and client on implicit threads.
#[anyrt::test]
async fn rustls_stream_owned_over_implicit_streams<R: Runtime>(rt: R) {
    let (server_config, client_config) = configs();
    let rt2 = rt.clone();
    let done = rt.spawn_blocking(move || {
        let listener = implicit::TcpListener::bind(&rt2, "127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = implicit::spawn(&rt2, move || {
            let (tcp, _) = listener.accept().unwrap();
            let conn = rustls::ServerConnection::new(server_config).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let mut buf = vec![0u8; 64 * 1024];
            tls.read_exact(&mut buf).unwrap();
            tls.write_all(&buf).unwrap();
            tls.flush().unwrap();
        });
        let rt3 = rt2.clone();
        let client = implicit::spawn(&rt2, move || {
            let tcp = implicit::TcpStream::connect(&rt3, addr).unwrap();
            let name = ServerName::try_from("localhost").unwrap();
            let conn = rustls::ClientConnection::new(client_config, name).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let data = pattern(64 * 1024);
            tls.write_all(&data).unwrap();
            tls.flush().unwrap();
            let mut back = vec![0u8; data.len()];
            tls.read_exact(&mut back).unwrap();
            back == data
        });
        server.join().unwrap();
        client.join().unwrap()
    });
    let same = rt
        .timeout(Duration::from_secs(20), done)
        .await
        .expect("the blocking-style TLS echo took too long")
        .unwrap();
    assert!(same, "bytes differ after the blocking-style TLS round trip");
}

/// HTTPS through `anyrt::hyper`: hyper's server and client over futures-rustls streams
/// (`anyrt::hyper::FuturesIo`) over the backend's TCP streams, 10 requests on one
/// connection with 32 KiB bodies checked byte for byte.
#[cfg(feature = "hyper")]
#[anyrt::test(timeout = "60s")]
async fn https_round_trips_through_anyrt_hyper<R: Runtime>(rt: R) {
    use anyrt::hyper::{FuturesIo, Http1Client, Server};
    use http_body_util::{BodyExt, Full};
    use hyper::body::{Bytes, Incoming};

    let (server_config, client_config) = configs();
    let listener = rt.tcp_listen("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Server::new(&rt);
    let serving = rt.spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let tls = futures_rustls::TlsAcceptor::from(server_config)
            .accept(tcp)
            .await
            .unwrap();
        let service = hyper::service::service_fn(|req: hyper::Request<Incoming>| async move {
            let body = req.into_body().collect().await?.to_bytes();
            let reversed: Vec<u8> = body.iter().rev().copied().collect();
            Ok::<_, hyper::Error>(hyper::Response::new(Full::new(Bytes::from(reversed))))
        });
        server
            .serve_connection(FuturesIo::new(tls), service)
            .await
            .is_ok()
    });
    let tcp = rt.tcp_connect(addr).await.unwrap();
    let tls = futures_rustls::TlsConnector::from(client_config)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let mut client = Http1Client::handshake(&rt, FuturesIo::new(tls))
        .await
        .unwrap();
    for i in 0..10 {
        let body: Vec<u8> = pattern(32 * 1024).into_iter().map(|b| b ^ i).collect();
        let req = hyper::Request::post("https://localhost/")
            .header("host", "localhost")
            .body(Full::new(Bytes::from(body.clone())))
            .unwrap();
        let resp = client.send(req).await.unwrap();
        let got = resp.into_body().collect().await.unwrap().to_bytes();
        let expected: Vec<u8> = body.into_iter().rev().collect();
        assert!(got == expected, "request {i}: the body differs");
    }
    drop(client);
    let served = rt
        .timeout(Duration::from_secs(10), serving)
        .await
        .unwrap()
        .unwrap();
    assert!(served);
}
