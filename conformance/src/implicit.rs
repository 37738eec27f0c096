//! Implicit (blocking-style) code on every backend: the bodies here are plain `fn`s, run
//! by `#[anyrt_core::test]` as implicit threads.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::Shutdown;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyrt_core::implicit::{self, TcpListener, TcpStream, UdpSocket};
use anyrt_core::{Runtime, RuntimeExt};

use crate::{PROMPT, ms};

fn echo_server<R: Runtime>(rt: &R) -> std::net::SocketAddr {
    let listener = TcpListener::bind(rt, "127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let rt2 = rt.clone();
    drop(implicit::spawn(rt, move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { break };
            drop(implicit::spawn(&rt2, move || {
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = s.read(&mut buf) {
                    if s.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }));
        }
    }));
    addr
}

/// `clients` implicit threads, each doing `rounds` checked round trips with the echo
/// server at `addr`; returns the sum of the client numbers that finished (0..clients).
fn echo_clients<R: Runtime>(rt: &R, addr: std::net::SocketAddr, clients: u32, rounds: u32) -> u32 {
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let rt2 = rt.clone();
            implicit::spawn(rt, move || {
                let mut s = TcpStream::connect(&rt2, addr).unwrap();
                s.set_nodelay(true).unwrap();
                s.set_read_timeout(Some(PROMPT)).unwrap();
                for round in 0..rounds {
                    let msg = format!("client {c} round {round}\n");
                    s.write_all(msg.as_bytes()).unwrap();
                    let mut back = vec![0u8; msg.len()];
                    s.read_exact(&mut back)
                        .unwrap_or_else(|e| panic!("client {c} round {round}: no echo: {e}"));
                    assert_eq!(back, msg.as_bytes());
                }
                c
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).sum()
}

/// Conformance case: implicit echo with 200 concurrent clients.
pub fn implicit_echo_with_200_concurrent_clients<R: Runtime>(rt: R) {
    let addr = echo_server(&rt);
    assert_eq!(echo_clients(&rt, addr, 200, 5), (0..200).sum::<u32>());
}

/// Conformance case: bufread line protocol.
pub fn bufread_line_protocol<R: Runtime>(rt: R) {
    let listener = TcpListener::bind(&rt, "127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = implicit::spawn(&rt, move || {
        let (s, _) = listener.accept().unwrap();
        let mut r = BufReader::new(s);
        let mut lines = 0;
        let mut line = String::new();
        while r.read_line(&mut line).unwrap() > 0 {
            let reply = line.to_uppercase();
            r.get_mut().write_all(reply.as_bytes()).unwrap();
            line.clear();
            lines += 1;
        }
        lines
    });
    let c = TcpStream::connect(&rt, addr).unwrap();
    let mut reader = BufReader::new(c);
    for word in ["alpha", "beta", "gamma"] {
        writeln!(reader.get_mut(), "{word}").unwrap();
        let mut answer = String::new();
        reader.read_line(&mut answer).unwrap();
        assert_eq!(answer, format!("{}\n", word.to_uppercase()));
    }
    reader.get_ref().shutdown(Shutdown::Write).unwrap();
    assert_eq!(server.join().unwrap(), 3);
}

/// Conformance case: read timeout then the stream still works.
pub fn read_timeout_then_the_stream_still_works<R: Runtime>(rt: R) {
    let listener = TcpListener::bind(&rt, "127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut c = TcpStream::connect(&rt, addr).unwrap();
    let (mut s, _) = listener.accept().unwrap();
    assert_eq!(
        c.set_read_timeout(Some(Duration::ZERO)).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    c.set_read_timeout(Some(ms(100))).unwrap();
    assert_eq!(c.read_timeout().unwrap(), Some(ms(100)));
    let mut buf = [0u8; 8];
    let t0 = Instant::now();
    let err = c.read(&mut buf).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    assert!(t0.elapsed() >= ms(100));
    s.write_all(b"after").unwrap();
    let n = c.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"after");
    c.set_read_timeout(None).unwrap();
    assert_eq!(c.read_timeout().unwrap(), None);
    assert_eq!(c.peer_addr().unwrap(), addr);
    // Without a timeout, a read that has to wait (the peer writes 50 ms later), on the
    // same socket the timed-out read waited on.
    let rt2 = rt.clone();
    let writer = implicit::spawn(&rt, move || {
        implicit::sleep(&rt2, ms(50));
        s.write_all(b"later").unwrap();
        s
    });
    let t0 = Instant::now();
    let n = c.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"later");
    assert!(
        t0.elapsed() >= ms(40),
        "read returned after {:?}",
        t0.elapsed()
    );
    drop(writer.join().unwrap());
}

