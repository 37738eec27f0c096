//! After `shutdown()`, every kind of spawn behaves alike on the backends that can be shut
//! down (Tokio and Smol; Green joins may's process-wide scheduler, which never stops), and
//! an implicit thread that outlives the runtime gets errors, not panics.

use std::io::{ErrorKind, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyrt::{Runtime, implicit};

#[path = "support/timing.rs"]
mod timing;
#[allow(unused_imports)]
use timing::{PROMPT, ms};

/// Every kind of spawn after `shutdown` yields a cancelled handle, and nothing runs.
fn spawns_after_shutdown_are_cancelled<R: Runtime>(rt: R, shutdown: impl Fn(&R)) {
    assert!(!rt.is_shut_down());
    shutdown(&rt);
    assert!(rt.is_shut_down());
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let task = rt.spawn(async move { r.store(true, Ordering::SeqCst) });
    let r = ran.clone();
    let blocking = rt.spawn_blocking(move || r.store(true, Ordering::SeqCst));
    let r = ran.clone();
    let implicit = rt.spawn_implicit(move || r.store(true, Ordering::SeqCst));
    // The handles complete without the runtime: any thread's executor can await them.
    for (what, err) in [
        ("spawn", rt.block_on(task)),
        ("spawn_blocking", rt.block_on(blocking)),
        ("spawn_implicit", rt.block_on(implicit)),
    ] {
        let err = err.expect_err(what);
        assert!(err.is_cancelled(), "{what}: {err:?}");
    }
    std::thread::sleep(Duration::from_millis(100));
    assert!(!ran.load(Ordering::SeqCst), "a closure ran after shutdown");
}

/// An implicit thread that outlives its runtime: its socket calls fail with an
/// `io::Error`, and `implicit::sleep` still sleeps (it cannot fail); nothing panics.
fn an_implicit_thread_outlives_shutdown<R: Runtime>(rt: R, shutdown: impl Fn(&R)) {
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr().unwrap();
    let (connected_tx, connected_rx) = mpsc::channel::<()>();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (report_tx, report_rx) = mpsc::channel();
    let rt2 = rt.clone();
    let _thread = implicit::spawn(&rt, move || {
        let mut stream = implicit::TcpStream::connect(&rt2, addr).unwrap();
        connected_tx.send(()).unwrap();
        go_rx.recv().unwrap();
        // The runtime is shut down now.
        let t0 = Instant::now();
        implicit::sleep(&rt2, Duration::from_millis(20));
        let slept = t0.elapsed();
        let read = stream.read(&mut [0u8; 16]).map_err(|e| e.kind());
        let connect = implicit::TcpStream::connect(&rt2, addr)
            .map(drop)
            .map_err(|e| e.kind());
        let bind = implicit::TcpListener::bind(&rt2, "127.0.0.1:0")
            .map(drop)
            .map_err(|e| e.kind());
        report_tx.send((slept, read, connect, bind)).unwrap();
    });
    let (_peer, _) = server.accept().unwrap();
    connected_rx.recv_timeout(PROMPT).unwrap();
    shutdown(&rt);
    go_tx.send(()).unwrap();
    let (slept, read, connect, bind) = report_rx
        .recv_timeout(PROMPT)
        .expect("the implicit thread died (a panic?) or hung");
    assert!(slept >= Duration::from_millis(20), "slept {slept:?}");
    assert_eq!(read, Err(ErrorKind::Other));
    assert_eq!(connect, Err(ErrorKind::Other));
    assert_eq!(bind, Err(ErrorKind::Other));
}

#[cfg(feature = "tokio")]
mod tokio {
    use anyrt::Tokio;

    fn rt() -> Tokio {
        Tokio::builder().workers(2).build().unwrap()
    }

    #[test]
    fn spawns_after_shutdown_are_cancelled() {
        super::spawns_after_shutdown_are_cancelled(rt(), Tokio::shutdown);
    }

    #[test]
    fn an_implicit_thread_outlives_shutdown() {
        super::an_implicit_thread_outlives_shutdown(rt(), Tokio::shutdown);
    }
}

#[cfg(feature = "smol")]
mod smol {
    use anyrt::Smol;

    fn rt() -> Smol {
        Smol::builder().workers(2).build().unwrap()
    }

    #[test]
    fn spawns_after_shutdown_are_cancelled() {
        super::spawns_after_shutdown_are_cancelled(rt(), Smol::shutdown);
    }

    #[test]
    fn an_implicit_thread_outlives_shutdown() {
        super::an_implicit_thread_outlives_shutdown(rt(), Smol::shutdown);
    }
}

#[cfg(feature = "green")]
#[test]
fn green_is_never_shut_down() {
    assert!(!anyrt::Green::new().is_shut_down());
}
