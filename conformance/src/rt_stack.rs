//! Stacks that fit ordinary code, with the default settings, in debug builds: deep async
//! recursion, large values passed by value, large buffers in blocking-style code.

use std::future::Future;
use std::io::{Read, Write};
use std::pin::Pin;

use anyrt_core::implicit::{self, TcpListener, TcpStream};
use anyrt_core::{Runtime, RuntimeExt};

use crate::PROMPT;

fn recurse(depth: u32) -> Pin<Box<dyn Future<Output = u32> + Send>> {
    Box::pin(async move {
        if depth == 0 {
            0
        } else {
            recurse(depth - 1).await + 1
        }
    })
}

async fn sum_by_value(a: [u8; 65536]) -> u64 {
    a.iter().map(|&b| u64::from(b)).sum()
}

/// Conformance case: a thousand deep async recursion.
pub async fn a_thousand_deep_async_recursion<R: Runtime>(rt: R) {
    let h = rt.spawn(recurse(1000));
    assert_eq!(rt.timeout(PROMPT, h).await.unwrap().unwrap(), 1000);
}

/// Conformance case: a 64 kib array passed by value.
pub async fn a_64_kib_array_passed_by_value<R: Runtime>(rt: R) {
    let h = rt.spawn(async {
        let a = std::hint::black_box([1u8; 65536]);
        sum_by_value(a).await
    });
    assert_eq!(rt.timeout(PROMPT, h).await.unwrap().unwrap(), 65536);
}

/// Conformance case: a 64 kib stack buffer in blocking style code.
pub fn a_64_kib_stack_buffer_in_blocking_style_code<R: Runtime>(rt: R) {
    let listener = TcpListener::bind(&rt, "127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let rt2 = rt.clone();
    let client = implicit::spawn(&rt, move || {
        let mut c = TcpStream::connect(&rt2, addr).unwrap();
        c.write_all(&[5u8; 1000]).unwrap();
    });
    let h = implicit::spawn(&rt, move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 65536];
        let mut total = 0;
        while let Ok(n @ 1..) = s.read(&mut buf) {
            total += buf[..n].iter().map(|&b| usize::from(b)).sum::<usize>();
        }
        total
    });
    client.join().unwrap();
    assert_eq!(h.join().unwrap(), 5000);
}
