//! What only the Green backend has: may's process-wide scheduler and per-handle stack
//! sizes, coroutine parking, may's timers, and the std sockets under green ones.

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use anyrt_core::{JoinHandle, Runtime, RuntimeExt};
use anyrt_green::Green;

const PROMPT: Duration = Duration::from_secs(10);

#[test]
fn a_second_builder_with_other_settings_is_an_error() {
    let rt = Green::new();
    // The worker count is process-wide: another one is an error.
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let err = Green::builder().workers(workers + 1).build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("process-wide"), "{err}");
    // The same settings, or none, join the running scheduler.
    assert!(Green::builder().workers(workers).build().is_ok());
    assert!(Green::builder().build().is_ok());
    let err = Green::builder().workers(0).build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    // The stack size is the handle's own: its tasks run on stacks of that size.
    let other = rt.stack_size() * 4;
    let big = Green::builder().stack_size(other).build().unwrap();
    assert_eq!(big.stack_size(), other);
    assert_eq!(Green::new().stack_size(), rt.stack_size());
    let h = big.spawn(async {
        // 1.5 MiB on the stack (twice, in a debug build): more than the default holds.
        let buf = std::hint::black_box([3u8; 1536 * 1024]);
        buf.iter().map(|&b| u64::from(b)).sum::<u64>()
    });
    assert_eq!(big.block_on(h).unwrap(), 3 * 1536 * 1024);
}

#[test]
fn sub_millisecond_timeouts_fire() {
    // may parks forever on a timeout under 1 ms; anyrt rounds up.
    let rt = Green::new();
    let h = rt.spawn(async move {
        for us in [1u64, 250, 999, 1_001, 1_500] {
            let t0 = Instant::now();
            let r = rt
                .timeout(Duration::from_micros(us), std::future::pending::<()>())
                .await;
            assert!(r.is_err());
            assert!(t0.elapsed() >= Duration::from_micros(us));
        }
    });
    rt.block_on(rt.timeout(PROMPT, h))
        .expect("a sub-millisecond timeout hung")
        .unwrap();
}

#[test]
fn block_on_inside_a_green_task_parks_only_the_coroutine() {
    let rt = Green::new();
    // More nested block_on calls than worker threads, all waiting at once: if block_on
    // blocked the worker thread, the sleeps' tasks could not finish.
    let handles: Vec<_> = (0..64)
        .map(|i| {
            rt.spawn(async move {
                let inner = rt.block_on(async move {
                    rt.sleep(Duration::from_millis(20)).await;
                    i
                });
                rt.sleep(Duration::from_millis(1)).await;
                inner
            })
        })
        .collect();
    let t0 = Instant::now();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(rt.block_on(rt.timeout(PROMPT, h)).unwrap().unwrap(), i);
    }
    assert!(t0.elapsed() < PROMPT);
}

#[test]
fn implicit_tasks_are_coroutines() {
    let rt = Green::new();
    let h = rt.spawn_implicit(move || {
        assert!(may::coroutine::is_coroutine());
        rt.block_on(rt.sleep(Duration::from_millis(5)));
        "done"
    });
    assert_eq!(rt.block_on(h).unwrap(), "done");
    let h = rt.spawn_implicit(|| panic!("implicit boom"));
    assert!(rt.block_on(h).unwrap_err().is_panic());
}

#[test]
fn abort_of_a_task_that_never_started_polling() {
    let rt = Green::new();
    for _ in 0..100 {
        let h = rt.spawn(std::future::pending::<()>());
        h.abort();
        let err = rt.block_on(rt.timeout(PROMPT, h)).unwrap().unwrap_err();
        assert!(err.is_cancelled());
    }
}

