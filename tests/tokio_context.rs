//! The `tokio-context` feature: code that calls tokio's runtime (`tokio::spawn`,
//! `tokio::time`, `tokio::net`) runs inside Smol and Green tasks, implicit threads,
//! `spawn_blocking` jobs and `block_on`, as it does on Tokio. Without the feature each of
//! these panics with "there is no reactor running".
#![cfg(feature = "tokio-context")]

use std::time::{Duration, Instant};

use anyrt::{Runtime, RuntimeExt, implicit};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// tokio's own calls, as a library written for tokio makes them: a timer, a spawned
/// tokio task, and a TCP echo over `tokio::net` (bytes over real loopback).
async fn tokio_calls() -> u32 {
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(t0.elapsed() >= Duration::from_millis(20));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).await.unwrap();
        s.write_all(&buf).await.unwrap();
        7
    });
    let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
    c.write_all(b"hello").await.unwrap();
    let mut back = [0u8; 5];
    c.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"hello");
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap()
}

#[anyrt::test(timeout = "60s")]
async fn tokio_calls_work_in_tasks<R: Runtime>(rt: R) {
    // In the test's own future (block_on) and in spawned tasks, several at once.
    assert_eq!(tokio_calls().await, 7);
    let tasks: Vec<_> = (0..8).map(|_| rt.spawn(tokio_calls())).collect();
    for t in tasks {
        assert_eq!(
            rt.timeout(Duration::from_secs(30), t)
                .await
                .unwrap()
                .unwrap(),
            7
        );
    }
}

#[anyrt::test(timeout = "60s")]
async fn tokio_calls_work_in_implicit_threads_and_blocking_jobs<R: Runtime>(rt: R) {
    let rt2 = rt.clone();
    let thread = rt.spawn_implicit(move || {
        // Blocking-style code that reaches for tokio's handle, as sync wrappers of
        // tokio libraries do, and waits on a tokio future.
        let handle = tokio::runtime::Handle::current();
        let task = handle.spawn(tokio_calls());
        implicit::block_on(&rt2, task).unwrap()
    });
    assert_eq!(thread.await.unwrap(), 7);
    let job = rt.spawn_blocking(|| tokio::runtime::Handle::current().spawn(async { 9 }));
    assert_eq!(job.await.unwrap().await.unwrap(), 9);
}

/// A thread already in a tokio context keeps its own runtime: `block_on` of a Smol or
/// Green runtime inside `Handle::enter` of a user's tokio runtime neither replaces it nor
/// leaves it out of order.
#[test]
fn a_callers_own_tokio_context_is_kept() {
    let user = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let guard = user.enter();
    let mine = user.handle().id();
    for rt in backends() {
        let seen = rt.block_on(async { tokio::runtime::Handle::current().id() });
        assert_eq!(seen, mine, "{}", rt.name());
    }
    drop(guard); // in order: tokio panics otherwise
    assert!(tokio::runtime::Handle::try_current().is_err());
}

/// The enabled non-tokio backends.
fn backends() -> Vec<anyrt::AnyRuntime> {
    // Tokio's own `block_on` enters its runtime, as tokio does: not the case here.
    ["smol", "green"]
        .into_iter()
        .filter_map(|n| anyrt::AnyRuntime::from_name(n).ok())
        .collect()
}
