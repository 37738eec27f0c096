//! TCP over real loopback sockets.

use std::io::ErrorKind;
use std::net::{Shutdown, SocketAddr};
use std::time::Instant;

use anyrt_core::io::{AsyncReadExt, AsyncWriteExt};
use anyrt_core::net::{TcpListener, TcpStream};
use anyrt_core::{Runtime, RuntimeExt};

use crate::support::pattern;
use crate::{PROMPT, ms};

/// Spawns an echo server; returns its address.
async fn echo_server<R: Runtime>(rt: &R) -> SocketAddr {
    crate::support::echo_server(rt).await.0
}

/// Conformance case: echo one mebibyte.
pub async fn echo_one_mebibyte<R: Runtime>(rt: R) {
    let addr = echo_server(&rt).await;
    let stream = rt.tcp_connect(addr).await.unwrap();
    assert_eq!(stream.peer_addr().unwrap(), addr);
    stream.set_nodelay(true).unwrap();
    assert!(stream.nodelay().unwrap());
    let data = pattern(1 << 20, 7);
    let (mut rd, mut wr) = stream.split();
    let expected = data.clone();
    // Write and read at once: a 1 MiB echo does not fit in the socket buffers.
    let writer = async move {
        wr.write_all(&data).await.unwrap();
        wr.flush().await.unwrap();
        wr
    };
    let reader = async move {
        let mut got = vec![0u8; expected.len()];
        rd.read_exact(&mut got).await.unwrap();
        assert!(got == expected, "echoed bytes differ");
    };
    let (wr, ()) = rt
        .timeout(PROMPT * 2, futures_util::future::join(writer, reader))
        .await
        .expect("1 MiB echo took too long");
    drop(wr);
}

/// Conformance case: fifty concurrent connections.
pub async fn fifty_concurrent_connections<R: Runtime>(rt: R) {
    let addr = echo_server(&rt).await;
    let clients: Vec<_> = (0..50u8)
        .map(|c| {
            let rt2 = rt.clone();
            rt.spawn(async move {
                let mut s = rt2.tcp_connect(addr).await.unwrap();
                for round in 0..20u8 {
                    let msg = pattern(64, c ^ round);
                    s.write_all(&msg).await.unwrap();
                    let mut back = [0u8; 64];
                    s.read_exact(&mut back).await.unwrap();
                    assert_eq!(&back[..], &msg[..]);
                }
                c
            })
        })
        .collect();
    let mut seen = 0u64;
    for h in clients {
        let c = rt.timeout(PROMPT * 2, h).await.unwrap().unwrap();
        seen |= 1 << c;
    }
    assert_eq!(seen, (1u64 << 50) - 1);
}

/// Conformance case: half close.
pub async fn half_close<R: Runtime>(rt: R) {
    let listener = rt.tcp_listen("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = rt.spawn(async move {
        let (mut s, peer) = listener.accept().await.unwrap();
        assert_eq!(s.peer_addr().unwrap(), peer);
        // Read to EOF, then answer on the still-open write half.
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.unwrap();
        s.write_all(format!("got {} bytes", got.len()).as_bytes())
            .await
            .unwrap();
        s.close().await.unwrap();
    });
    let mut c = rt.tcp_connect(addr).await.unwrap();
    c.write_all(b"hello, half").await.unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let mut reply = String::new();
    rt.timeout(PROMPT, c.read_to_string(&mut reply))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reply, "got 11 bytes");
    server.await.unwrap();
    // After the peer closed, a read returns EOF.
    let mut buf = [0u8; 4];
    assert_eq!(c.read(&mut buf).await.unwrap(), 0);
}

