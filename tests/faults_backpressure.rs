//! Slow reader backpressure: a writer to a peer that never reads waits (`Pending`) once
//! the socket buffers are full, buffers nothing without bound, and resumes when the peer
//! reads. In a binary of its own, because it watches the process's resident memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyrt::io::{AsyncReadExt, AsyncWriteExt};
use anyrt::net::TcpListener;
use anyrt::{JoinHandle, Runtime, RuntimeExt};

#[path = "support/timing.rs"]
mod timing;
#[allow(unused_imports)]
use timing::{PROMPT, ms};

#[anyrt::test]
async fn a_writer_to_a_slow_reader_waits<R: Runtime>(rt: R) {
    let l = rt.tcp_listen("127.0.0.1:0").await.unwrap();
    let mut c = rt.tcp_connect(l.local_addr().unwrap()).await.unwrap();
    let (mut s, _) = l.accept().await.unwrap();
    let rss = || {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let written = Arc::new(AtomicUsize::new(0));
    let w2 = written.clone();
    let writer = rt.spawn(async move {
        let chunk = vec![0x5au8; 64 * 1024];
        // 64 MiB: far more than the socket buffers hold.
        for _ in 0..1024 {
            s.write_all(&chunk).await.unwrap();
            w2.fetch_add(chunk.len(), Ordering::SeqCst);
        }
        s.close().await.unwrap();
    });
    // The peer does not read: the writer fills the socket buffers, then waits (Pending).
    let mut last = 0;
    for _ in 0..100 {
        rt.sleep(ms(20)).await;
        let now = written.load(Ordering::SeqCst);
        if now == last && now > 0 {
            break;
        }
        last = now;
    }
    let stalled_at = written.load(Ordering::SeqCst);
    let rss_stalled = rss();
    rt.sleep(ms(200)).await;
    assert_eq!(
        written.load(Ordering::SeqCst),
        stalled_at,
        "the writer did not wait"
    );
    assert!(
        stalled_at < 32 << 20,
        "{stalled_at} bytes buffered for a peer that reads nothing"
    );
    assert!(!writer.is_finished());
    assert!(
        rss() < rss_stalled + 16 * 1024,
        "memory grew while the writer waited"
    );
    // The peer reads: the writer resumes and finishes.
    let mut got = 0usize;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = rt.timeout(PROMPT, c.read(&mut buf)).await.unwrap().unwrap();
        if n == 0 {
            break;
        }
        got += n;
    }
    assert_eq!(got, 64 << 20);
    rt.timeout(PROMPT, writer).await.unwrap().unwrap();
}
