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

#[path = "support/timing.rs"]
mod timing;
#[allow(unused_imports)]
use timing::{PROMPT, ms};

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
    macro_rules! name {
        ($name:ident, $runtime:ty) => {
            v.push(stringify!($name));
        };
    }
    anyrt::for_each_backend!(name);
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
fn green_stack_overflow_aborts_with_a_message_and_a_bigger_stack_fixes_it() {
    let (out, took) = run_child("stack-small", "green", "");
    let t = text(&out);
    // The guard page caught it (nothing was corrupted), and the process stopped at once
    // with a message naming the setting to raise: no join handle waits forever.
    assert!(!out.status.success(), "{t}");
    assert!(
        t.contains("anyrt-green: a green task overflowed its coroutine stack"),
        "{t}"
    );
    assert!(t.contains("stack_size("), "{t}");
    assert!(!t.contains("deep poll done"), "{t}");
    assert!(took < PROMPT, "took {took:?}");
    let (out, _) = run_child("stack-big", "green", "");
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("deep poll done"), "{t}");
}

// 8. Blocking a green worker is loud: the stall monitor says so.
#[test]
#[cfg(feature = "green")]
fn green_workers_blocked_in_std_calls_are_reported() {
    let line = the_one_stall_report("stall");
    assert!(line.contains("all 2 workers blocked"), "{line}");
}

// 8b. So is blocking one of them while the other runs on: what may queued on the blocked
// one waits for it.
#[test]
#[cfg(feature = "green")]
fn one_green_worker_blocked_in_a_std_call_is_reported() {
    let line = the_one_stall_report("stall-one");
    assert!(line.contains("1 of 2 workers blocked"), "{line}");
}

/// Runs the stall child `fault`, which blocks workers in std calls for three seconds, and
/// returns the monitor's line: one after a second, and not again within the next few.
#[cfg(feature = "green")]
fn the_one_stall_report(fault: &str) -> String {
    let (out, _) = run_child(fault, "green", "");
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("stall-child exiting"), "{t}");
    let lines: Vec<_> = t
        .lines()
        .filter(|l| l.starts_with("anyrt-green:"))
        .collect();
    assert_eq!(lines.len(), 1, "{t}");
    assert!(lines[0].contains("std::sync"), "{t}");
    lines[0].to_owned()
}

// 9. Start-up errors are errors: no descriptor left for the runtime's event loop.
#[test]
fn building_a_runtime_without_descriptors_is_an_error() {
    for backend in backends().into_iter().filter(|b| *b != "tokio") {
        let (out, _) = run_child("start-fds", backend, "ulimit -n 128 &&");
        let t = text(&out);
        assert!(out.status.success(), "{backend}: {t}");
        assert!(t.contains("start-fds ok"), "{backend}: {t}");
    }
}