/// Conformance case: poll close sends eof.
pub async fn poll_close_sends_eof<R: Runtime>(rt: R) {
    let listener = rt.tcp_listen("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut c = rt.tcp_connect(addr).await.unwrap();
    let (mut s, _) = listener.accept().await.unwrap();
    c.write_all(b"bye").await.unwrap();
    c.close().await.unwrap();
    let mut got = Vec::new();
    rt.timeout(PROMPT, s.read_to_end(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, b"bye");
}

/// Conformance case: connection refused.
pub async fn connection_refused<R: Runtime>(rt: R) {
    // A port that was just free: bind, note it, close.
    let addr = {
        let l = rt.tcp_listen("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap()
    };
    let err = rt.tcp_connect(addr).await.expect_err("connect must fail");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
}

/// Conformance case: address in use.
pub async fn address_in_use<R: Runtime>(rt: R) {
    let l = rt.tcp_listen("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let err = rt
        .tcp_listen(addr)
        .await
        .expect_err("second bind must fail");
    assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
    // The first listener still works.
    let c = rt.tcp_connect(addr).await.unwrap();
    let (s, _) = l.accept().await.unwrap();
    assert_eq!(s.peer_addr().unwrap(), c.local_addr().unwrap());
}

/// Conformance case: read timeout then the stream still works.
pub async fn read_timeout_then_the_stream_still_works<R: Runtime>(rt: R) {
    let listener = rt.tcp_listen("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut c = rt.tcp_connect(addr).await.unwrap();
    let (mut s, _) = listener.accept().await.unwrap();
    let mut buf = [0u8; 16];
    let t0 = Instant::now();
    let r = rt.timeout(ms(100), c.read(&mut buf)).await;
    let err: std::io::Error = r.expect_err("an idle read must time out").into();
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    assert!(t0.elapsed() >= ms(100));
    assert!(t0.elapsed() < PROMPT);
    s.write_all(b"late data").await.unwrap();
    let n = rt.timeout(PROMPT, c.read(&mut buf)).await.unwrap().unwrap();
    assert_eq!(&buf[..n], b"late data");
}

/// Conformance case: connect by host name.
pub async fn connect_by_host_name<R: Runtime>(rt: R) {
    let listener = rt.tcp_listen("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // "localhost" may resolve to ::1 first; each address is tried in turn.
    let mut c = rt.tcp_connect(format!("localhost:{port}")).await.unwrap();
    let (mut s, _) = listener.accept().await.unwrap();
    c.write_all(b"by name").await.unwrap();
    let mut buf = [0u8; 7];
    s.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"by name");
    let c2 = rt.tcp_connect(("localhost", port)).await.unwrap();
    assert_eq!(c2.peer_addr().unwrap().port(), port);
}

/// Conformance case: ipv6 loopback.
pub async fn ipv6_loopback<R: Runtime>(rt: R) {
    let Ok(listener) = rt.tcp_listen("[::1]:0").await else {
        eprintln!("no IPv6 loopback on this machine; skipped");
        return;
    };
    let addr = listener.local_addr().unwrap();
    assert!(addr.is_ipv6());
    let mut c = rt.tcp_connect(addr).await.unwrap();
    let (mut s, _) = listener.accept().await.unwrap();
    c.write_all(b"v6").await.unwrap();
    let mut buf = [0u8; 2];
    s.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"v6");
}

/// Conformance case: bad addresses are invalid input.
pub async fn bad_addresses_are_invalid_input<R: Runtime>(rt: R) {
    for bad in ["not an address", "127.0.0.1:70000", "127.0.0.1"] {
        let err = rt.tcp_connect(bad).await.expect_err("must fail");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}: {err}");
        let err = rt.tcp_listen(bad).await.expect_err("must fail");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}: {err}");
        let err = rt.udp_bind(bad).await.expect_err("must fail");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}: {err}");
    }
}

/// Conformance case: dropping a socket closes it at once.
pub async fn dropping_a_socket_closes_it_at_once<R: Runtime>(rt: R) {
    use std::io::Read;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let listener = rt.tcp_listen("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // The peer and the second bind are plain std sockets: what they see is the kernel's
    // view, whatever the runtime's workers are doing.
    let mut client = std::net::TcpStream::connect(addr).unwrap();
    client.set_read_timeout(Some(PROMPT)).unwrap();
    let (server, _) = listener.accept().await.unwrap();
    // A task waits on both sockets (and times out), drops them, then computes for a second
    // without yielding.
    let computed = Arc::new(AtomicBool::new(false));
    let (dropped_tx, dropped_rx) = async_channel::bounded(1);
    let (rt2, done) = (rt.clone(), computed.clone());
    let task = rt.spawn(async move {
        let mut server = server;
        let mut buf = [0u8; 8];
        assert!(rt2.timeout(ms(20), server.read(&mut buf)).await.is_err());
        assert!(rt2.timeout(ms(20), listener.accept()).await.is_err());
        drop(server);
        drop(listener);
        dropped_tx.send_blocking(()).unwrap();
        std::thread::sleep(ms(1_000));
        done.store(true, Ordering::SeqCst);
    });
    dropped_rx.recv_blocking().unwrap();
    // The peer reads the end of the stream, and the port can be bound again, before the
    // task that dropped them is done computing.
    let n = client.read(&mut [0u8; 8]).unwrap();
    assert_eq!(n, 0);
    let again = std::net::TcpListener::bind(addr);
    assert!(
        !computed.load(Ordering::SeqCst),
        "the sockets closed only when the task was done"
    );
    assert_eq!(again.unwrap().local_addr().unwrap(), addr);
    rt.timeout(PROMPT, task).await.unwrap().unwrap();
}

/// Conformance case: a finished task is gone even after waiting under a long timeout.
pub async fn a_finished_task_is_gone_even_after_waiting_under_a_long_timeout<R: Runtime>(rt: R) {
    use std::time::Duration;

    let listener = rt.tcp_listen("127.0.0.1:0").await.unwrap();
    let mut client = rt
        .tcp_connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    let (tx, rx) = async_channel::bounded::<()>(1);
    let rt2 = rt.clone();
    // A detached task waits under a one-hour timeout, then returns the server's stream.
    drop(rt.spawn(async move {
        let _ = rt2.timeout(Duration::from_secs(3600), rx.recv()).await;
        server
    }));
    rt.sleep(ms(20)).await;
    tx.send(()).await.unwrap();
    // Its output (the stream) is dropped when it ends: the client reads the end at once.
    let mut buf = [0u8; 8];
    let n = rt
        .timeout(PROMPT, client.read(&mut buf))
        .await
        .expect("the finished task's output is still alive")
        .unwrap();
    assert_eq!(n, 0);
}

/// Five hundred simultaneous connects fit the listen backlog: with a backlog under 500 the
/// kernel drops the surplus SYNs, and those connects complete only after a retransmission a
/// second later. Each connect's own time is measured, so a slow machine (or the other
/// tests beside this one) does not make the test fail, while a short backlog (hundreds of
/// retransmitted connects) does.
pub async fn five_hundred_simultaneous_connects_fit_the_backlog<R: Runtime>(rt: R) {
    const N: usize = 500;
    let listener = rt.tcp_listen("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Nothing accepts until every connect is done: each waits in the listen backlog.
    let connects: Vec<_> = (0..N)
        .map(|_| {
            let rt2 = rt.clone();
            rt.spawn(async move {
                let t0 = Instant::now();
                let s = rt2.tcp_connect(addr).await?;
                Ok::<_, std::io::Error>((s, t0.elapsed()))
            })
        })
        .collect();
    let mut clients = Vec::with_capacity(N);
    let mut retransmitted = 0;
    for h in connects {
        let (s, took) = rt.timeout(PROMPT, h).await.unwrap().unwrap().unwrap();
        if took >= ms(1000) {
            retransmitted += 1;
        }
        clients.push(s);
    }
    assert!(
        retransmitted < N / 10,
        "{retransmitted} of {N} connects waited for a SYN retransmission: the backlog is too short"
    );
    for _ in 0..N {
        rt.timeout(PROMPT, listener.accept())
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(clients.len(), N);
}

/// The futures of `tcp_listen`, `tcp_connect` and `udp_bind` do not borrow the runtime:
/// they can be spawned as tasks of their own (`rt.spawn(rt.tcp_connect(addr))`).
pub async fn socket_futures_can_be_spawned<R: Runtime>(rt: R) {
    let listener = rt
        .spawn(rt.tcp_listen("127.0.0.1:0"))
        .await
        .unwrap()
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let client = rt.spawn(rt.tcp_connect(addr));
    let (server_side, _) = rt
        .timeout(PROMPT, listener.accept())
        .await
        .unwrap()
        .unwrap();
    let client = rt.timeout(PROMPT, client).await.unwrap().unwrap().unwrap();
    assert_eq!(
        server_side.peer_addr().unwrap(),
        client.local_addr().unwrap()
    );
    let socket = rt.spawn(rt.udp_bind("127.0.0.1:0")).await.unwrap().unwrap();
    assert!(
        anyrt_core::net::UdpSocket::local_addr(&socket)
            .unwrap()
            .port()
            > 0
    );
}

/// `tcp_connect_timeout` connects where a listener accepts, and gives up with `TimedOut`
/// where the connect hangs: a listener whose accept queue is full drops new SYNs.
pub async fn connect_timeout_connects_or_times_out<R: Runtime>(rt: R) {
    use socket2::{Domain, Socket, Type};
    // A backlog of one, never accepted: once a connection or two wait in it, the kernel
    // drops further SYNs and a connect hangs (retrying a second later, then three).
    let full = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    full.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    full.listen(0).unwrap();
    let addr = full.local_addr().unwrap().as_socket().unwrap();
    let fillers: Vec<_> = (0..4)
        .map(|_| {
            let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
            s.set_nonblocking(true).unwrap();
            let _ = s.connect(&addr.into());
            s
        })
        .collect();
    rt.sleep(ms(50)).await;
    let t0 = Instant::now();
    let err = rt
        .tcp_connect_timeout(addr, ms(200))
        .await
        .expect_err("a connect to a full backlog must time out");
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    assert!(t0.elapsed() >= ms(200), "gave up after {:?}", t0.elapsed());
    assert!(t0.elapsed() < PROMPT, "gave up after {:?}", t0.elapsed());
    drop(fillers);

    let listener = rt.tcp_listen("127.0.0.1:0").await.unwrap();
    let stream = rt
        .tcp_connect_timeout(listener.local_addr().unwrap(), PROMPT)
        .await
        .unwrap();
    assert_eq!(stream.peer_addr().unwrap(), listener.local_addr().unwrap());
}

/// Every socket reaches its options through its OS handle (`net::AsSocket`, so
/// `socket2::SockRef::from(&socket)`): keepalive, linger and TTL on a stream, TTL on a UDP
/// socket, `SO_REUSEADDR` on a listener; and the blocking-style sockets the same.
pub async fn socket_options_through_socket2<R: Runtime>(rt: R) {
    #[cfg(unix)]
    {
        use socket2::SockRef;
        let listener = rt.tcp_listen("127.0.0.1:0").await.unwrap();
        assert!(SockRef::from(&listener).reuse_address().unwrap());
        let stream = rt
            .tcp_connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let sock = SockRef::from(&stream);
        sock.set_keepalive(true).unwrap();
        assert!(sock.keepalive().unwrap());
        sock.set_linger(Some(std::time::Duration::from_secs(1)))
            .unwrap();
        assert_eq!(
            sock.linger().unwrap(),
            Some(std::time::Duration::from_secs(1))
        );
        sock.set_ttl_v4(42).unwrap();
        assert_eq!(sock.ttl_v4().unwrap(), 42);
        let udp = rt.udp_bind("127.0.0.1:0").await.unwrap();
        SockRef::from(&udp).set_ttl_v4(7).unwrap();
        assert_eq!(SockRef::from(&udp).ttl_v4().unwrap(), 7);
        let blocking = anyrt_core::implicit::TcpStream::from_async(&rt, stream);
        assert_eq!(SockRef::from(&blocking).ttl_v4().unwrap(), 42);
    }
    #[cfg(not(unix))]
    let _ = rt;
}

/// Sockets made outside the runtime are taken over with `*_from_std` and carry bytes: a
/// listener configured with socket2 (`SO_REUSEPORT`, a backlog of 4096), as a server or
/// systemd hands one over, a std stream and a std UDP socket.
pub async fn sockets_are_taken_over_from_std<R: Runtime>(rt: R) {
    use anyrt_core::net::UdpSocket;
    use socket2::{Domain, Socket, Type};
    let configured = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    #[cfg(unix)]
    configured.set_reuse_port(true).unwrap();
    configured
        .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    configured.listen(4096).unwrap();
    let listener = rt.tcp_listener_from_std(configured.into()).unwrap();
    #[cfg(unix)]
    assert!(socket2::SockRef::from(&listener).reuse_port().unwrap());
    let addr = listener.local_addr().unwrap();
    // A std connect to loopback with room in the backlog completes at once.
    let std_client = std::net::TcpStream::connect(addr).unwrap();
    let mut client = rt.tcp_stream_from_std(std_client).unwrap();
    let (mut server, _) = rt
        .timeout(PROMPT, listener.accept())
        .await
        .unwrap()
        .unwrap();
    client.write_all(b"taken over").await.unwrap();
    let mut buf = [0u8; 10];
    rt.timeout(PROMPT, server.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf, b"taken over");

    let a = rt
        .udp_socket_from_std(std::net::UdpSocket::bind("127.0.0.1:0").unwrap())
        .unwrap();
    let b = rt.udp_bind("127.0.0.1:0").await.unwrap();
    a.send_to(b"dgram", b.local_addr().unwrap()).await.unwrap();
    let mut got = [0u8; 8];
    let (n, from) = rt
        .timeout(PROMPT, b.recv_from(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((&got[..n], from), (&b"dgram"[..], a.local_addr().unwrap()));
}

/// `tcp_listen_with` applies its options on every backend: two `SO_REUSEPORT` listeners
/// share one port and both accept; `IPV6_V6ONLY` is set on an IPv6 listener (where the
/// machine has IPv6).
pub async fn listen_options_apply<R: Runtime>(rt: R) {
    use anyrt_core::net::ListenOptions;
    let options = ListenOptions {
        backlog: 4096,
        reuse_port: true,
        ..Default::default()
    };
    let first = rt
        .tcp_listen_with("127.0.0.1:0", options.clone())
        .await
        .unwrap();
    let addr = first.local_addr().unwrap();
    #[cfg(unix)]
    {
        let second = rt.tcp_listen_with(addr, options).await.unwrap();
        assert_eq!(second.local_addr().unwrap(), addr);
        assert!(socket2::SockRef::from(&second).reuse_port().unwrap());
    }
    let client = rt.tcp_connect(addr).await.unwrap();
    drop(client);
    // Without SO_REUSEPORT the port is taken.
    let err = rt
        .tcp_listen_with(addr, ListenOptions::default())
        .await
        .expect_err("a second listener without SO_REUSEPORT must fail");
    assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
    let v6 = ListenOptions {
        only_v6: Some(true),
        ..Default::default()
    };
    if let Ok(l) = rt.tcp_listen_with("[::1]:0", v6).await {
        #[cfg(unix)]
        assert!(socket2::SockRef::from(&l).only_v6().unwrap());
        drop(l);
    }
}

/// A stream split into owned halves reads in one task while it writes in another; the
/// halves reunite (halves of two streams do not, and both come back); dropping a write half
/// shuts down its side.
pub async fn split_halves_work_apart_and_reunite<R: Runtime>(rt: R) {
    const N: usize = 256 * 1024;
    let addr = echo_server(&rt).await;
    let (mut read, mut write) = rt.tcp_connect(addr).await.unwrap().into_split();
    let data = pattern(N, 3);
    let sent = data.clone();
    // The echo comes back while the write is still going: both halves work at once.
    let writer = rt.spawn(async move {
        write.write_all(&sent).await.unwrap();
        write
    });
    let mut back = vec![0u8; N];
    rt.timeout(PROMPT, read.read_exact(&mut back))
        .await
        .unwrap()
        .unwrap();
    assert!(back == data, "the echo differs");
    let write = rt.timeout(PROMPT, writer).await.unwrap().unwrap();

    let (mut other_read, other_write) = rt.tcp_connect(addr).await.unwrap().into_split();
    let mismatch = read
        .reunite(other_write)
        .expect_err("halves of two streams must not reunite");
    let (read, other_write) = (mismatch.0, mismatch.1);
    let mut stream = read.reunite(write).unwrap();
    stream.write_all(b"again").await.unwrap();
    let mut buf = [0u8; 5];
    rt.timeout(PROMPT, stream.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf, b"again");

    // The echo server sees EOF once the write half is gone, and closes its side.
    drop(other_write);
    let n = rt
        .timeout(PROMPT, other_read.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 0);
}

/// `peek` leaves the bytes for the next read; the option methods (`ttl`, `linger`,
/// `keepalive`) set and read back; vectored writes are one system call.
pub async fn peek_and_option_methods<R: Runtime>(rt: R) {
    let listener = rt.tcp_listen("127.0.0.1:0").await.unwrap();
    let mut client = rt
        .tcp_connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (mut server, _) = listener.accept().await.unwrap();
    assert!(client.is_write_vectored());
    // Nothing to peek yet: the peek waits, then sees what arrives.
    let rt2 = rt.clone();
    let writer = rt.spawn(async move {
        rt2.sleep(ms(20)).await;
        client.write_all(b"peeked").await.unwrap();
        client
    });
    let mut buf = [0u8; 6];
    let mut seen = 0;
    while seen < buf.len() {
        seen = rt
            .timeout(PROMPT, server.peek(&mut buf))
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(&buf, b"peeked");
    let mut again = [0u8; 6];
    server.read_exact(&mut again).await.unwrap();
    assert_eq!(&again, b"peeked");
    let client = rt.timeout(PROMPT, writer).await.unwrap().unwrap();
    #[cfg(unix)]
    {
        client.set_ttl(33).unwrap();
        assert_eq!(client.ttl().unwrap(), 33);
        client
            .set_linger(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        assert_eq!(
            client.linger().unwrap(),
            Some(std::time::Duration::from_secs(2))
        );
        client.set_keepalive(true).unwrap();
        assert!(client.keepalive().unwrap());
    }
    drop(client);
}

/// `ReadUninit` on a TCP stream reads the stream's bytes in order straight into the
/// caller's buffer: nothing past what a read reports is written (no zeroing), a read
/// before data arrives waits, end of stream is `Ok(0)`.
pub async fn read_uninit_writes_only_what_it_reads<R: Runtime>(rt: R) {
    let (client, server) = crate::support::tcp_pair(&rt).await;
    crate::support::check_read_uninit(&rt, server, client).await;
}
