//! Churn without leaks: 20 000 connect/echo/close cycles on each backend; afterwards the
//! process's open descriptors and the server's tasks are back to where they started.
//!
//! Descriptors are counted for the whole process, so the backends run one after another
//! in a single test, alone in this binary.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyrt::io::{AsyncReadExt, AsyncWriteExt};
use anyrt::{JoinHandle, Runtime, RuntimeExt};

use anyrt_conformance::support::echo_server;

const CYCLES: usize = 20_000;
/// The bound on one churn phase: 20 000 cycles on a loaded 2-core machine.
const CHURN_LIMIT: Duration = Duration::from_secs(20);

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

async fn churn<R: Runtime>(rt: R) {
    let (addr, served, server) = echo_server(&rt).await;
    let wait_served = async |n: usize| {
        let deadline = Instant::now() + CHURN_LIMIT;
        while served.load(Ordering::SeqCst) < n && Instant::now() < deadline {
            rt.sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(
            served.load(Ordering::SeqCst),
            n,
            "server tasks still running"
        );
    };
    // Warm up (the runtime's own descriptors, pools), then take the baseline.
    for _ in 0..10 {
        let mut c = rt.tcp_connect(addr).await.unwrap();
        c.write_all(b"warm").await.unwrap();
        let mut b = [0u8; 4];
        c.read_exact(&mut b).await.unwrap();
    }
    wait_served(10).await;
    let fds0 = open_fds();
    for i in 0..CYCLES {
        let mut c = rt.tcp_connect(addr).await.unwrap();
        let msg = (i as u32).to_le_bytes();
        c.write_all(&msg).await.unwrap();
        let mut back = [0u8; 4];
        c.read_exact(&mut back).await.unwrap();
        assert_eq!(back, msg);
    }
    wait_served(CYCLES + 10).await;
    let deadline = Instant::now() + CHURN_LIMIT;
    while open_fds() > fds0 && Instant::now() < deadline {
        rt.sleep(Duration::from_millis(10)).await;
    }
    assert!(
        open_fds() <= fds0,
        "{}: {} descriptors open after the churn, {fds0} before",
        rt.name(),
        open_fds()
    );
    server.abort();
    assert!(
        rt.timeout(CHURN_LIMIT, server)
            .await
            .unwrap()
            .unwrap_err()
            .is_cancelled()
    );
}

#[test]
fn connection_churn_leaks_nothing() {
    #[cfg(feature = "tokio")]
    {
        let rt = anyrt::Tokio::new();
        rt.block_on(churn(rt.clone()));
        rt.shutdown();
    }
    #[cfg(feature = "smol")]
    {
        let rt = anyrt::Smol::new();
        rt.block_on(churn(rt.clone()));
        rt.shutdown();
    }
    #[cfg(feature = "green")]
    {
        let rt = anyrt::Green::new();
        rt.block_on(churn(rt));
    }
}
