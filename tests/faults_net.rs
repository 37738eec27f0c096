//! Faults, bad input and load: every case runs on every backend and asserts what happened.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyrt::io::{AsyncReadExt, AsyncWriteExt};
use anyrt::net::{TcpListener, TcpStream, UdpSocket};
use anyrt::{JoinHandle, Runtime, RuntimeExt};

use anyrt_conformance::support::SetOnDrop;
use anyrt_conformance::support::echo_server;

#[path = "support/timing.rs"]
mod timing;
#[allow(unused_imports)]
use timing::{PROMPT, ms};

/// Connects to `addr` and checks that the server there still echoes.
async fn echo_once<R: Runtime>(rt: &R, addr: SocketAddr) {
    let mut c = rt.tcp_connect(addr).await.unwrap();
    c.write_all(b"still serving").await.unwrap();
    let mut buf = [0u8; 13];
    rt.timeout(PROMPT, c.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf, b"still serving");
}

// 1. Peer reset.
#[anyrt::test]
async fn peer_reset_gives_errors_not_a_crash<R: Runtime>(rt: R) {
    let l = rt.tcp_listen("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    // The client is a plain std socket that resets the connection: SO_LINGER 0, close.
    let client = std::net::TcpStream::connect(addr).unwrap();
    let (mut s, _) = l.accept().await.unwrap();
    std::io::Write::write_all(&mut &client, b"partial").unwrap();
    socket2::SockRef::from(&client)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(client);
    let mut buf = [0u8; 64];
    // The data that arrived before the reset may or may not be readable (the OS decides);
    // then the read reports the reset (or EOF where the OS says so).
    let mut read_err = None;
    for _ in 0..3 {
        match rt.timeout(PROMPT, s.read(&mut buf)).await.unwrap() {
            Ok(0) => break,
            Ok(_) => continue,
            Err(e) => {
                read_err = Some(e.kind());
                break;
            }
        }
    }
    if let Some(kind) = read_err {
        assert_eq!(kind, ErrorKind::ConnectionReset);
    }
    // Writing to a reset connection fails (no SIGPIPE kills the process).
    let mut write_err = None;
    for _ in 0..10 {
        if let Err(e) = s.write_all(&[0u8; 1024]).await {
            write_err = Some(e.kind());
            break;
        }
        rt.sleep(ms(10)).await;
    }
    let kind = write_err.expect("writes to a reset connection must fail");
    assert!(
        matches!(kind, ErrorKind::BrokenPipe | ErrorKind::ConnectionReset),
        "{kind:?}"
    );
    // The listener still accepts.
    let c2 = rt.tcp_connect(addr).await.unwrap();
    let (s2, _) = rt.timeout(PROMPT, l.accept()).await.unwrap().unwrap();
    assert_eq!(s2.peer_addr().unwrap(), c2.local_addr().unwrap());
}

// 3. Churn without leaks: tests/faults_leaks.rs (it counts the process's descriptors, so
// it runs alone).

// 4. Panic storm.
#[anyrt::test]
async fn panic_storm<R: Runtime>(rt: R) {
    quiet_storm_panics();
    let handles: Vec<_> = (0..10_000u32)
        .map(|i| {
            rt.spawn(async move {
                if i % 2 == 1 {
                    std::panic::panic_any(StormPanic(i));
                }
                i
            })
        })
        .collect();
    let (mut ok, mut panicked) = (0, 0);
    for (i, h) in handles.into_iter().enumerate() {
        match h.await {
            Ok(v) => {
                assert_eq!(v as usize, i);
                ok += 1;
            }
            Err(e) => {
                assert!(e.is_panic());
                let payload = e.into_panic();
                assert_eq!(
                    payload.downcast_ref::<StormPanic>().map(|p| p.0 as usize),
                    Some(i)
                );
                panicked += 1;
            }
        }
    }
    assert_eq!((ok, panicked), (5_000, 5_000));
    let (addr, _, server) = echo_server(&rt).await;
    drop(server);
    echo_once(&rt, addr).await;
}

#[derive(Debug)]
struct StormPanic(u32);

/// Keeps the 5 000 storm panics off stderr; every other panic is reported as usual.
fn quiet_storm_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<StormPanic>().is_none() {
                default(info);
            }
        }));
    });
}

// 5. Abort while blocked.
async fn assert_aborted<R: Runtime, T: Send + 'static>(
    rt: &R,
    h: R::JoinHandle<T>,
    dropped: &AtomicBool,
) {
    rt.sleep(ms(30)).await; // let it block
    assert!(!h.is_finished());
    let t0 = Instant::now();
    h.abort();
    let err = rt
        .timeout(PROMPT, h)
        .await
        .expect("abort must end the task promptly");
    assert!(err.err().is_some_and(|e| e.is_cancelled()));
    assert!(t0.elapsed() < PROMPT);
    assert!(
        dropped.load(Ordering::SeqCst),
        "the future was not dropped by the time join returned"
    );
}

