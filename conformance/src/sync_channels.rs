//! Runtime-agnostic synchronisation crates between tasks.

use anyrt_core::{Runtime, RuntimeExt};

use crate::PROMPT;

/// Conformance case: async channel between tasks.
pub async fn async_channel_between_tasks<R: Runtime>(rt: R) {
    let (tx, rx) = async_channel::bounded::<u64>(4);
    let producers: Vec<_> = (0..4u64)
        .map(|p| {
            let tx = tx.clone();
            rt.spawn(async move {
                for i in 0..250 {
                    tx.send(p * 1000 + i).await.unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let consumer = rt.spawn(async move {
        let (mut n, mut sum) = (0u64, 0u64);
        while let Ok(v) = rx.recv().await {
            n += 1;
            sum += v;
        }
        (n, sum)
    });
    for p in producers {
        p.await.unwrap();
    }
    let (n, sum) = rt.timeout(PROMPT, consumer).await.unwrap().unwrap();
    assert_eq!(n, 1000);
    let expected: u64 = (0..4u64)
        .map(|p| (0..250).map(|i| p * 1000 + i).sum::<u64>())
        .sum();
    assert_eq!(sum, expected);
}

/// Conformance case: futures oneshot between tasks.
pub async fn futures_oneshot_between_tasks<R: Runtime>(rt: R) {
    let (tx, rx) = futures_channel::oneshot::channel::<String>();
    let waiter = rt.spawn(async move { rx.await.unwrap() });
    let rt2 = rt.clone();
    drop(rt.spawn(async move {
        rt2.sleep(crate::ms(10)).await;
        tx.send("over".to_string()).unwrap();
    }));
    assert_eq!(rt.timeout(PROMPT, waiter).await.unwrap().unwrap(), "over");
}
