//! Two backends in one process work together.

#![cfg(all(feature = "tokio", feature = "green"))]

use std::time::Duration;

use anyrt::io::{AsyncReadExt, AsyncWriteExt};
use anyrt::net::TcpListener;
use anyrt::{Green, Runtime, RuntimeExt, Tokio};

#[path = "support/timing.rs"]
mod timing;
#[allow(unused_imports)]
use timing::{PROMPT, ms};

#[test]
fn tokio_and_green_tasks_exchange_values_over_async_channel() {
    let tokio = Tokio::new();
    let green = Green::new();
    let (to_green, from_tokio) = async_channel::bounded::<u64>(1);
    let (to_tokio, from_green) = async_channel::bounded::<u64>(1);
    // Green doubles what Tokio sends; Tokio sums the answers.
    let doubler = green.spawn(async move {
        while let Ok(v) = from_tokio.recv().await {
            to_tokio.send(v * 2).await.unwrap();
        }
    });
    let summer = tokio.spawn(async move {
        let mut sum = 0;
        for i in 1..=100u64 {
            to_green.send(i).await.unwrap();
            sum += from_green.recv().await.unwrap();
        }
        sum
    });
    let sum = tokio
        .block_on(tokio.timeout(PROMPT, summer))
        .unwrap()
        .unwrap();
    assert_eq!(sum, 2 * (1..=100).sum::<u64>());
    green
        .block_on(green.timeout(PROMPT, doubler))
        .unwrap()
        .unwrap();
    tokio.shutdown();
}

#[test]
fn a_green_client_talks_to_a_tokio_server() {
    let tokio = Tokio::new();
    let green = Green::new();
    let listener = tokio.block_on(tokio.tcp_listen("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio.spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 100_000];
        s.read_exact(&mut buf).await.unwrap();
        buf.reverse();
        s.write_all(&buf).await.unwrap();
    });
    let g = green;
    let client = green.spawn(async move {
        let mut c = g.tcp_connect(addr).await.unwrap();
        let sent: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        c.write_all(&sent).await.unwrap();
        let mut back = vec![0u8; sent.len()];
        c.read_exact(&mut back).await.unwrap();
        back.reverse();
        back == sent
    });
    assert!(
        green
            .block_on(green.timeout(PROMPT, client))
            .unwrap()
            .unwrap()
    );
    tokio.block_on(server).unwrap();
    tokio.shutdown();
}

#[test]
fn a_green_sleep_polled_by_tokio_fires() {
    // Outside a green task, a Green timer is served by the timer thread.
    let tokio = Tokio::new();
    let green = Green::new();
    let t0 = std::time::Instant::now();
    let h = tokio.spawn(async move { green.sleep(Duration::from_millis(30)).await });
    tokio.block_on(tokio.timeout(PROMPT, h)).unwrap().unwrap();
    assert!(t0.elapsed() >= Duration::from_millis(30));
    tokio.shutdown();
}

#[test]
fn zero_workers_is_invalid_input_on_every_backend() {
    let kind = std::io::ErrorKind::InvalidInput;
    assert_eq!(
        Tokio::builder().workers(0).build().unwrap_err().kind(),
        kind
    );
    #[cfg(feature = "smol")]
    assert_eq!(
        anyrt::Smol::builder()
            .workers(0)
            .build()
            .unwrap_err()
            .kind(),
        kind
    );
    assert_eq!(
        Green::builder().workers(0).build().unwrap_err().kind(),
        kind
    );
}
