//! Task sets and cancellation tokens, the same on every backend.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use anyrt_core::structured::{CancellationToken, JoinSet};
use anyrt_core::{Runtime, RuntimeExt};

use crate::support::SetOnDrop;
use crate::{PROMPT, ms};

/// A `JoinSet` joins its tasks as they finish; `abort_all` cancels those still running;
/// dropping the set aborts what is left in it (their futures are dropped).
pub async fn join_set_joins_aborts_and_drops<R: Runtime>(rt: R) {
    let mut set = JoinSet::new(&rt);
    for i in 0..20u64 {
        let rt2 = rt.clone();
        set.spawn(async move {
            rt2.sleep(ms(i)).await;
            i
        });
    }
    assert_eq!(set.len(), 20);
    let mut sum = 0;
    while let Some(r) = rt.timeout(PROMPT, set.join_next()).await.unwrap() {
        sum += r.unwrap();
    }
    assert_eq!(sum, (0..20).sum::<u64>());
    assert!(set.is_empty());

    for _ in 0..10 {
        let rt2 = rt.clone();
        set.spawn(async move {
            rt2.sleep(ms(60_000)).await;
            1
        });
    }
    set.abort_all();
    let mut cancelled = 0;
    while let Some(r) = rt.timeout(PROMPT, set.join_next()).await.unwrap() {
        assert!(r.unwrap_err().is_cancelled());
        cancelled += 1;
    }
    assert_eq!(cancelled, 10);

    let flags: Vec<_> = (0..10).map(|_| Arc::new(AtomicBool::new(false))).collect();
    for flag in &flags {
        let (rt2, guard) = (rt.clone(), SetOnDrop(flag.clone()));
        set.spawn(async move {
            let _guard = guard;
            rt2.sleep(ms(60_000)).await;
            2
        });
    }
    drop(set);
    let deadline = Instant::now() + PROMPT;
    while !flags.iter().all(|f| f.load(Ordering::SeqCst)) && Instant::now() < deadline {
        rt.sleep(ms(5)).await;
    }
    assert!(
        flags.iter().all(|f| f.load(Ordering::SeqCst)),
        "dropping the set left tasks running"
    );
}

/// Cancelling a token reaches its children and their waiters at once; a child cancels
/// alone; `run_until_cancelled` and the drop guard do what they say.
pub async fn cancellation_tokens_cancel_down_the_tree<R: Runtime>(rt: R) {
    let root = CancellationToken::new();
    let child = root.child_token();
    let grandchild = child.child_token();
    let lone = root.child_token();
    lone.cancel();
    assert!(lone.is_cancelled() && !root.is_cancelled() && !grandchild.is_cancelled());

    let woken = Arc::new(AtomicUsize::new(0));
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let (token, woken) = (grandchild.clone(), woken.clone());
            rt.spawn(async move {
                token.cancelled().await;
                woken.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    rt.sleep(ms(20)).await;
    assert_eq!(woken.load(Ordering::SeqCst), 0);
    root.cancel();
    for w in waiters {
        rt.timeout(PROMPT, w).await.unwrap().unwrap();
    }
    assert_eq!(woken.load(Ordering::SeqCst), 4);
    assert!(child.is_cancelled() && grandchild.is_cancelled());
    // A child of a cancelled token is born cancelled.
    assert!(root.child_token().is_cancelled());

    let fresh = CancellationToken::new();
    assert_eq!(fresh.run_until_cancelled(async { 7 }).await, Some(7));
    let rt2 = rt.clone();
    let canceller = {
        let fresh = fresh.clone();
        rt.spawn(async move {
            rt2.sleep(ms(10)).await;
            fresh.cancel();
        })
    };
    let slow = fresh.run_until_cancelled(rt.sleep(ms(60_000)));
    assert_eq!(rt.timeout(PROMPT, slow).await.unwrap(), None);
    canceller.await.unwrap();

    let guarded = CancellationToken::new();
    drop(guarded.clone().drop_guard());
    assert!(guarded.is_cancelled());
    let kept = CancellationToken::new();
    let token = kept.clone().drop_guard().disarm();
    drop(token);
    assert!(!kept.is_cancelled());
}
