//! Faults that need a process of their own: descriptor exhaustion, runtime shutdown and
//! thread counts, process exit with pending green tasks, green stack overflow.
//!
//! Each case re-executes this test binary (the `#[ignore]`d `child` entry) with
//! `ANYRT_FAULT` naming the case and `ANYRT_BACKEND` the backend, and checks the child's
//! exit status and output.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use anyrt::io::{AsyncReadExt, AsyncWriteExt};
use anyrt::net::TcpListener;
use anyrt::{Runtime, RuntimeExt};

const PROMPT: Duration = Duration::from_secs(10);

/// Runs the child entry with `fault` on `backend`, through `sh -c PREFIX` (for `ulimit`).
fn run_child(fault: &str, backend: &str, prefix: &str) -> (Output, Duration) {
    let exe = std::env::current_exe().unwrap();
    let t0 = Instant::now();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{prefix} exec \"$0\" --exact child --ignored --nocapture --test-threads=1"
        ))
        .arg(exe)
        .env("ANYRT_FAULT", fault)
        .env("ANYRT_BACKEND", backend)
        .output()
        .unwrap();
    (out, t0.elapsed())
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn backends() -> Vec<&'static str> {
    let mut v = Vec::new();
    if cfg!(feature = "tokio") {
        v.push("tokio");
    }
    if cfg!(feature = "smol") {
        v.push("smol");
    }
    if cfg!(feature = "green") {
        v.push("green");
    }
    v
}

// 2. Descriptor exhaustion.
#[test]
fn accept_reports_descriptor_exhaustion_and_recovers() {
    for backend in backends() {
        let (out, _) = run_child("fds", backend, "ulimit -n 256 &&");
        let t = text(&out);
        assert!(out.status.success(), "{backend}: {t}");
        assert!(t.contains("fd-exhaustion ok"), "{backend}: {t}");
    }
}

// 6. Shutdown: workers stop, no thread is left behind; pending green tasks never keep a
// process alive.
#[test]
fn dropping_the_last_handle_stops_the_workers() {
    for backend in backends().into_iter().filter(|b| *b != "green") {
        let (out, _) = run_child("shutdown", backend, "");
        let t = text(&out);
        assert!(out.status.success(), "{backend}: {t}");
        assert!(t.contains("shutdown ok"), "{backend}: {t}");
    }
}

#[test]
#[cfg(feature = "green")]
fn pending_green_tasks_do_not_keep_the_process_alive() {
    let (out, took) = run_child("green-exit", "green", "");
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("green-exit returning"), "{t}");
    assert!(took < PROMPT, "the process took {took:?} to exit");
}

// 7. Green stack overflow.
#[test]
#[cfg(feature = "green")]
fn green_stack_overflow_fails_loudly_and_a_bigger_stack_fixes_it() {
    let (out, _) = run_child("stack-small", "green", "");
    let t = text(&out);
    // The guard page caught it (nothing was corrupted), may reported it and abandoned that
    // coroutine; the process and the other tasks carried on. (The overflowed task's
    // handle never completes: a limitation of may 0.3, see the anyrt-green docs.)
    assert!(out.status.success(), "{t}");
    assert!(t.contains("overflowed its stack"), "{t}");
    assert!(t.contains("others carried on"), "{t}");
    assert!(!t.contains("deep poll done"), "{t}");
    let (out, _) = run_child("stack-big", "green", "");
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("deep poll done"), "{t}");
}

/// The child side: does nothing unless `ANYRT_FAULT` is set.
#[test]
#[ignore = "entry point for the child processes of this file's tests"]
fn child() {
    let Ok(fault) = std::env::var("ANYRT_FAULT") else {
        return;
    };
    let backend = std::env::var("ANYRT_BACKEND").unwrap_or_default();
    match (fault.as_str(), backend.as_str()) {
        #[cfg(feature = "tokio")]
        ("fds", "tokio") => {
            let rt = anyrt::Tokio::new();
            rt.block_on(fd_exhaustion(rt.clone()));
        }
        #[cfg(feature = "smol")]
        ("fds", "smol") => {
            let rt = anyrt::Smol::new();
            rt.block_on(fd_exhaustion(rt.clone()));
        }
        #[cfg(feature = "green")]
        ("fds", "green") => {
            let rt = anyrt::Green::new();
            rt.block_on(fd_exhaustion(rt));
        }
        #[cfg(feature = "tokio")]
        ("shutdown", "tokio") => shutdown(anyrt::Tokio::new, anyrt::Tokio::shutdown),
        #[cfg(feature = "smol")]
        ("shutdown", "smol") => shutdown(anyrt::Smol::new, anyrt::Smol::shutdown),
        #[cfg(feature = "green")]
        ("green-exit", _) => green_exit(),
        #[cfg(feature = "green")]
        ("stack-small", _) => overflow(anyrt::Green::new()),
        #[cfg(feature = "green")]
        ("stack-big", _) => deep_poll(anyrt::Green::builder().stack_size(4 << 20).build().unwrap()),
        other => panic!("unknown child case {other:?}"),
    }
}