// 10. A stack the kernel refuses is an error that names the limit.
#[test]
#[cfg(feature = "green")]
fn a_refused_green_stack_is_an_error_naming_the_limit() {
    // 4 GiB of address space: may's pool and a few thousand 1 MiB stacks fit, not 100 000.
    let (out, _) = run_child("stack-refused", "green", "ulimit -v 4194304 &&");
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("stack-refused ok"), "{t}");
    assert!(!t.contains("panicked"), "{t}");
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
        ("stack-small", _) => overflow(
            anyrt::Green::builder()
                .stack_size(64 * 1024)
                .build()
                .unwrap(),
        ),
        #[cfg(feature = "green")]
        ("stall", _) => stall(),
        #[cfg(feature = "green")]
        ("stall-one", _) => stall_one(),
        #[cfg(feature = "green")]
        ("stack-refused", _) => stack_refused(),
        #[cfg(feature = "green")]
        ("start-fds", "green") => start_without_fds(
            || anyrt::Green::builder().build(),
            || {
                // `Green::new` cannot return the error: its spawns report it.
                let rt = anyrt::Green::new();
                let err = rt.block_on(rt.spawn(async { 1 })).unwrap_err();
                assert!(err.to_string().contains("Too many open files"), "{err}");
            },
        ),
        #[cfg(feature = "smol")]
        ("start-fds", "smol") => {
            start_without_fds(|| anyrt::Smol::builder().workers(2).build(), || {})
        }
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
    // Free descriptors; the same accept loop serves again. It also accepts what the
    // backlog still holds from the exhaustion phase, which can take the freed descriptors
    // again before our connect: free them again and retry, for a bounded time.
    clients.clear();
    let deadline = Instant::now() + PROMPT;
    let mut c = loop {
        kept.lock().unwrap().clear();
        rt.sleep(Duration::from_millis(100)).await;
        match rt.tcp_connect(addr).await {
            Ok(c) => break c,
            Err(e) if e.raw_os_error() == Some(24) && Instant::now() < deadline => {}
            Err(e) => panic!("connect after freeing descriptors: {e}"),
        }
    };
    let me = anyrt::net::TcpStream::local_addr(&c).unwrap();
    let mut s = None;
    let deadline = Instant::now() + PROMPT;
    while s.is_none() && Instant::now() < deadline {
        // The backlog still held connections from the exhaustion phase: find ours. The
        // others are dropped as we go: accepting them may use up the freed descriptors
        // again, and then ours, behind them in the backlog, would never be accepted.
        s = {
            let mut k = kept.lock().unwrap();
            let ours = k
                .iter()
                .position(|s| anyrt::net::TcpStream::peer_addr(s).ok() == Some(me))
                .map(|i| k.swap_remove(i));
            k.clear();
            ours
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

/// Overflows a 64 KiB stack: the process aborts before the handle could be awaited.
#[cfg(feature = "green")]
fn overflow(rt: anyrt::Green) {
    let h = rt.spawn(async { deep() });
    let _ = rt.block_on(rt.timeout(PROMPT, h));
    println!("deep poll done");
}

/// Eight implicit threads meet at a `std::sync::Barrier` on two workers: the first two
/// block both workers, the others never run. The main thread waits out the report, then
/// exits (green tasks never keep a process alive).
#[cfg(feature = "green")]
fn stall() {
    use std::sync::{Arc, Barrier};
    let rt = anyrt::Green::builder().workers(2).build().unwrap();
    let barrier = Arc::new(Barrier::new(8));
    for _ in 0..8 {
        let b = barrier.clone();
        drop(rt.spawn_implicit(move || {
            b.wait();
        }));
    }
    std::thread::sleep(Duration::from_millis(3_000));
    println!("stall-child exiting");
}

/// One implicit thread waits at a `std::sync::Barrier` no one else reaches: it blocks one of
/// the two workers for the child's life; the other stays free.
#[cfg(feature = "green")]
fn stall_one() {
    use std::sync::{Arc, Barrier};
    let rt = anyrt::Green::builder().workers(2).build().unwrap();
    let barrier = Arc::new(Barrier::new(2));
    let b = barrier.clone();
    drop(rt.spawn_implicit(move || {
        b.wait();
    }));
    std::thread::sleep(Duration::from_millis(3_000));
    println!("stall-child exiting");
}

/// Spawns sleeping implicit threads until a stack is refused: the handle's error names the
/// limit, and the threads that did start finish.
#[cfg(feature = "green")]
fn stack_refused() {
    let rt = anyrt::Green::new();
    let mut handles = Vec::new();
    let refused = loop {
        let h = rt.spawn_implicit(move || anyrt::implicit::sleep(&rt, Duration::from_millis(500)));
        if anyrt::JoinHandle::is_finished(&h) {
            break rt.block_on(h).unwrap_err();
        }
        handles.push(h);
        assert!(handles.len() < 100_000, "no stack was ever refused");
    };
    assert!(
        refused.to_string().contains("vm.max_map_count"),
        "{refused}"
    );
    for h in handles {
        rt.block_on(h).unwrap();
    }
    println!("stack-refused ok");
}

/// Uses up the descriptors, then builds a runtime: the OS error (EMFILE); then frees some
/// and builds again: it works.
fn start_without_fds<R: Runtime>(build: impl Fn() -> std::io::Result<R>, also: impl Fn()) {
    let mut files = Vec::new();
    loop {
        match std::fs::File::open("/dev/null") {
            Ok(f) => files.push(f),
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(24), "{e}");
                break;
            }
        }
    }
    let err = build().expect_err("a runtime started without descriptors");
    assert_eq!(err.raw_os_error(), Some(24), "{err}"); // EMFILE
    also();
    files.truncate(files.len() - 40);
    let rt = build().expect("a runtime did not start once descriptors were free");
    let rt2 = rt.clone();
    let got = rt.block_on(async move { rt2.spawn(async { 6 * 7 }).await });
    assert_eq!(got.unwrap(), 42);
    println!("start-fds ok");
}

/// A poll that needs 256 KiB of stack, on a stack that fits it.
#[cfg(feature = "green")]
fn deep_poll(rt: anyrt::Green) {
    let h = rt.spawn(async { deep() });
    let r = rt.block_on(rt.timeout(PROMPT, h));
    assert!(r.is_ok_and(|j| j.is_ok()));
    println!("deep poll done");
}
