//! Unix domain sockets (streams and datagrams) over paths in a fresh temporary directory,
//! abstract names on Linux, and socket pairs.

use std::io::ErrorKind;
use std::net::Shutdown;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyrt_core::io::{AsyncReadExt, AsyncWriteExt};
use anyrt_core::net::{UnixDatagram, UnixListener, UnixStream};
use anyrt_core::task::JoinHandle;
use anyrt_core::{Runtime, RuntimeExt};

use crate::support::pattern;
use crate::{PROMPT, ms};

/// A directory of its own for one case's socket paths, removed (with what is in it) on drop.
#[derive(Debug)]
pub struct SocketDir(PathBuf);

impl SocketDir {
    /// Creates `anyrt-conformance-<pid>-<n>` in the system's temporary directory.
    pub fn new() -> SocketDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("anyrt-conformance-{}-{n}", std::process::id()));
        // A directory left by an earlier process with the same pid is stale.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        SocketDir(dir)
    }

    /// A path for a socket named `name` in this directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Default for SocketDir {
    fn default() -> Self {
        SocketDir::new()
    }
}

impl Drop for SocketDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn path_of(addr: &std::os::unix::net::SocketAddr) -> Option<&Path> {
    addr.as_pathname()
}

/// Spawns an echo server on `listener`: every connection gets its bytes back until EOF.
fn spawn_echo<R: Runtime>(rt: &R, listener: R::UnixListener) -> R::JoinHandle<()> {
    let rt2 = rt.clone();
    rt.spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            drop(rt2.spawn(async move {
                let (mut rd, mut wr) = stream.split();
                let _ = futures_util::io::copy(&mut rd, &mut wr).await;
                let _ = wr.close().await;
            }));
        }
    })
}

/// Conformance case: 256 KiB echoed over a path socket, with the addresses each side
/// reports (the listener's and the client's peer address is the path; an unbound client
/// is unnamed), and socket options reached through `socket2::SockRef`.
pub async fn echo_over_a_path_socket<R: Runtime>(rt: R) {
    let dir = SocketDir::new();
    let path = dir.path("echo.sock");
    let listener = rt.unix_listen(&path).unwrap();
    assert_eq!(path_of(&listener.local_addr().unwrap()), Some(&*path));
    let server = spawn_echo(&rt, listener);
    let stream = rt
        .timeout(PROMPT, rt.unix_connect(&path))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(path_of(&stream.peer_addr().unwrap()), Some(&*path));
    assert!(stream.local_addr().unwrap().is_unnamed());
    let sock = socket2::SockRef::from(&stream);
    sock.set_send_buffer_size(64 * 1024).unwrap();
    assert!(sock.send_buffer_size().unwrap() >= 64 * 1024);

    let data = pattern(256 * 1024, 3);
    let expected = data.clone();
    let (mut rd, mut wr) = stream.split();
    let writer = async move {
        wr.write_all(&data).await.unwrap();
        wr.close().await.unwrap();
    };
    let reader = async move {
        let mut got = Vec::new();
        rd.read_to_end(&mut got).await.unwrap();
        assert!(
            got == expected,
            "echoed bytes differ ({} bytes back)",
            got.len()
        );
    };
    rt.timeout(PROMPT * 2, futures_util::future::join(writer, reader))
        .await
        .expect("256 KiB Unix echo took too long");
    server.abort();
}

/// Conformance case: after `shutdown(Write)` the peer reads EOF and can still answer on
/// its write half; after the peer closes, a read returns EOF.
pub async fn half_close<R: Runtime>(rt: R) {
    let dir = SocketDir::new();
    let path = dir.path("half.sock");
    let listener = rt.unix_listen(&path).unwrap();
    let server = rt.spawn(async move {
        let (mut s, peer) = listener.accept().await.unwrap();
        assert!(peer.is_unnamed());
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.unwrap();
        s.write_all(format!("got {} bytes", got.len()).as_bytes())
            .await
            .unwrap();
        s.close().await.unwrap();
    });
    let mut c = rt.unix_connect(&path).await.unwrap();
    c.write_all(b"hello, half").await.unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let mut reply = String::new();
    rt.timeout(PROMPT, c.read_to_string(&mut reply))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reply, "got 11 bytes");
    rt.timeout(PROMPT, server).await.unwrap().unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(c.read(&mut buf).await.unwrap(), 0);
}

