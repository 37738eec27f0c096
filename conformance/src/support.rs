//! Helpers the cases share, public for other test suites (anyrt's fault tests use them).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use anyrt_core::io::{AsyncReadExt, AsyncWriteExt};
use anyrt_core::net::TcpListener;
use anyrt_core::{Runtime, RuntimeExt};

/// Serves echo on a fresh 127.0.0.1 port: one task per connection, each counted in the
/// returned counter once its connection has ended. The handle is the accept loop's.
///
/// ```
/// use anyrt_core::Runtime;
/// use anyrt_core::io::{AsyncReadExt, AsyncWriteExt};
///
/// let rt = anyrt_tokio::Tokio::new();
/// rt.block_on(async {
///     let (addr, _served, _server) = anyrt_conformance::support::echo_server(&rt).await;
///     let mut c = rt.tcp_connect(addr).await.unwrap();
///     c.write_all(b"hi").await.unwrap();
///     let mut back = [0u8; 2];
///     c.read_exact(&mut back).await.unwrap();
///     assert_eq!(&back, b"hi");
/// });
/// ```
pub async fn echo_server<R: Runtime>(rt: &R) -> (SocketAddr, Arc<AtomicUsize>, R::JoinHandle<()>) {
    let l = rt.tcp_listen("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let served = Arc::new(AtomicUsize::new(0));
    let (rt2, served2) = (rt.clone(), served.clone());
    let server = rt.spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let served = served2.clone();
            drop(rt2.spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                while let Ok(n @ 1..) = s.read(&mut buf).await {
                    if s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
                served.fetch_add(1, Ordering::SeqCst);
            }));
        }
    });
    (addr, served, server)
}

/// Sets its flag when dropped: moved into a task, it tells whether the task's future has
/// been dropped.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
///
/// let flag = Arc::new(AtomicBool::new(false));
/// drop(anyrt_conformance::support::SetOnDrop(flag.clone()));
/// assert!(flag.load(Ordering::SeqCst));
/// ```
#[derive(Debug)]
pub struct SetOnDrop(pub Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// `len` bytes that differ from one position (and `seed`) to the next, so a lost, doubled
/// or reordered chunk shows.
///
/// ```
/// assert_eq!(anyrt_conformance::support::pattern(3, 1), [1, 32, 63]);
/// ```
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Reads everything `writer` sends (256 KiB, after a pause so that the first read waits)
/// with [`ReadUninit::read_uninit`](anyrt_core::io::ReadUninit::read_uninit) into a
/// buffer whose bytes are all `0xAA` beforehand, and checks that the stream's bytes arrive
/// in order and that no byte past the count a read returned was written: the read went
/// straight into the buffer, nothing zeroed it first.
pub async fn check_read_uninit<R, S, W>(rt: &R, mut reader: S, mut writer: W)
where
    R: Runtime,
    S: anyrt_core::io::ReadUninit + Unpin + Send,
    W: anyrt_core::io::AsyncWrite + Unpin + Send + 'static,
{
    use std::mem::MaybeUninit;
    const SENTINEL: u8 = 0xAA;
    let data = pattern(256 * 1024, 11);
    let sent = data.clone();
    let rt2 = rt.clone();
    let writing = rt.spawn(async move {
        rt2.sleep(crate::ms(20)).await;
        writer.write_all(&sent).await.unwrap();
        writer.close().await.unwrap();
    });
    let mut got = Vec::with_capacity(data.len());
    let mut buf = vec![MaybeUninit::new(SENTINEL); 8192];
    loop {
        let n = rt
            .timeout(crate::PROMPT, reader.read_uninit(&mut buf))
            .await
            .expect("read_uninit hung")
            .unwrap();
        assert!(n <= buf.len());
        // SAFETY: every byte is initialised: to SENTINEL when the buffer was made (or
        // refilled), or by the socket; a read never de-initialises memory.
        let bytes: Vec<u8> = buf.iter().map(|b| unsafe { b.assume_init() }).collect();
        assert!(
            bytes[n..].iter().all(|&b| b == SENTINEL),
            "read_uninit wrote past the {n} bytes it reported (it zeroed the buffer?)"
        );
        if n == 0 {
            break;
        }
        got.extend_from_slice(&bytes[..n]);
        buf[..n].fill(MaybeUninit::new(SENTINEL));
    }
    assert!(
        got == data,
        "bytes read with read_uninit differ from those sent"
    );
    rt.timeout(crate::PROMPT, writing).await.unwrap().unwrap();
}

/// A connected TCP pair over loopback: `(client, server)`.
pub async fn tcp_pair<R: Runtime>(rt: &R) -> (R::TcpStream, R::TcpStream) {
    let listener = rt.tcp_listen("127.0.0.1:0").await.unwrap();
    let client = rt
        .tcp_connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}
