//! `anyrt::patch`: unmodified blocking std code on implicit threads. Each test enables the
//! patch (process-wide, so it has this test binary to itself) and runs the same plain std
//! code on every backend: on Green it runs on coroutines and must not block the workers;
//! on Tokio and Smol it runs on OS threads, where every call passes through untouched.
#![cfg(all(feature = "patch", target_os = "linux", target_env = "gnu"))]

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use anyrt::Runtime;
use anyrt::implicit;

fn on_green<R: Runtime>(rt: &R) -> bool {
    rt.name() == "green"
}

/// Enables the patch (idempotent) and raises the descriptor limit for the big cases.
fn patched() {
    anyrt::patch::enable().expect("interposition works in a dynamically linked test");
    assert!(anyrt::patch::is_enabled());
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid out-pointer / in-pointer to an `rlimit`.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// The flags the kernel really has for `fd` (not the user's view the patch shows through
/// `fcntl`): from /proc/self/fdinfo.
fn real_flags(fd: RawFd) -> i32 {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).unwrap();
    let line = info.lines().find(|l| l.starts_with("flags:")).unwrap();
    i32::from_str_radix(line["flags:".len()..].trim(), 8).unwrap()
}

fn user_flags(fd: RawFd) -> i32 {
    // SAFETY: F_GETFL on an open descriptor.
    unsafe { libc::fcntl(fd, libc::F_GETFL) }
}

fn pattern(seed: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 31 + seed) % 251) as u8).collect()
}

/// A std::net echo server and its clients, all plain std code on implicit threads: every
/// connection open at once, then rounds of checked round trips. 2 000 connections on
/// Green (4 000 descriptors in this one process, 4 000 green threads), 64 on OS threads.
#[anyrt::test(timeout = "120s")]
fn std_echo_with_every_connection_open_at_once<R: Runtime>(rt: R) {
    patched();
    let conns = if on_green(&rt) { 2_000 } else { 64 };
    let rounds = 5;
    let size = 256;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let rt2 = rt.clone();
    let server = implicit::spawn(&rt, move || {
        let mut handlers = Vec::new();
        for _ in 0..conns {
            let (mut s, _) = listener.accept().unwrap();
            handlers.push(implicit::spawn(&rt2, move || {
                let mut buf = vec![0u8; size];
                let mut echoed = 0;
                loop {
                    match s.read(&mut buf).unwrap() {
                        0 => return echoed,
                        n => {
                            s.write_all(&buf[..n]).unwrap();
                            echoed += n;
                        }
                    }
                }
            }));
        }
        handlers.into_iter().map(|h| h.join().unwrap()).sum::<usize>()
    });
    let open = Arc::new(implicit::sync::Barrier::new(conns));
    let clients: Vec<_> = (0..conns)
        .map(|i| {
            let open = open.clone();
            implicit::spawn(&rt, move || {
                let mut s = TcpStream::connect(addr).unwrap();
                open.wait();
                let mut back = vec![0u8; size];
                for r in 0..rounds {
                    let sent = pattern(i * rounds + r, size);
                    s.write_all(&sent).unwrap();
                    s.read_exact(&mut back).unwrap();
                    assert_eq!(back, sent, "connection {i} round {r}");
                }
                s.shutdown(Shutdown::Write).unwrap();
                assert_eq!(s.read(&mut back).unwrap(), 0);
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    assert_eq!(server.join().unwrap(), conns * rounds * size);
}

/// `std::thread::sleep(10 ms)` in 10 000 implicit threads at once: on Green each suspends
/// only its coroutine, so together they take about 10 ms, not 10 000 × 10 ms over the
/// workers (50 s on two). The bound is generous; the unpatched figure is far beyond it.
#[anyrt::test(timeout = "120s")]
fn std_sleep_suspends_only_the_green_thread<R: Runtime>(rt: R) {
    patched();
    let n = if on_green(&rt) { 10_000 } else { 100 };
    let t0 = Instant::now();
    let threads: Vec<_> = (0..n)
        .map(|_| {
            implicit::spawn(&rt, || {
                let t = Instant::now();
                std::thread::sleep(Duration::from_millis(10));
                t.elapsed()
            })
        })
        .collect();
    for t in threads {
        // Never less than asked for.
        assert!(t.join().unwrap() >= Duration::from_millis(10));
    }
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(10), "{n} sleeps of 10 ms took {took:?}");
}
