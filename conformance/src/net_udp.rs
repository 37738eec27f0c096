//! UDP over real loopback sockets.

use std::io::ErrorKind;

use anyrt_core::net::UdpSocket;
use anyrt_core::{Runtime, RuntimeExt};

use crate::PROMPT;

/// Conformance case: send to and recv from.
pub async fn send_to_and_recv_from<R: Runtime>(rt: R) {
    let a = rt.udp_bind("127.0.0.1:0").await.unwrap();
    let b = rt.udp_bind("127.0.0.1:0").await.unwrap();
    let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
    assert_eq!(a.peer_addr().unwrap_err().kind(), ErrorKind::NotConnected);
    let mut buf = [0u8; 64];
    for i in 0..10u8 {
        let msg = [i; 33];
        assert_eq!(a.send_to(&msg, b_addr).await.unwrap(), 33);
        let (n, from) = rt
            .timeout(PROMPT, b.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((n, from), (33, a_addr));
        assert_eq!(&buf[..n], &msg);
        b.send_to(&buf[..n], from).await.unwrap();
        let (n, from) = rt
            .timeout(PROMPT, a.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((n, from), (33, b_addr));
    }
}

/// Conformance case: connected send and recv.
pub async fn connected_send_and_recv<R: Runtime>(rt: R) {
    let a = rt.udp_bind("127.0.0.1:0").await.unwrap();
    let b = rt.udp_bind("127.0.0.1:0").await.unwrap();
    let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
    a.connect(b_addr).await.unwrap();
    b.connect(a_addr).await.unwrap();
    assert_eq!(a.peer_addr().unwrap(), b_addr);
    let mut buf = [0u8; 16];
    a.send(b"ping").await.unwrap();
    let n = rt.timeout(PROMPT, b.recv(&mut buf)).await.unwrap().unwrap();
    assert_eq!(&buf[..n], b"ping");
    b.send(b"pong").await.unwrap();
    let n = rt.timeout(PROMPT, a.recv(&mut buf)).await.unwrap().unwrap();
    assert_eq!(&buf[..n], b"pong");
}

/// Conformance case: recv waits without blocking others.
pub async fn recv_waits_without_blocking_others<R: Runtime>(rt: R) {
    let a = std::sync::Arc::new(rt.udp_bind("127.0.0.1:0").await.unwrap());
    let a_addr = a.local_addr().unwrap();
    let a2 = a.clone();
    let receiver = rt.spawn(async move {
        let mut buf = [0u8; 8];
        let (n, _) = a2.recv_from(&mut buf).await.unwrap();
        buf[..n].to_vec()
    });
    rt.sleep(crate::ms(30)).await;
    let b = rt.udp_bind("127.0.0.1:0").await.unwrap();
    b.send_to(b"late", a_addr).await.unwrap();
    assert_eq!(
        rt.timeout(PROMPT, receiver).await.unwrap().unwrap(),
        b"late"
    );
}