async fn fd_exhaustion<R: Runtime>(rt: R) {
    use std::sync::{Arc, Mutex};
    let l = rt.tcp_listen("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let emfile = Arc::new(Mutex::new(0usize));
    let kept = Arc::new(Mutex::new(Vec::new()));
    let (rt2, emfile2, kept2) = (rt.clone(), emfile.clone(), kept.clone());
    drop(rt.spawn(async move {
        loop {
            match l.accept().await {
                Ok((s, _)) => kept2.lock().unwrap().push(s),
                Err(e) => {
                    // Out of descriptors: an error, not a panic; back off and retry.
                    assert_eq!(e.raw_os_error(), Some(24), "{e}"); // EMFILE
                    *emfile2.lock().unwrap() += 1;
                    rt2.sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }));
    // Connect until the process is out of descriptors (the accepted ends use them too).
    let mut clients = Vec::new();
    let deadline = Instant::now() + PROMPT;
    while *emfile.lock().unwrap() == 0 && Instant::now() < deadline {
        match std::net::TcpStream::connect(addr) {
            Ok(c) => clients.push(c),
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(24), "client: {e}");
                rt.sleep(Duration::from_millis(20)).await;
            }
        }
    }
    assert!(
        *emfile.lock().unwrap() > 0,
        "accept never ran out of descriptors"
    );
    // Free descriptors; the same accept loop serves again.
    clients.clear();
    kept.lock().unwrap().clear();
    rt.sleep(Duration::from_millis(100)).await;
    let mut c = rt.tcp_connect(addr).await.unwrap();
    let me = anyrt::net::TcpStream::local_addr(&c).unwrap();
    let mut s = None;
    let deadline = Instant::now() + PROMPT;
    while s.is_none() && Instant::now() < deadline {
        // The backlog still held connections from the exhaustion phase: find ours.
        s = {
            let mut k = kept.lock().unwrap();
            k.iter()
                .position(|s| anyrt::net::TcpStream::peer_addr(s).ok() == Some(me))
                .map(|i| k.swap_remove(i))
        };
        rt.sleep(Duration::from_millis(10)).await;
    }
    let mut s = s.expect("the accept loop did not serve again");
    s.write_all(b"back").await.unwrap();
    let mut buf = [0u8; 4];
    rt.timeout(PROMPT, c.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf, b"back");
    println!(
        "fd-exhaustion ok ({} accept errors)",
        emfile.lock().unwrap()
    );
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count())
}

#[cfg(any(feature = "tokio", feature = "smol"))]
fn shutdown<R: Runtime>(new: fn() -> R, stop: fn(&R)) {
    // Warm up process-wide helpers (smol's async-io reactor thread) before the baseline.
    drop(new());
    std::thread::sleep(Duration::from_millis(100));
    let base = threads();
    let rt = new();
    let (tx, rx) = async_channel::bounded::<()>(1);
    for _ in 0..100 {
        let rx = rx.clone();
        drop(rt.spawn(async move { rx.recv().await.is_ok() }));
    }
    let r2 = rt.clone();
    drop(rt.spawn(async move { r2.sleep(Duration::from_secs(3600)).await }));
    std::thread::sleep(Duration::from_millis(50));
    assert!(threads() > base, "the runtime started no threads?");
    let t0 = Instant::now();
    // The sleeping task holds a clone: stop explicitly, then drop ours.
    stop(&rt);
    drop(rt);
    while threads() > base && t0.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(threads(), base, "threads left behind after 1 s");
    // A runtime whose tasks hold no handle stops when the last handle drops.
    let rt = new();
    for _ in 0..100 {
        let rx = rx.clone();
        drop(rt.spawn(async move { rx.recv().await.is_ok() }));
    }
    let t0 = Instant::now();
    drop(rt);
    while threads() > base && t0.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(threads(), base, "threads left behind after 1 s");
    drop(tx);
    println!("shutdown ok");
}

#[cfg(feature = "green")]
fn green_exit() {
    let rt = anyrt::Green::new();
    for _ in 0..100 {
        drop(rt.spawn(async move { rt.sleep(Duration::from_secs(3600)).await }));
        drop(rt.spawn_implicit(move || anyrt::implicit::sleep(&rt, Duration::from_secs(3600))));
    }
    drop(rt.spawn(std::future::pending::<()>()));
    std::thread::sleep(Duration::from_millis(50));
    println!("green-exit returning");
}

/// Needs 256 KiB of stack.
#[cfg(feature = "green")]
#[inline(never)]
fn deep() -> u8 {
    let big = std::hint::black_box([1u8; 256 * 1024]);
    big.iter().fold(0u8, |a, b| a.wrapping_add(*b))
}

/// Overflows a 64 KiB stack, then checks that the rest of the runtime works.
#[cfg(feature = "green")]
fn overflow(rt: anyrt::Green) {
    use anyrt::JoinHandle;
    let h = rt.spawn(async { deep() });
    std::thread::sleep(Duration::from_millis(300));
    assert!(!h.is_finished());
    let others: Vec<_> = (0..100u32).map(|i| rt.spawn(async move { i })).collect();
    let sum: u32 = others.into_iter().map(|h| rt.block_on(h).unwrap()).sum();
    assert_eq!(sum, (0..100).sum::<u32>());
    rt.block_on(rt.sleep(Duration::from_millis(5)));
    println!("others carried on");
}

/// A poll that needs 256 KiB of stack, on a stack that fits it.
#[cfg(feature = "green")]
fn deep_poll(rt: anyrt::Green) {
    let h = rt.spawn(async { deep() });
    let r = rt.block_on(rt.timeout(PROMPT, h));
    assert!(r.is_ok_and(|j| j.is_ok()));
    println!("deep poll done");
}