#[anyrt::test]
async fn abort_while_blocked_in_accept_read_recv_sleep<R: Runtime>(rt: R) {
    // accept: the port is free again once the aborted task is joined.
    let l = rt.tcp_listen("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let dropped = Arc::new(AtomicBool::new(false));
    let guard = SetOnDrop(dropped.clone());
    let h = rt.spawn(async move {
        let _g = guard;
        l.accept().await.map(|_| ())
    });
    assert_aborted(&rt, h, &dropped).await;
    let again = rt
        .tcp_listen(addr)
        .await
        .expect("the aborted listener's port is free");
    drop(again);

    // read
    let l = rt.tcp_listen("127.0.0.1:0").await.unwrap();
    let mut c = rt.tcp_connect(l.local_addr().unwrap()).await.unwrap();
    let (s, _) = l.accept().await.unwrap();
    let dropped = Arc::new(AtomicBool::new(false));
    let guard = SetOnDrop(dropped.clone());
    let h = rt.spawn(async move {
        let _g = guard;
        let mut s = s;
        let mut buf = [0u8; 8];
        s.read(&mut buf).await.map(|_| ())
    });
    assert_aborted(&rt, h, &dropped).await;
    // The server side was closed: the client reads EOF.
    let mut buf = [0u8; 8];
    assert_eq!(
        rt.timeout(PROMPT, c.read(&mut buf)).await.unwrap().unwrap(),
        0
    );

    // recv_from: the UDP port is free again.
    let u = rt.udp_bind("127.0.0.1:0").await.unwrap();
    let uaddr = u.local_addr().unwrap();
    let dropped = Arc::new(AtomicBool::new(false));
    let guard = SetOnDrop(dropped.clone());
    let h = rt.spawn(async move {
        let _g = guard;
        let mut buf = [0u8; 8];
        u.recv_from(&mut buf).await.map(|_| ())
    });
    assert_aborted(&rt, h, &dropped).await;
    drop(
        rt.udp_bind(uaddr)
            .await
            .expect("the aborted socket's port is free"),
    );

    // sleep
    let dropped = Arc::new(AtomicBool::new(false));
    let guard = SetOnDrop(dropped.clone());
    let rt2 = rt.clone();
    let h = rt.spawn(async move {
        let _g = guard;
        rt2.sleep(Duration::from_secs(3600)).await;
    });
    assert_aborted(&rt, h, &dropped).await;
}

// 8. Bad addresses.
#[anyrt::test]
async fn bad_addresses_give_errors<R: Runtime>(rt: R) {
    for bad in ["not an address", "127.0.0.1:70000", "[::1]:99999", ""] {
        let e = rt.tcp_connect(bad).await.expect_err(bad);
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}: {e}");
        let e = rt.tcp_listen(bad).await.expect_err(bad);
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}: {e}");
        let e = rt.udp_bind(bad).await.expect_err(bad);
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}: {e}");
    }
    // A name that cannot resolve: the resolver's error, promptly, never a panic.
    let t0 = Instant::now();
    let e = rt
        .timeout(PROMPT * 3, rt.tcp_connect("host.invalid:80"))
        .await
        .expect("resolution must end")
        .expect_err("host.invalid must not resolve");
    assert!(!e.to_string().is_empty());
    assert!(t0.elapsed() < PROMPT * 3);
    assert!(rt.udp_bind(("host.invalid", 0)).await.is_err());
}

// 9. Slow reader backpressure: tests/faults_backpressure.rs (it watches the process's RSS,
// so it runs apart from the memory-hungry cases here).

// 10. Timers under load.
#[anyrt::test]
async fn timers_fire_with_both_cores_busy<R: Runtime>(rt: R) {
    let stop = Arc::new(AtomicBool::new(false));
    let burners: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop.clone();
            rt.spawn_blocking(move || {
                let mut x = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
                x
            })
        })
        .collect();
    rt.sleep(ms(20)).await;
    let t0 = Instant::now();
    rt.sleep(ms(100)).await;
    let took = t0.elapsed();
    stop.store(true, Ordering::SeqCst);
    for b in burners {
        b.await.unwrap();
    }
    assert!(took >= ms(100), "fired early: {took:?}");
    assert!(
        took < Duration::from_secs(1),
        "fired {took:?} after a 100 ms sleep"
    );
}
