//! `anyrt::patch`: unmodified blocking std code on implicit threads. Each test enables the
//! patch (process-wide, so it has this test binary to itself) and runs the same plain std
//! code on every backend: on Green it runs on coroutines and must not block the workers;
//! on Tokio and Smol it runs on OS threads, where every call passes through untouched.
#![cfg(all(feature = "patch", target_os = "linux", target_env = "gnu"))]

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, IntoRawFd, RawFd};
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

/// A std listener on a loopback port whose backlog holds a whole burst of `conns` connects.
/// std's `bind` asks for 128: Linux drops the final ACK of connects beyond the accept queue,
/// and those clients wait for a server that never saw them until the SYN-ACK is sent again,
/// seconds later.
fn burst_listener(conns: usize) -> TcpListener {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    socket.listen(i32::try_from(conns).unwrap()).unwrap();
    socket.into()
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
    let listener = burst_listener(conns);
    let addr = listener.local_addr().unwrap();
    let rt2 = rt.clone();
    // The server accepts every connection before it answers any, then sends each client a
    // "go" byte: all of them are open at once (a barrier of plain I/O).
    let server = implicit::spawn(&rt, move || {
        let open: Vec<_> = (0..conns).map(|_| listener.accept().unwrap().0).collect();
        let handlers: Vec<_> = open
            .into_iter()
            .map(|mut s| {
                s.write_all(b"g").unwrap();
                implicit::spawn(&rt2, move || {
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
                })
            })
            .collect();
        handlers
            .into_iter()
            .map(|h| h.join().unwrap())
            .sum::<usize>()
    });
    let clients: Vec<_> = (0..conns)
        .map(|i| {
            implicit::spawn(&rt, move || {
                let mut s = TcpStream::connect(addr).unwrap();
                s.read_exact(&mut [0u8; 1]).unwrap();
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
    assert!(
        took < Duration::from_secs(10),
        "{n} sleeps of 10 ms took {took:?}"
    );
}

/// A connected pair of std sockets made on the current thread (a listener's accepted end
/// and a connected one).
fn std_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (client, server)
}

/// std's `set_read_timeout`/`set_write_timeout` (SO_RCVTIMEO/SO_SNDTIMEO): the blocking
/// call fails with `WouldBlock` at the deadline, never before, while another implicit
/// thread keeps running.
#[anyrt::test(timeout = "60s")]
fn std_read_and_write_timeouts<R: Runtime>(rt: R) {
    patched();
    let n = if on_green(&rt) { 100 } else { 8 };
    let stop = Arc::new(AtomicBool::new(false));
    let ticks = Arc::new(AtomicUsize::new(0));
    let ticker = {
        let (stop, ticks) = (stop.clone(), ticks.clone());
        implicit::spawn(&rt, move || {
            while !stop.load(SeqCst) {
                std::thread::sleep(Duration::from_millis(5));
                ticks.fetch_add(1, SeqCst);
            }
        })
    };
    let readers: Vec<_> = (0..n)
        .map(|_| {
            implicit::spawn(&rt, || {
                let (mut s, _peer) = std_pair();
                s.set_read_timeout(Some(Duration::from_millis(100)))
                    .unwrap();
                assert_eq!(s.read_timeout().unwrap(), Some(Duration::from_millis(100)));
                let t0 = Instant::now();
                let e = s.read(&mut [0u8; 16]).unwrap_err();
                assert_eq!(e.kind(), io::ErrorKind::WouldBlock, "{e}");
                t0.elapsed()
            })
        })
        .collect();
    // On Green the patch keeps the deadline itself (anyrt's timer, never early). On Tokio
    // and Smol the implicit threads are OS threads and the kernel keeps SO_RCVTIMEO in
    // jiffies, counted from a tick count that can lag CLOCK_MONOTONIC on a loaded virtual
    // machine: CI saw it fire before `Instant` said 100 ms had passed. There the patch
    // only passes the call through, and "it waited, then WouldBlock" is what it keeps.
    let least = if on_green(&rt) {
        Duration::from_millis(100)
    } else {
        Duration::from_millis(50)
    };
    for r in readers {
        let waited = r.join().unwrap();
        assert!(waited >= least, "WouldBlock after {waited:?}");
    }
    // A writer whose peer never reads: what fits goes, then the timeout.
    implicit::spawn(&rt, || {
        let (mut s, _peer) = std_pair();
        s.set_write_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let chunk = vec![7u8; 1 << 20];
        let mut sent = 0;
        for _ in 0..256 {
            match s.write(&chunk) {
                Ok(n) => {
                    assert!(n > 0);
                    sent += n;
                }
                Err(e) => {
                    assert_eq!(e.kind(), io::ErrorKind::WouldBlock, "{e}");
                    assert!(sent > 0);
                    return;
                }
            }
        }
        panic!("256 MiB went to a peer that never reads");
    })
    .join()
    .unwrap();
    stop.store(true, SeqCst);
    ticker.join().unwrap();
    assert!(
        ticks.load(SeqCst) > 5,
        "the ticker stalled while the readers waited"
    );
}

/// std's `connect_timeout` (non-blocking connect + `poll`): to a listener it connects, to
/// a closed port it reports `ConnectionRefused`, and to a listener whose backlog is full
/// it gives up with `TimedOut` at its deadline.
#[anyrt::test(timeout = "60s")]
fn std_connect_refused_and_connect_timeout<R: Runtime>(rt: R) {
    patched();
    implicit::spawn(&rt, || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut ok = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
        let (mut theirs, _) = listener.accept().unwrap();
        ok.write_all(b"hi").unwrap();
        let mut two = [0u8; 2];
        theirs.read_exact(&mut two).unwrap();
        assert_eq!(&two, b"hi");
        drop(listener);
        let e = TcpStream::connect(addr).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
        let e = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");

        // Backlog 0: Linux queues one connection and then drops further SYNs.
        let full =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        full.bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
        full.listen(0).unwrap();
        let full_addr = full.local_addr().unwrap().as_socket().unwrap();
        let mut queued = Vec::new();
        for _ in 0..64 {
            let t0 = Instant::now();
            match TcpStream::connect_timeout(&full_addr, Duration::from_millis(200)) {
                Ok(s) => queued.push(s),
                Err(e) => {
                    assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}");
                    assert!(t0.elapsed() >= Duration::from_millis(200));
                    return;
                }
            }
        }
        panic!("64 connections went into a backlog of 0");
    })
    .join()
    .unwrap();
}

/// Closing a socket while a green thread waits in `recv` on it wakes the waiter with
/// `EBADF` (Linux does not wake a thread blocked on a closed descriptor: on OS threads the
/// call would wait on, so this is Green's guarantee alone).
#[anyrt::test(timeout = "60s")]
fn close_wakes_a_waiting_reader_with_ebadf<R: Runtime>(rt: R) {
    patched();
    if !on_green(&rt) {
        return;
    }
    let (a, b) = implicit::spawn(&rt, std_pair).join().unwrap();
    let fd = a.into_raw_fd();
    let reader = implicit::spawn(&rt, move || {
        let mut buf = [0u8; 8];
        // SAFETY: `fd` is open until the close below, after which recv reports EBADF.
        let r = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
        (r, io::Error::last_os_error().raw_os_error())
    });
    implicit::spawn(&rt, move || {
        std::thread::sleep(Duration::from_millis(100));
        // SAFETY: `fd` came from `into_raw_fd` and is closed once, here.
        assert_eq!(unsafe { libc::close(fd) }, 0);
    })
    .join()
    .unwrap();
    assert_eq!(reader.join().unwrap(), (-1, Some(libc::EBADF)));
    drop(b);
}

/// Two green threads on one socket at once, one reading and one writing 4 MiB through an
/// echoing peer (may lets one coroutine wait per registration: the second waits through
/// the socket's helper).
#[anyrt::test(timeout = "60s")]
fn one_socket_read_and_written_by_two_threads<R: Runtime>(rt: R) {
    patched();
    const LEN: usize = 4 << 20;
    let (s, mut peer) = implicit::spawn(&rt, std_pair).join().unwrap();
    let echo = implicit::spawn(&rt, move || {
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0;
        loop {
            match peer.read(&mut buf).unwrap() {
                0 => return total,
                n => {
                    peer.write_all(&buf[..n]).unwrap();
                    total += n;
                }
            }
        }
    });
    let s = Arc::new(s);
    let writer = {
        let s = s.clone();
        implicit::spawn(&rt, move || {
            (&*s).write_all(&pattern(3, LEN)).unwrap();
        })
    };
    let reader = {
        let s = s.clone();
        implicit::spawn(&rt, move || {
            let mut back = vec![0u8; LEN];
            (&*s).read_exact(&mut back).unwrap();
            back == pattern(3, LEN)
        })
    };
    writer.join().unwrap();
    assert!(reader.join().unwrap(), "the echoed bytes differ");
    s.shutdown(Shutdown::Write).unwrap();
    assert_eq!(echo.join().unwrap(), LEN);
}

/// The user's view of blocking mode: a socket used on a green thread is non-blocking for
/// real, but `fcntl(F_GETFL)` shows what its user set; a socket its user makes
/// non-blocking is left alone (`WouldBlock` at once); sockets on OS threads are never
/// touched.
#[anyrt::test(timeout = "60s")]
fn blocking_mode_as_the_user_set_it<R: Runtime>(rt: R) {
    patched();
    let green = on_green(&rt);
    // Made and used on a plain OS thread: passed through, still blocking for real.
    let (mut a, mut b) = std::thread::spawn(|| {
        let (mut a, mut b) = std_pair();
        a.write_all(b"x").unwrap();
        b.read_exact(&mut [0u8; 1]).unwrap();
        (a, b)
    })
    .join()
    .unwrap();
    assert_eq!(real_flags(a.as_raw_fd()) & libc::O_NONBLOCK, 0);
    implicit::spawn(&rt, move || {
        // Used on this implicit thread: managed on Green.
        b.write_all(b"y").unwrap();
        a.read_exact(&mut [0u8; 1]).unwrap();
        let fd = a.as_raw_fd();
        assert_eq!(user_flags(fd) & libc::O_NONBLOCK, 0);
        assert_eq!(real_flags(fd) & libc::O_NONBLOCK != 0, green);

        // The user makes it non-blocking: no waiting for them.
        a.set_nonblocking(true).unwrap();
        assert_ne!(user_flags(fd) & libc::O_NONBLOCK, 0);
        let t0 = Instant::now();
        let e = a.read(&mut [0u8; 1]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        assert!(t0.elapsed() < Duration::from_secs(1));

        // And blocking again: the read waits for the byte sent 50 ms later.
        a.set_nonblocking(false).unwrap();
        assert_eq!(user_flags(fd) & libc::O_NONBLOCK, 0);
        let late = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            b.write_all(b"z").unwrap();
            b
        });
        let mut z = [0u8; 1];
        a.read_exact(&mut z).unwrap();
        assert_eq!(&z, b"z");
        drop(late.join().unwrap());
    })
    .join()
    .unwrap();
}

