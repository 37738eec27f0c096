//! After `shutdown()`, every kind of spawn behaves alike on the backends that can be shut
//! down (Tokio and Smol; Green joins may's process-wide scheduler, which never stops), from
//! outside the runtime or from one of its own tasks, and an implicit thread that outlives
//! the runtime gets errors, not panics. A task's spawn reaches the runtime it names, not
//! the one it runs on.

use std::io::{ErrorKind, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyrt::{Runtime, RuntimeExt, implicit};

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

/// A task that shuts its own runtime down and spawns in the same poll (its worker still
/// running it) gets a cancelled handle, and the task never runs.
fn a_task_that_shuts_its_runtime_down_spawns_nothing<R: Runtime>(rt: R, shutdown: fn(&R)) {
    let ran = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let rt2 = rt.clone();
    let r = ran.clone();
    drop(rt.spawn(async move {
        shutdown(&rt2);
        let r2 = r.clone();
        let late = [
            rt2.spawn(async move { r.store(true, Ordering::SeqCst) }),
            rt2.spawn_blocking(move || r2.store(true, Ordering::SeqCst)),
        ];
        tx.send(late).unwrap();
    }));
    let late = rx
        .recv_timeout(PROMPT)
        .expect("the task that shuts the runtime down did not run");
    for (what, h) in ["spawn", "spawn_blocking"].into_iter().zip(late) {
        let err = futures_lite::future::block_on(h).expect_err(what);
        assert!(err.is_cancelled(), "{what}: {err:?}");
    }
    std::thread::sleep(Duration::from_millis(100));
    assert!(!ran.load(Ordering::SeqCst), "a task ran after shutdown");
}

/// A task of one runtime that spawns on another of the same backend (`named` builds one
/// whose worker threads have the name it is given): the new task runs on the other's
/// workers, not on the worker that spawned it.
fn a_task_spawns_onto_the_runtime_it_names<R: Runtime>(named: fn(&str) -> R) {
    let (a, b) = (named("rt-a"), named("rt-b"));
    let b2 = b.clone();
    let h = a.spawn(async move {
        b2.spawn(async { std::thread::current().name().map(str::to_owned) })
            .await
            .unwrap()
    });
    let name = a.block_on(a.timeout(PROMPT, h)).unwrap().unwrap();
    assert_eq!(name.as_deref(), Some("rt-b"));
    drop(b);
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

/// The tests above, for a backend that can be shut down: `$rt` with its builder.
macro_rules! shut_down_backend {
    ($module:ident, $feature:literal, $rt:ident) => {
        #[cfg(feature = $feature)]
        mod $module {
            use anyrt::$rt;

            fn rt() -> $rt {
                $rt::builder().workers(2).build().unwrap()
            }

            #[test]
            fn spawns_after_shutdown_are_cancelled() {
                super::spawns_after_shutdown_are_cancelled(rt(), $rt::shutdown);
            }

            #[test]
            fn an_implicit_thread_outlives_shutdown() {
                super::an_implicit_thread_outlives_shutdown(rt(), $rt::shutdown);
            }

            #[test]
            fn a_task_that_shuts_its_runtime_down_spawns_nothing() {
                super::a_task_that_shuts_its_runtime_down_spawns_nothing(rt(), $rt::shutdown);
            }

            #[test]
            fn a_task_spawns_onto_the_runtime_it_names() {
                super::a_task_spawns_onto_the_runtime_it_names(|name| {
                    $rt::builder().workers(1).thread_name(name).build().unwrap()
                });
            }
        }
    };
}

shut_down_backend!(tokio, "tokio", Tokio);
shut_down_backend!(smol, "smol", Smol);

#[cfg(feature = "green")]
#[test]
fn green_is_never_shut_down() {
    assert!(!anyrt::Green::new().is_shut_down());
}