/// Conformance case: the longest timeout reads back as set.
pub fn the_longest_timeout_reads_back_as_set<R: Runtime>(rt: R) {
    let listener = TcpListener::bind(&rt, "127.0.0.1:0").unwrap();
    let c = TcpStream::connect(&rt, listener.local_addr().unwrap()).unwrap();
    let longest = Duration::from_nanos(u64::MAX);
    c.set_read_timeout(Some(longest)).unwrap();
    c.set_write_timeout(Some(Duration::from_nanos(1))).unwrap();
    assert_eq!(c.read_timeout().unwrap(), Some(longest));
    assert_eq!(c.write_timeout().unwrap(), Some(Duration::from_nanos(1)));
    // Longer than u64::MAX nanoseconds: kept as the longest.
    c.set_read_timeout(Some(Duration::MAX)).unwrap();
    assert_eq!(c.read_timeout().unwrap(), Some(longest));
    c.set_read_timeout(None).unwrap();
    assert_eq!(c.read_timeout().unwrap(), None);
}

/// Conformance case: udp round trip.
pub fn udp_round_trip<R: Runtime>(rt: R) {
    let a = UdpSocket::bind(&rt, "127.0.0.1:0").unwrap();
    let b = UdpSocket::bind(&rt, "127.0.0.1:0").unwrap();
    let b_addr = b.local_addr().unwrap();
    a.send_to(b"hello", b_addr).unwrap();
    let mut buf = [0u8; 16];
    let (n, from) = b.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"hello"[..], a.local_addr().unwrap()));
    b.connect(from).unwrap();
    a.connect(b_addr).unwrap();
    b.send(b"back").unwrap();
    let n = a.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"back");
    assert_eq!(a.peer_addr().unwrap(), b_addr);
}

/// Conformance case: block on a channel fed by an async task.
pub fn block_on_a_channel_fed_by_an_async_task<R: Runtime>(rt: R) {
    let (tx, rx) = async_channel::bounded::<u32>(1);
    let rt2 = rt.clone();
    drop(rt.spawn(async move {
        for i in 0..10 {
            rt2.sleep(ms(1)).await;
            tx.send(i).await.unwrap();
        }
    }));
    let mut got = Vec::new();
    while let Ok(v) = implicit::block_on(&rt, rx.recv()) {
        got.push(v);
    }
    assert_eq!(got, (0..10).collect::<Vec<_>>());
}

/// Conformance case: sleep lower bound.
pub fn sleep_lower_bound<R: Runtime>(rt: R) {
    for d in [1u64, 10, 30] {
        let t0 = Instant::now();
        implicit::sleep(&rt, ms(d));
        assert!(t0.elapsed() >= ms(d));
    }
}

/// Conformance case: join of a panicking thread.
pub fn join_of_a_panicking_thread<R: Runtime>(rt: R) {
    let t = implicit::spawn(&rt, || -> u32 { panic!("implicit panic") });
    let err = t.join().unwrap_err();
    assert!(err.is_panic());
    assert!(err.to_string().contains("implicit panic"));
    let t = implicit::spawn(&rt, || 5);
    assert_eq!(t.join().unwrap(), 5);
}

