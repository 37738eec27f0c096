//! With the `tokio-io` feature, generic code uses tokio's I/O ecosystem on every backend's
//! stream with no `.compat()`: tokio-util's `Framed` with a `LinesCodec`, and tokio's own
//! `AsyncReadExt`/`AsyncWriteExt`, over TCP (and Unix) streams of Tokio, Smol and Green.
#![cfg(feature = "tokio-io")]

use anyrt::net::TcpListener;
use anyrt::{Runtime, RuntimeExt};
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio_util::codec::{Framed, LinesCodec};

/// A line-echo server and client, both written against tokio-util's codec, generic over
/// the backend: only `R::TcpStream: anyrt::net::TcpStream` is needed.
#[anyrt::test]
async fn tokio_util_codecs_on_every_backends_stream<R: Runtime>(rt: R) {
    let listener = rt.tcp_listen("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = rt.spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut lines = Framed::new(stream, LinesCodec::new());
        while let Some(line) = lines.next().await {
            let line = line.unwrap();
            lines.send(format!("echo: {line}")).await.unwrap();
        }
    });
    let stream = rt.tcp_connect(addr).await.unwrap();
    let mut lines = Framed::new(stream, LinesCodec::new());
    for i in 0..100 {
        lines.send(format!("line {i}")).await.unwrap();
        let back = rt
            .timeout(Duration::from_secs(5), lines.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(back, format!("echo: line {i}"));
    }
    // tokio's own extension traits on the same stream, after the codec.
    let mut stream = lines.into_inner();
    {
        use tokio::io::AsyncWriteExt;
        stream.write_all(b"last\n").await.unwrap();
        AsyncWriteExt::shutdown(&mut stream).await.unwrap();
    }
    let mut rest = String::new();
    {
        use tokio::io::AsyncReadExt;
        rt.timeout(Duration::from_secs(5), stream.read_to_string(&mut rest))
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(rest, "echo: last\n");
    server.await.unwrap();
}

/// Unix streams too.
#[cfg(unix)]
#[anyrt::test]
async fn tokio_io_on_unix_streams<R: Runtime>(rt: R) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut a, mut b) = rt.unix_stream_pair().unwrap();
    a.write_all(b"over a unix pair").await.unwrap();
    let mut buf = [0u8; 16];
    rt.timeout(Duration::from_secs(5), b.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf, b"over a unix pair");
}