#[test]
fn many_tasks_wait_on_one_socket_pair() {
    // Several tasks read from clones of one socket's data through a shared split: the
    // elected waiter must wake the others.
    use anyrt_core::io::{AsyncReadExt, AsyncWriteExt};
    use anyrt_core::net::TcpListener;
    let rt = Green::new();
    let r = rt.block_on(async move {
        let l = rt.tcp_listen("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let c = rt.tcp_connect(addr).await.unwrap();
        let (s, _) = l.accept().await.unwrap();
        let (mut rd, mut wr) = s.split();
        let (mut crd, mut cwr) = c.split();
        // Reader and writer halves of the server stream in two tasks.
        let reader = rt.spawn(async move {
            let mut buf = [0u8; 5];
            rd.read_exact(&mut buf).await.unwrap();
            buf
        });
        let writer = rt.spawn(async move {
            wr.write_all(b"pong!").await.unwrap();
            wr
        });
        cwr.write_all(b"ping!").await.unwrap();
        let mut back = [0u8; 5];
        crd.read_exact(&mut back).await.unwrap();
        let got = reader.await.unwrap();
        drop(writer.await.unwrap());
        (got, back)
    });
    assert_eq!(&r.0, b"ping!");
    assert_eq!(&r.1, b"pong!");
}

#[test]
fn a_threads_block_on_sleeps_while_every_worker_is_busy() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    // Tasks that never yield hold every worker. A plain thread's block_on does not need a
    // worker to be woken from its sleep.
    let rt = Green::new();
    // A green task's timer first, so anyrt-green's timer machinery for tasks is running.
    let h = rt.spawn(async move { rt.sleep(Duration::from_millis(1)).await });
    rt.block_on(rt.timeout(PROMPT, h)).unwrap().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let hogs: Vec<_> = (0..16)
        .map(|_| {
            let stop = stop.clone();
            rt.spawn(async move {
                let t0 = Instant::now();
                while !stop.load(Ordering::SeqCst) && t0.elapsed() < Duration::from_secs(3) {
                    std::hint::spin_loop();
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(50));
    let t0 = Instant::now();
    rt.block_on(rt.sleep(Duration::from_millis(20)));
    let took = t0.elapsed();
    stop.store(true, Ordering::SeqCst);
    assert!(took >= Duration::from_millis(20));
    assert!(
        took < Duration::from_secs(2),
        "the sleep waited for a worker: {took:?}"
    );
    for h in hogs {
        rt.block_on(rt.timeout(PROMPT, h)).unwrap().unwrap();
    }
}

#[test]
fn sockets_give_their_std_socket_back() {
    use anyrt_core::io::{AsyncReadExt, AsyncWriteExt};
    use std::io::{Read, Write};
    let rt = Green::new();
    let peer = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = peer.local_addr().unwrap();
    let (stream, mut other) = rt.block_on(async {
        let mut s = rt.tcp_connect(addr).await.unwrap();
        let (mut other, _) = peer.accept().unwrap();
        // Bytes through the green socket first, so a task has waited on it.
        other.write_all(b"via green").unwrap();
        let mut buf = [0u8; 9];
        rt.timeout(PROMPT, s.read_exact(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf, b"via green");
        s.write_all(b"ok").await.unwrap();
        let mut ok = [0u8; 2];
        other.read_exact(&mut ok).unwrap();
        (s, other)
    });
    assert_eq!(stream.get_ref().peer_addr().unwrap(), addr);
    // The std socket works on its own, with the same connection.
    let mut std_stream = stream.into_inner().unwrap();
    std_stream.set_nonblocking(false).unwrap();
    std_stream.write_all(b"via std").unwrap();
    let mut buf = [0u8; 7];
    other.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"via std");
    other.write_all(b"back").unwrap();
    let mut back = [0u8; 4];
    std_stream.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"back");

    let listener = rt.block_on(rt.tcp_listen("127.0.0.1:0")).unwrap();
    let l_addr = anyrt_core::net::TcpListener::local_addr(&listener).unwrap();
    let std_listener = listener.into_inner().unwrap();
    assert_eq!(std_listener.local_addr().unwrap(), l_addr);
    let udp = rt.block_on(rt.udp_bind("127.0.0.1:0")).unwrap();
    let u_addr = anyrt_core::net::UdpSocket::local_addr(&udp).unwrap();
    assert_eq!(udp.get_ref().local_addr().unwrap(), u_addr);
    assert_eq!(udp.into_inner().unwrap().local_addr().unwrap(), u_addr);
}

#[test]
fn blocking_code_that_ends_as_it_is_woken_leaves_every_worker_running() {
    use anyrt_core::io::{AsyncReadExt, AsyncWriteExt};
    use anyrt_core::net::TcpListener;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    // The conformance case `threads_that_end_as_they_are_woken_leave_every_worker_running`
    // covers implicit tasks; this covers the two other ways a coroutine gets a cached loop
    // state: blocking-style code called from an async task, and from a coroutine anyrt did
    // not spawn (may's own). Each ends right after a wake-up from another thread, which can
    // land while it goes into its park; its end must not stall the worker.
    const ROUNDS: usize = 40;
    const PER_ROUND: usize = 100;
    let rt = Green::new();
    let ended = Arc::new(AtomicUsize::new(0));
    for round in 1..=ROUNDS {
        let mut wakes = Vec::with_capacity(PER_ROUND);
        for i in 0..PER_ROUND {
            let (tx, rx) = async_channel::bounded::<()>(1);
            wakes.push(tx);
            let ended = ended.clone();
            let body = move || {
                let _ = rt.block_on(rx.recv());
                ended.fetch_add(1, Ordering::SeqCst);
            };
            if i % 2 == 0 {
                drop(rt.spawn(async move { body() }));
            } else {
                // SAFETY: `body` keeps no thread-local borrow across its wait, and its stack
                // (may's default) holds a `block_on` of a channel receive.
                let spawned = unsafe { may::coroutine::spawn(body) };
                drop(spawned);
            }
        }
        std::thread::spawn(move || {
            for tx in wakes {
                tx.try_send(()).unwrap();
            }
        })
        .join()
        .unwrap();
        let t0 = Instant::now();
        while ended.load(Ordering::SeqCst) < round * PER_ROUND {
            assert!(t0.elapsed() < PROMPT, "round {round}: not every task ended");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    // Sockets are spread over every worker's poller: each round trip needs its worker.
    let echoed = rt.block_on(async move {
        let l = rt.tcp_listen("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let server = rt.spawn(async move {
            for _ in 0..64 {
                let (mut s, _) = l.accept().await.unwrap();
                drop(rt.spawn(async move {
                    let mut buf = [0u8; 4];
                    s.read_exact(&mut buf).await.unwrap();
                    s.write_all(&buf).await.unwrap();
                }));
            }
        });
        let clients: Vec<_> = (0..64u32)
            .map(|c| {
                rt.spawn(async move {
                    let mut s = rt.tcp_connect(addr).await.unwrap();
                    s.write_all(&c.to_be_bytes()).await.unwrap();
                    let mut back = [0u8; 4];
                    rt.timeout(PROMPT, s.read_exact(&mut back))
                        .await
                        .unwrap_or_else(|_| panic!("client {c}: no echo"))
                        .unwrap();
                    u32::from_be_bytes(back)
                })
            })
            .collect();
        let mut sum = 0;
        for h in clients {
            sum += rt.timeout(PROMPT, h).await.unwrap().unwrap();
        }
        rt.timeout(PROMPT, server).await.unwrap().unwrap();
        sum
    });
    assert_eq!(echoed, (0..64).sum::<u32>());
}

#[test]
fn timers_fire_while_one_worker_is_blocked() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    // may queues what is woken from outside the workers (here, by the timer thread) on one
    // worker's own queue, which the other workers do not take from. A worker blocked by a
    // task (a blocking call, a panic hook printing a backtrace) must not hold up the
    // timers of the tasks on the other worker.
    let rt = Green::new();
    let warm = rt.spawn(async move { rt.sleep(Duration::from_millis(1)).await });
    rt.block_on(rt.timeout(PROMPT, warm)).unwrap().unwrap();
    let (started, stop) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let (s, st) = (started.clone(), stop.clone());
    let hog = rt.spawn(async move {
        s.store(true, Ordering::SeqCst);
        let t0 = Instant::now();
        // Blocks its worker (deliberately not cooperative), for 5 s at most.
        while !st.load(Ordering::SeqCst) && t0.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    while !started.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(1));
    }
    // Several rounds: the dispatcher's wake-up goes to either worker's queue each time.
    for round in 0..6 {
        let done = Arc::new(AtomicUsize::new(0));
        let _sleepers: Vec<_> = (0..10)
            .map(|_| {
                let done = done.clone();
                rt.spawn(async move {
                    rt.sleep(Duration::from_millis(10)).await;
                    done.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        let t0 = Instant::now();
        // Half of them wait in the blocked worker's queue to start, and half of the rest
        // are woken through it: some, not all, finish while it is blocked.
        while done.load(Ordering::SeqCst) == 0 {
            assert!(
                t0.elapsed() < Duration::from_secs(1),
                "round {round}: no sleep of 10 ms done after 1 s, one worker blocked"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    stop.store(true, Ordering::SeqCst);
    rt.block_on(rt.timeout(PROMPT, hog)).unwrap().unwrap();
}