/// Conformance case: a connected pair carries bytes both ways; a read waits (without
/// blocking other tasks) until the other end writes; dropping one end is EOF to the other.
pub async fn stream_pair<R: Runtime>(rt: R) {
    let (mut a, mut b) = rt.unix_stream_pair().unwrap();
    assert!(a.peer_addr().unwrap().is_unnamed());
    let rt2 = rt.clone();
    let writer = rt.spawn(async move {
        rt2.sleep(ms(20)).await;
        b.write_all(b"from b").await.unwrap();
        let mut buf = [0u8; 6];
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"from a");
        // `b` is dropped here: `a` reads EOF.
    });
    let mut buf = [0u8; 6];
    rt.timeout(PROMPT, a.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf, b"from b");
    a.write_all(b"from a").await.unwrap();
    rt.timeout(PROMPT, writer).await.unwrap().unwrap();
    let n = rt.timeout(PROMPT, a.read(&mut buf)).await.unwrap().unwrap();
    assert_eq!(n, 0);
}

/// Conformance case: the socket file outlives the listener, as with std and tokio (the
/// user removes it). While it is there, binding it again is `AddrInUse` (listener alive or
/// not) and connecting to it once the listener is gone is `ConnectionRefused`; a missing
/// path is `NotFound` to connect, to `send_to` and to bind in a missing directory.
pub async fn path_cleanup_and_errors<R: Runtime>(rt: R) {
    let dir = SocketDir::new();
    let path = dir.path("kept.sock");
    let listener = rt.unix_listen(&path).unwrap();
    assert_eq!(
        rt.unix_listen(&path).unwrap_err().kind(),
        ErrorKind::AddrInUse
    );
    assert_eq!(
        rt.unix_datagram_bind(&path).unwrap_err().kind(),
        ErrorKind::AddrInUse
    );
    drop(listener);
    assert!(path.exists(), "the socket file is the user's to remove");
    let refused = rt
        .timeout(PROMPT, rt.unix_connect(&path))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);
    assert_eq!(
        rt.unix_listen(&path).unwrap_err().kind(),
        ErrorKind::AddrInUse
    );
    std::fs::remove_file(&path).unwrap();
    let again = rt.unix_listen(&path).unwrap();
    assert_eq!(path_of(&again.local_addr().unwrap()), Some(&*path));

    let missing = dir.path("missing.sock");
    let err = rt
        .timeout(PROMPT, rt.unix_connect(&missing))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let unbound = rt.unix_datagram_unbound().unwrap();
    let err = rt
        .timeout(PROMPT, unbound.send_to(b"x", &missing))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let nowhere = dir.path("no/such/dir/s.sock");
    assert_eq!(
        rt.unix_listen(&nowhere).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

/// Conformance case (Linux): a path that starts with a NUL byte is an abstract name: no
/// file appears, the peer address reports the name, and the name is free again once the
/// listener is dropped. Elsewhere the case passes without running.
pub async fn abstract_names<R: Runtime>(rt: R) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        #[cfg(target_os = "android")]
        use std::os::android::net::SocketAddrExt;
        #[cfg(target_os = "linux")]
        use std::os::linux::net::SocketAddrExt;
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "anyrt-conformance-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = PathBuf::from(format!("\0{name}"));
        let listener = rt.unix_listen(&path).unwrap();
        assert_eq!(
            listener.local_addr().unwrap().as_abstract_name(),
            Some(name.as_bytes())
        );
        assert!(!Path::new(&name).exists());
        let server = spawn_echo(&rt, listener);
        let mut c = rt.unix_connect(&path).await.unwrap();
        assert_eq!(
            c.peer_addr().unwrap().as_abstract_name(),
            Some(name.as_bytes())
        );
        c.write_all(b"abstract").await.unwrap();
        let mut buf = [0u8; 8];
        rt.timeout(PROMPT, c.read_exact(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf, b"abstract");
        server.abort();
        // The listener goes with the aborted task; the kernel frees the name at once.
        let _ = rt.timeout(PROMPT, server).await.unwrap();
        let mut rebound = None;
        for _ in 0..100 {
            match rt.unix_listen(&path) {
                Ok(l) => {
                    rebound = Some(l);
                    break;
                }
                Err(e) if e.kind() == ErrorKind::AddrInUse => rt.sleep(ms(10)).await,
                Err(e) => panic!("rebinding an abstract name: {e}"),
            }
        }
        assert!(rebound.is_some(), "the abstract name stayed in use");
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    drop(rt);
}

/// Conformance case: datagrams keep their boundaries and report their sender (a path, or
/// unnamed for an unbound socket); `connect` fixes the peer for `send`/`recv`; a pair is
/// connected both ways; a `recv` waits without blocking other tasks.
pub async fn datagrams<R: Runtime>(rt: R) {
    let dir = SocketDir::new();
    let a_path = dir.path("a.sock");
    let b_path = dir.path("b.sock");
    let a = rt.unix_datagram_bind(&a_path).unwrap();
    let b = rt.unix_datagram_bind(&b_path).unwrap();
    assert_eq!(path_of(&a.local_addr().unwrap()), Some(&*a_path));
    assert_eq!(a.send_to(b"one", &b_path).await.unwrap(), 3);
    assert_eq!(a.send_to(b"two two", &b_path).await.unwrap(), 7);
    let mut buf = [0u8; 64];
    let (n, from) = rt
        .timeout(PROMPT, b.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((&buf[..n], path_of(&from)), (&b"one"[..], Some(&*a_path)));
    let (n, _) = b.recv_from(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"two two");

    let unbound = rt.unix_datagram_unbound().unwrap();
    unbound.send_to(b"anon", &b_path).await.unwrap();
    let (n, from) = b.recv_from(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"anon");
    assert!(from.is_unnamed());

    unbound.connect(&a_path).unwrap();
    assert_eq!(path_of(&unbound.peer_addr().unwrap()), Some(&*a_path));
    unbound.send(b"connected").await.unwrap();
    let n = rt.timeout(PROMPT, a.recv(&mut buf)).await.unwrap().unwrap();
    assert_eq!(&buf[..n], b"connected");

    let (p, q) = rt.unix_datagram_pair().unwrap();
    let rt2 = rt.clone();
    let sender = rt.spawn(async move {
        rt2.sleep(ms(20)).await;
        q.send(b"late").await.unwrap();
        q
    });
    let n = rt.timeout(PROMPT, p.recv(&mut buf)).await.unwrap().unwrap();
    assert_eq!(&buf[..n], b"late");
    let q = rt.timeout(PROMPT, sender).await.unwrap().unwrap();
    p.send(b"back").await.unwrap();
    let n = q.recv(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"back");
    q.shutdown(Shutdown::Write).unwrap();
    assert_eq!(
        q.send(b"after").await.unwrap_err().kind(),
        ErrorKind::BrokenPipe
    );
}

/// Conformance case: std's Unix sockets (made by hand, or inherited) are taken over on
/// every backend, and `unix_connect`'s future does not borrow the runtime, so it can be
/// spawned.
pub async fn unix_sockets_are_taken_over_from_std<R: Runtime>(rt: R) {
    let dir = SocketDir::new();
    let path = dir.path("std.sock");
    let listener = rt
        .unix_listener_from_std(std::os::unix::net::UnixListener::bind(&path).unwrap())
        .unwrap();
    let client = rt.spawn(rt.unix_connect(path.clone()));
    let (mut server, _) = rt
        .timeout(PROMPT, listener.accept())
        .await
        .unwrap()
        .unwrap();
    let mut client = rt.timeout(PROMPT, client).await.unwrap().unwrap().unwrap();
    client.write_all(b"spawned").await.unwrap();
    let mut buf = [0u8; 7];
    rt.timeout(PROMPT, server.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf, b"spawned");

    // A std connect to a listener with room in its backlog completes at once.
    let std_stream = std::os::unix::net::UnixStream::connect(&path).unwrap();
    let mut from_std = rt.unix_stream_from_std(std_stream).unwrap();
    let (mut accepted, _) = rt
        .timeout(PROMPT, listener.accept())
        .await
        .unwrap()
        .unwrap();
    from_std.write_all(b"from std").await.unwrap();
    let mut buf = [0u8; 8];
    rt.timeout(PROMPT, accepted.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf, b"from std");

    let (x, y) = std::os::unix::net::UnixDatagram::pair().unwrap();
    let x = rt.unix_datagram_from_std(x).unwrap();
    let y = rt.unix_datagram_from_std(y).unwrap();
    x.send(b"dgram").await.unwrap();
    let mut buf = [0u8; 8];
    let n = rt.timeout(PROMPT, y.recv(&mut buf)).await.unwrap().unwrap();
    assert_eq!(&buf[..n], b"dgram");
}

/// `ReadUninit` on a Unix stream, as on TCP (see
/// [`read_uninit_writes_only_what_it_reads`](crate::net_tcp::read_uninit_writes_only_what_it_reads)).
pub async fn read_uninit_on_a_unix_stream<R: Runtime>(rt: R) {
    let (a, b) = rt.unix_stream_pair().unwrap();
    crate::support::check_read_uninit(&rt, a, b).await;
}
