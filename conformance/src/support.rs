//! Helpers the cases share, public for other test suites (anyrt's fault tests use them).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use anyrt_core::Runtime;
use anyrt_core::io::{AsyncReadExt, AsyncWriteExt};
use anyrt_core::net::TcpListener;

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