/// errno is what the call set, and left alone by the patch's own bookkeeping.
#[anyrt::test(timeout = "60s")]
fn errno_is_preserved<R: Runtime>(rt: R) {
    patched();
    // Made on an OS thread: its first call on a green thread is when the patch looks at it.
    let (mut a, b) = std::thread::spawn(std_pair).join().unwrap();
    implicit::spawn(&rt, move || {
        let mut b = b;
        b.write_all(b"q").unwrap();
        // SAFETY: the calling thread's errno.
        unsafe { *libc::__errno_location() = libc::EDOM };
        let mut q = [0u8; 1];
        // SAFETY: a valid buffer and the open socket.
        let n = unsafe { libc::recv(a.as_raw_fd(), q.as_mut_ptr().cast(), 1, 0) };
        assert_eq!(n, 1);
        assert_eq!(io::Error::last_os_error().raw_os_error(), Some(libc::EDOM));
        // SAFETY: recv on a descriptor that is not open.
        let r = unsafe { libc::recv(-1, q.as_mut_ptr().cast(), 1, 0) };
        assert_eq!(
            (r, io::Error::last_os_error().raw_os_error()),
            (-1, Some(libc::EBADF))
        );
        // A peer that is gone: EPIPE (or a reset) from a blocking write, not a hang.
        drop(b);
        let mut broke = None;
        for _ in 0..100 {
            if let Err(e) = a.write_all(&[0u8; 4096]) {
                broke = Some(e.kind());
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(
            matches!(
                broke,
                Some(io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset)
            ),
            "{broke:?}"
        );
    })
    .join()
    .unwrap();
}

const CHILD_ENV: &str = "ANYRT_PATCH_TEST_CHILD";

/// Not a test of its own: the child process of `child_inherits_the_mode_the_user_set`,
/// which prints whether its stdin is non-blocking.
#[test]
fn report_stdin_mode() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    println!(
        "stdin-nonblocking={}",
        user_flags(0) & libc::O_NONBLOCK != 0
    );
}

/// A child process that inherits a socket the patch manages sees it in blocking mode, as
/// its user set it (through posix_spawn, std's usual path, and through fork + exec, the
/// path a `pre_exec` hook takes); the parent's green thread goes on using its own end.
#[anyrt::test(timeout = "60s")]
fn child_inherits_the_mode_the_user_set<R: Runtime>(rt: R) {
    patched();
    implicit::spawn(&rt, || {
        let (mut s, mut peer) = std_pair();
        s.write_all(b"1").unwrap();
        peer.read_exact(&mut [0u8; 1]).unwrap();
        for fork in [false, true] {
            let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
            cmd.args([
                "--exact",
                "report_stdin_mode",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, "1")
            .stdin(std::process::Stdio::from(std::os::fd::OwnedFd::from(
                s.try_clone().unwrap(),
            )));
            if fork {
                use std::os::unix::process::CommandExt;
                // SAFETY: the hook does nothing (it only makes std fork and exec).
                unsafe { cmd.pre_exec(|| Ok(())) };
            }
            let out = cmd.output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{text}");
            assert!(
                text.contains("stdin-nonblocking=false"),
                "fork={fork}: {text}"
            );
            // The parent's end still works as a blocking socket on this green thread.
            peer.write_all(b"2").unwrap();
            let mut two = [0u8; 1];
            s.read_exact(&mut two).unwrap();
            assert_eq!(&two, b"2");
        }
    })
    .join()
    .unwrap();
}

/// tungstenite's blocking WebSocket client and server, unmodified, on 1 000 green threads
/// at once (50 OS threads elsewhere): DNS (`localhost` through getaddrinfo), connect, the
/// HTTP upgrade and the framing are all tungstenite's and std's own code.
#[anyrt::test(timeout = "120s")]
fn tungstenite_sync_on_implicit_threads<R: Runtime>(rt: R) {
    patched();
    let conns = if on_green(&rt) { 1_000 } else { 50 };
    let msgs = 10;
    let listener = burst_listener(conns);
    let port = listener.local_addr().unwrap().port();
    let rt2 = rt.clone();
    // The server accepts every TCP connection before it serves any: all are open at once.
    let server = implicit::spawn(&rt, move || {
        let open: Vec<_> = (0..conns).map(|_| listener.accept().unwrap().0).collect();
        let handlers: Vec<_> = open
            .into_iter()
            .map(|s| {
                implicit::spawn(&rt2, move || {
                    let mut ws = tungstenite::accept(s).unwrap();
                    let mut echoed = 0;
                    loop {
                        match ws.read().unwrap() {
                            msg @ tungstenite::Message::Text(_) => {
                                ws.send(msg).unwrap();
                                echoed += 1;
                            }
                            tungstenite::Message::Close(_) => {
                                // Flushes the close reply; then the peer's end of the stream.
                                while ws.read().is_ok() {}
                                return echoed;
                            }
                            other => panic!("unexpected {other:?}"),
                        }
                    }
                })
            })
            .collect();
        handlers
            .into_iter()
            .map(|h| h.join().unwrap())
            .sum::<usize>()
    });
    let clients: Vec<_> = (0..conns)
        .map(|i| {
            implicit::spawn(&rt, move || {
                let url = format!("ws://localhost:{port}/");
                let (mut ws, _) = tungstenite::connect(url).unwrap();
                for m in 0..msgs {
                    let text = format!("client {i} message {m}");
                    ws.send(tungstenite::Message::text(text.clone())).unwrap();
                    assert_eq!(ws.read().unwrap(), tungstenite::Message::text(text));
                }
                ws.close(None).unwrap();
                while ws.read().is_ok() {}
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    assert_eq!(server.join().unwrap(), conns * msgs);
}