/// Conformance case: six hundred threads meet at a barrier.
pub fn six_hundred_threads_meet_at_a_barrier<R: Runtime>(rt: R) {
    // More than tokio's (512) or `blocking`'s (500) pool: each must be a thread of its own.
    const N: usize = 600;
    let barrier = Arc::new(async_lock::Barrier::new(N));
    let passed = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..N)
        .map(|_| {
            let (rt2, barrier, passed) = (rt.clone(), barrier.clone(), passed.clone());
            implicit::spawn(&rt, move || {
                implicit::block_on(&rt2, barrier.wait());
                passed.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(passed.load(Ordering::SeqCst), N);
}

/// Conformance case: blocking calls inside async tasks.
pub async fn blocking_calls_inside_async_tasks<R: Runtime>(rt: R) {
    let rt2 = rt.clone();
    let h = rt.spawn(async move {
        implicit::sleep(&rt2, ms(5));
        "slept"
    });
    let r = rt.timeout(PROMPT, h).await.expect("misuse must not hang");
    if rt.name() == "green" {
        // A green task is a coroutine: blocking parks just the coroutine.
        assert_eq!(r.unwrap(), "slept");
    } else {
        let err = r.unwrap_err();
        assert!(err.is_panic());
        let msg = err.to_string();
        assert!(msg.contains("spawn_implicit"), "{msg}");
        assert!(msg.contains("implicit::spawn"), "{msg}");
    }
}

/// Conformance case: a stream moves from a plain thread to an implicit thread.
pub fn a_stream_moves_from_a_plain_thread_to_an_implicit_thread<R: Runtime>(rt: R) {
    let listener = TcpListener::bind(&rt, "127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Connected, and read until a timeout, on a plain OS thread (on Green, a socket that
    // a plain thread waits on is watched by a helper coroutine, which stays on it) ...
    let rt2 = rt.clone();
    let c = std::thread::spawn(move || {
        let mut c = TcpStream::connect(&rt2, addr).unwrap();
        c.set_read_timeout(Some(ms(50))).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(c.read(&mut buf).unwrap_err().kind(), ErrorKind::TimedOut);
        c.set_read_timeout(None).unwrap();
        c
    })
    .join()
    .unwrap();
    let (mut s, _) = listener.accept().unwrap();
    // ... then read on an implicit thread, where the peer's bytes arrive 50 ms later.
    let reader = implicit::spawn(&rt, move || {
        let mut c = c;
        let mut buf = [0u8; 8];
        let n = c.read(&mut buf).unwrap();
        c.write_all(b"back").unwrap();
        buf[..n].to_vec()
    });
    implicit::sleep(&rt, ms(50));
    s.write_all(b"moved").unwrap();
    assert_eq!(reader.join().unwrap(), b"moved");
    let mut back = [0u8; 4];
    s.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"back");
}

/// Blocking-style reads and writes take the backend's direct path where it has one (no
/// timeout set, on an implicit thread) and the general path through `block_on` otherwise
/// (a timeout set): the same bytes either way, including reads that have to wait.
pub fn the_direct_and_the_general_path_carry_the_same_bytes<R: Runtime>(rt: R) {
    use anyrt_core::net::TcpStream as _;
    let addr = echo_server(&rt);
    let mut direct = TcpStream::connect(&rt, addr).unwrap();
    let mut general = TcpStream::connect(&rt, addr).unwrap();
    general.set_read_timeout(Some(PROMPT * 2)).unwrap();
    general.set_write_timeout(Some(PROMPT * 2)).unwrap();
    for (name, s) in [("direct", &mut direct), ("general", &mut general)] {
        for round in 0..50u32 {
            let msg = format!("{name} path, round {round}\n");
            s.write_all(msg.as_bytes()).unwrap();
            let mut back = vec![0u8; msg.len()];
            s.read_exact(&mut back).unwrap();
            assert_eq!(back, msg.as_bytes(), "{name} path");
        }
    }

    // The hooks themselves, on an async stream: each either does the IO or declines, and
    // the caller then takes the general path.
    use anyrt_core::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = rt.block_on(rt.tcp_connect(addr)).unwrap();
    let mut direct_calls = 0;
    let mut sent = 0;
    while sent < 4 {
        sent += match stream.direct_blocking_write(&b"ping"[sent..]) {
            Some(n) => {
                direct_calls += 1;
                n.unwrap()
            }
            None => rt.block_on(stream.write(&b"ping"[sent..])).unwrap(),
        };
    }
    let mut back = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        got += match stream.direct_blocking_read(&mut back[got..]) {
            Some(n) => {
                direct_calls += 1;
                n.unwrap()
            }
            None => rt.block_on(stream.read(&mut back[got..])).unwrap(),
        };
    }
    assert_eq!(&back, b"ping");
    // Green has the direct path on its coroutines; the others decline everywhere.
    if rt.name() == "green" {
        assert!(
            direct_calls >= 2,
            "green took the direct path {direct_calls} times"
        );
    } else {
        assert_eq!(direct_calls, 0);
    }
}

/// Conformance case (unix): blocking-style Unix sockets: an echo server on a path with a
/// thread per connection, a read timeout, a stream pair, and datagrams with their sender.
#[cfg(unix)]
pub fn unix_sockets_in_blocking_style<R: Runtime>(rt: R) {
    use implicit::{UnixDatagram, UnixListener, UnixStream};
    let dir = crate::net_unix::SocketDir::new();
    let path = dir.path("implicit.sock");
    let listener = UnixListener::bind(&rt, &path).unwrap();
    assert_eq!(
        listener.local_addr().unwrap().as_pathname(),
        Some(path.as_path())
    );
    let rt2 = rt.clone();
    drop(implicit::spawn(&rt, move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { break };
            drop(implicit::spawn(&rt2, move || {
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = s.read(&mut buf) {
                    if s.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }));
        }
    }));
    let clients: Vec<_> = (0..20u8)
        .map(|c| {
            let rt2 = rt.clone();
            let path = path.clone();
            implicit::spawn(&rt, move || {
                let mut s = UnixStream::connect(&rt2, &path).unwrap();
                let mut reader = BufReader::new(UnixStream::from_async(
                    &rt2,
                    // A second connection checks `from_async` and keeps the first for writing.
                    rt2.block_on(rt2.unix_connect(&path)).unwrap(),
                ));
                let other = reader.get_ref().peer_addr().unwrap();
                assert_eq!(other.as_pathname(), Some(path.as_path()));
                for round in 0..10u8 {
                    let line = format!("client {c} round {round}\n");
                    s.write_all(line.as_bytes()).unwrap();
                    let mut back = vec![0u8; line.len()];
                    s.read_exact(&mut back).unwrap();
                    assert_eq!(back, line.as_bytes());
                    reader.get_mut().write_all(line.as_bytes()).unwrap();
                    let mut got = String::new();
                    reader.read_line(&mut got).unwrap();
                    assert_eq!(got, line);
                }
                assert!(s.local_addr().unwrap().is_unnamed());
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }

    let (mut a, b) = UnixStream::pair(&rt).unwrap();
    a.set_read_timeout(Some(ms(50))).unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 8];
    assert_eq!(a.read(&mut buf).unwrap_err().kind(), ErrorKind::TimedOut);
    assert!(started.elapsed() >= ms(45));
    assert_eq!(a.read_timeout().unwrap(), Some(ms(50)));
    // A clone writes while the original reads.
    let mut b2 = b.try_clone().unwrap();
    let writer = implicit::spawn(&rt, move || b2.write_all(b"pair"));
    writer.join().unwrap().unwrap();
    b.shutdown(Shutdown::Write).unwrap();
    let mut got = Vec::new();
    a.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"pair");

    let d_path = dir.path("dgram.sock");
    let d = UnixDatagram::bind(&rt, &d_path).unwrap();
    let u = UnixDatagram::unbound(&rt).unwrap();
    u.send_to(b"hello", &d_path).unwrap();
    let (n, from) = d.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"hello");
    assert!(from.is_unnamed());
    let (p, q) = UnixDatagram::pair(&rt).unwrap();
    p.send(b"one").unwrap();
    p.send(b"two").unwrap();
    assert_eq!(q.recv(&mut buf).unwrap(), 3);
    assert_eq!(q.recv(&mut buf).unwrap(), 3);
    assert_eq!(&buf[..3], b"two");
}

/// Conformance case: `implicit::sync` blocks only the implicit thread: 2 000 implicit
/// threads (green threads on Green, OS threads elsewhere) meet at its `Barrier`, which
/// `std::sync::Barrier` cannot do on two green workers; a contended `Mutex` loses no update; a `Condvar` hands
/// work over; a `Semaphore` bounds concurrency; a channel joins an implicit thread and an
/// async task both ways.
pub fn implicit_sync_primitives<R: Runtime>(rt: R) {
    use implicit::sync::{Barrier, Condvar, Mutex, Semaphore, channel};

    let n = 2_000;
    let barrier = Arc::new(Barrier::new(n));
    let leaders = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let (barrier, leaders) = (barrier.clone(), leaders.clone());
            implicit::spawn(&rt, move || {
                if barrier.wait().is_leader() {
                    leaders.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(leaders.load(Ordering::SeqCst), 1);

    let counter = Arc::new(Mutex::new(0u64));
    let threads: Vec<_> = (0..40)
        .map(|_| {
            let (counter, rt2) = (counter.clone(), rt.clone());
            implicit::spawn(&rt, move || {
                for i in 0..50 {
                    let mut guard = counter.lock();
                    let seen = *guard;
                    if i % 10 == 0 {
                        // Hold the lock across a blocking wait: others must queue.
                        implicit::sleep(&rt2, Duration::ZERO);
                    }
                    *guard = seen + 1;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(*counter.lock(), 40 * 50);

    let queue = Arc::new((Mutex::new(Vec::<u32>::new()), Condvar::new()));
    let q2 = queue.clone();
    let consumer = implicit::spawn(&rt, move || {
        let mut got = Vec::new();
        while got.len() < 100 {
            let (lock, cvar) = &*q2;
            let mut items = cvar.wait_while(lock.lock(), |items| items.is_empty());
            got.append(&mut items);
        }
        got
    });
    for i in 0..100u32 {
        queue.0.lock().push(i);
        queue.1.notify_one();
        if i % 25 == 0 {
            implicit::sleep(&rt, ms(1));
        }
    }
    assert_eq!(consumer.join().unwrap(), (0..100).collect::<Vec<_>>());

    let permits = Arc::new(Semaphore::new(3));
    let inside = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..20)
        .map(|_| {
            let (permits, inside, most, rt2) =
                (permits.clone(), inside.clone(), most.clone(), rt.clone());
            implicit::spawn(&rt, move || {
                let _permit = permits.acquire();
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                implicit::sleep(&rt2, ms(2));
                inside.fetch_sub(1, Ordering::SeqCst);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let most = most.load(Ordering::SeqCst);
    assert!(
        (1..=3).contains(&most),
        "{most} inside a 3-permit semaphore"
    );

    let (to_async, from_implicit) = channel::bounded::<u32>(1);
    let (to_implicit, from_async) = channel::bounded::<u32>(1);
    let (rx, tx) = (
        from_implicit.as_async().clone(),
        to_implicit.as_async().clone(),
    );
    let echo = rt.spawn(async move {
        while let Ok(v) = rx.recv().await {
            tx.send(v * 2).await.unwrap();
        }
    });
    for i in 0..50u32 {
        to_async.send(i).unwrap();
        assert_eq!(from_async.recv(), Ok(i * 2));
    }
    drop((to_async, to_implicit));
    implicit::block_on(&rt, echo).unwrap();
    assert!(
        from_async.recv().is_err(),
        "the channel stays open after the sender left"
    );
}

/// Conformance case: a stream shared by reference (`Read`/`Write for &TcpStream`, as std)
/// and a `try_clone`d handle carry a 256 KiB echo with one thread writing and another
/// reading; dropping the clone leaves the connection open; timeouts are copied.
pub fn a_stream_is_shared_and_cloned<R: Runtime>(rt: R) {
    let addr = echo_server(&rt);
    let data: Arc<Vec<u8>> = Arc::new((0..256 * 1024).map(|i| (i % 251) as u8).collect());

    let shared = Arc::new(TcpStream::connect(&rt, addr).unwrap());
    let (s2, d2) = (shared.clone(), data.clone());
    let writer = implicit::spawn(&rt, move || (&*s2).write_all(&d2));
    let mut got = vec![0u8; data.len()];
    (&*shared).read_exact(&mut got).unwrap();
    writer.join().unwrap().unwrap();
    assert!(got == *data, "bytes differ through &TcpStream");

    #[cfg(unix)]
    {
        let mut original = TcpStream::connect(&rt, addr).unwrap();
        original.set_read_timeout(Some(ms(9_000))).unwrap();
        let mut clone = original.try_clone().unwrap();
        assert_eq!(clone.read_timeout().unwrap(), Some(ms(9_000)));
        assert_eq!(clone.peer_addr().unwrap(), original.peer_addr().unwrap());
        let d2 = data.clone();
        let writer = implicit::spawn(&rt, move || {
            clone.write_all(&d2).unwrap();
            clone
        });
        let mut got = vec![0u8; data.len()];
        original.read_exact(&mut got).unwrap();
        assert!(got == *data, "bytes differ through try_clone");
        drop(writer.join().unwrap());
        // The clone is gone; the connection is not.
        original.write_all(b"still open").unwrap();
        let mut back = [0u8; 10];
        original.read_exact(&mut back).unwrap();
        assert_eq!(&back, b"still open");
    }
}

/// Conformance case: `Thread::cancel` makes the thread's blocked socket call — a read on
/// the direct path, a read under a timeout, an accept, a UDP receive — fail with the
/// cancellation error within a moment, ends a sleep early, and fails the next call that
/// has to wait; other threads are untouched.
pub fn cancel_reaches_blocked_and_later_socket_calls<R: Runtime>(rt: R) {
    let listener = TcpListener::bind(&rt, "127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut quiet = TcpStream::connect(&rt, addr).unwrap();
    let (mut quiet_peer, _) = listener.accept().unwrap();
    let mut timed = TcpStream::connect(&rt, addr).unwrap();
    let (_timed_peer, _) = listener.accept().unwrap();
    timed.set_read_timeout(Some(ms(60_000))).unwrap();
    let udp = UdpSocket::bind(&rt, "127.0.0.1:0").unwrap();

    let (started_tx, started_rx) = async_channel::unbounded::<()>();
    let s1 = started_tx.clone();
    let reader = implicit::spawn(&rt, move || {
        s1.try_send(()).unwrap();
        quiet.read(&mut [0u8; 16]).map(drop)
    });
    let s2 = started_tx.clone();
    let timed_reader = implicit::spawn(&rt, move || {
        s2.try_send(()).unwrap();
        timed.read(&mut [0u8; 16]).map(drop)
    });
    let s3 = started_tx.clone();
    let acceptor = implicit::spawn(&rt, move || {
        s3.try_send(()).unwrap();
        listener.accept().map(drop)
    });
    let s4 = started_tx.clone();
    let receiver = implicit::spawn(&rt, move || {
        s4.try_send(()).unwrap();
        udp.recv_from(&mut [0u8; 16]).map(drop)
    });
    let rt2 = rt.clone();
    let (mut late, late_peer) = {
        let l = TcpListener::bind(&rt, "127.0.0.1:0").unwrap();
        let c = TcpStream::connect(&rt, l.local_addr().unwrap()).unwrap();
        (c, l.accept().unwrap().0)
    };
    let sleeper = implicit::spawn(&rt, move || {
        started_tx.try_send(()).unwrap();
        let t0 = Instant::now();
        implicit::sleep(&rt2, ms(60_000));
        let slept = t0.elapsed();
        // The next call that has to wait fails at once.
        (slept, late.read(&mut [0u8; 16]))
    });
    for _ in 0..5 {
        implicit::block_on(&rt, started_rx.recv()).unwrap();
    }
    // Let each reach its wait (a cancellation before it would also do: see `sleeper`).
    implicit::sleep(&rt, ms(30));

    let t0 = Instant::now();
    for t in [&reader, &timed_reader, &acceptor, &receiver] {
        t.cancel();
    }
    sleeper.cancel();
    for (name, t) in [
        ("read", reader),
        ("read with a timeout", timed_reader),
        ("accept", acceptor),
        ("recv_from", receiver),
    ] {
        let err = t.join().unwrap().unwrap_err();
        assert!(implicit::is_cancelled(&err), "{name}: {err:?}");
        assert_eq!(err.kind(), ErrorKind::Other);
    }
    let (slept, next) = sleeper.join().unwrap();
    assert!(slept < PROMPT, "the sleep was not cut short: {slept:?}");
    assert!(implicit::is_cancelled(&next.unwrap_err()));
    assert!(
        t0.elapsed() < PROMPT,
        "cancellation took {:?}",
        t0.elapsed()
    );
    drop(late_peer);

    // An uncancelled thread on the same runtime goes on as before.
    // `quiet` went with its cancelled thread: its peer reads EOF.
    let other = implicit::spawn(&rt, move || quiet_peer.read(&mut [0u8; 4]));
    assert_eq!(other.join().unwrap().unwrap(), 0);
}

/// Conformance case: the blocking-style task group waits for its children; the first
/// failure cancels the siblings blocked in reads and the body blocked in an accept (their
/// cancellation errors are not reported as failures), and every child is done when it
/// returns; a child's panic is raised again after the others stopped.
pub fn implicit_task_group_cancels_blocked_children_and_body<R: Runtime>(rt: R) {
    let done = Arc::new(AtomicUsize::new(0));
    let d2 = done.clone();
    let out = implicit::task_group(&rt, |group| {
        for i in 0..10u64 {
            let (rt, done) = (rt.clone(), d2.clone());
            group.spawn(move || {
                implicit::sleep(&rt, ms(i));
                done.fetch_add(1, Ordering::SeqCst);
                Ok::<(), std::io::Error>(())
            });
        }
        Ok("body")
    });
    assert_eq!(out.unwrap(), "body");
    assert_eq!(
        done.load(Ordering::SeqCst),
        10,
        "returned before its children"
    );

    let listener = TcpListener::bind(&rt, "127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let live = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let rt2 = rt.clone();
    let l2 = live.clone();
    let err = implicit::task_group(&rt, move |group| {
        for _ in 0..5 {
            let mut quiet = TcpStream::connect(&rt2, addr)?;
            let live = l2.clone();
            live.fetch_add(1, Ordering::SeqCst);
            group.spawn(move || {
                let r = quiet.read(&mut [0u8; 8]);
                live.fetch_sub(1, Ordering::SeqCst);
                r.map(drop)
            });
        }
        let rt3 = rt2.clone();
        group.spawn(move || {
            implicit::sleep(&rt3, ms(20));
            Err(std::io::Error::new(ErrorKind::InvalidData, "bad frame"))
        });
        // The body waits in an accept that only the cancellation ends.
        for _ in 0..5 {
            listener.accept()?;
        }
        listener.accept()?;
        Ok(())
    })
    .unwrap_err();
    assert!(
        t0.elapsed() < PROMPT,
        "cancellation took {:?}",
        t0.elapsed()
    );
    assert_eq!(err.first().kind(), ErrorKind::InvalidData);
    assert!(
        err.rest().is_empty(),
        "cancellations reported as errors: {:?}",
        err.rest()
    );
    assert_eq!(live.load(Ordering::SeqCst), 0, "a child outlived its group");

    let rt2 = rt.clone();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        implicit::task_group(&rt, move |group| {
            let rt3 = rt2.clone();
            group.spawn(move || {
                implicit::sleep(&rt3, ms(5));
                panic!("implicit child boom")
            });
            Ok::<(), std::io::Error>(())
        })
    }));
    let payload = caught.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"implicit child boom"));
}

/// Conformance case: detached threads that end just as another thread wakes them leave
/// every worker running.
///
/// Each round parks 100 detached implicit threads on channels and wakes them all at once
/// from another thread; each ends right after its wake-up. On Green a wake-up can land
/// while the coroutine is still on its way into the park, and the worker then resumes it
/// inside its own bookkeeping for that park: the thread's end must not tear the park down
/// underneath (that once left the worker spinning forever, and every socket it served
/// went silent). Then 64 echo round trips, whose sockets are spread over every worker,
/// must all complete.
pub fn threads_that_end_as_they_are_woken_leave_every_worker_running<R: Runtime>(rt: R) {
    const ROUNDS: usize = 40;
    const PER_ROUND: usize = 100;
    let ended = Arc::new(AtomicUsize::new(0));
    for round in 1..=ROUNDS {
        let mut wakes = Vec::with_capacity(PER_ROUND);
        for _ in 0..PER_ROUND {
            let (tx, rx) = async_channel::bounded::<()>(1);
            wakes.push(tx);
            let (rt2, ended) = (rt.clone(), ended.clone());
            drop(implicit::spawn(&rt, move || {
                let _ = implicit::block_on(&rt2, rx.recv());
                ended.fetch_add(1, Ordering::SeqCst);
            }));
        }
        let waker = implicit::spawn(&rt, move || {
            for tx in wakes {
                tx.try_send(()).unwrap();
            }
        });
        waker.join().unwrap();
        let t0 = Instant::now();
        while ended.load(Ordering::SeqCst) < round * PER_ROUND {
            assert!(
                t0.elapsed() < PROMPT,
                "round {round}: {} of {} threads ended",
                ended.load(Ordering::SeqCst),
                round * PER_ROUND
            );
            implicit::sleep(&rt, ms(1));
        }
    }
    let addr = echo_server(&rt);
    assert_eq!(echo_clients(&rt, addr, 64, 1), (0..64).sum::<u32>());
}
