//! The HTTP examples, checked on every backend with hyper's client: `examples/http.rs`
//! (one hyper service through `anyrt::hyper`) and `examples/http_implicit.rs` (a
//! blocking-style server with httparse on implicit threads). Each demo sends 800 requests
//! over 20 keep-alive connections and checks every reply; then the server shuts down.
#![cfg(feature = "hyper")]

use std::time::Duration;

use anyrt::net::TcpListener;
use anyrt::{Runtime, RuntimeExt};

#[path = "../examples/http_implicit.rs"]
#[allow(dead_code)]
mod implicit_example;

use implicit_example::async_example;

#[anyrt::test(timeout = "60s")]
async fn the_async_http_example_serves_every_route<R: Runtime>(rt: R) {
    let listener = rt.tcp_listen("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = anyrt::sync::channel::bounded::<()>(1);
    let server = rt.spawn(async_example::serve(rt.clone(), listener, async move {
        let _ = stop_rx.recv().await;
    }));
    let greeting = format!("hello from anyrt ({})\n", rt.name());
    let checked = async_example::demo(rt.clone(), addr, greeting)
        .await
        .unwrap();
    assert_eq!(checked, 800);
    drop(stop_tx);
    rt.timeout(Duration::from_secs(10), server)
        .await
        .expect("the server did not shut down")
        .unwrap()
        .unwrap();
}

#[anyrt::test(timeout = "60s")]
fn the_blocking_style_http_example_serves_every_route<R: Runtime>(rt: R) {
    let listener = anyrt::implicit::TcpListener::bind(&rt, "127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = implicit_example::serve(&rt, listener);
    assert_eq!(implicit_example::demo(&rt, addr).unwrap(), 800);
    serving.shutdown().unwrap();
}
