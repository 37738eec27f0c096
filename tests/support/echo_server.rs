//! A counting echo server, shared by the fault tests (included with `#[path]`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyrt::Runtime;
use anyrt::io::{AsyncReadExt, AsyncWriteExt};
use anyrt::net::TcpListener;

/// Serves echo on a fresh 127.0.0.1 port: one task per connection, each counted in the
/// returned counter once its connection has ended. The handle is the accept loop's.
pub(crate) async fn echo_server<R: Runtime>(
    rt: &R,
) -> (SocketAddr, Arc<AtomicUsize>, R::JoinHandle<()>) {
    let l = rt.tcp_listen("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let served = Arc::new(AtomicUsize::new(0));
    let (rt2, served2) = (rt.clone(), served.clone());
    let server = rt.spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let served = served2.clone();
            drop(rt2.spawn(async move {
                let mut buf = [0u8; 1024];
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
