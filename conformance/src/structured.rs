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

/// Counts live children: `+1` when made, `-1` when dropped.
struct Live(Arc<AtomicUsize>);

impl Live {
    fn new(count: &Arc<AtomicUsize>) -> Live {
        count.fetch_add(1, Ordering::SeqCst);
        Live(count.clone())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A task group returns the body's value once every child finished; the first error
/// cancels the siblings (within a few ms, not after their minute-long sleeps) and the
/// body (dropped at its `.await`); no child is alive when the group returns; errors that
/// happened before the cancellation reached them are all kept.
pub async fn task_group_waits_for_children_and_the_first_error_cancels_the_rest<R: Runtime>(rt: R) {
    use anyrt_core::structured::task_group;

    let finished = Arc::new(AtomicUsize::new(0));
    let (rt2, f2) = (rt.clone(), finished.clone());
    let out = task_group(&rt, move |group| async move {
        for i in 0..5u64 {
            let (rt, f) = (rt2.clone(), f2.clone());
            group.spawn(async move {
                rt.sleep(ms(5 * i)).await;
                f.fetch_add(1, Ordering::SeqCst);
                Ok::<(), &'static str>(())
            });
        }
        Ok("body")
    })
    .await;
    assert_eq!(out.unwrap(), "body");
    assert_eq!(
        finished.load(Ordering::SeqCst),
        5,
        "returned before its children"
    );

    let live = Arc::new(AtomicUsize::new(0));
    let body_dropped = Arc::new(AtomicBool::new(false));
    let (rt2, live2, bd) = (rt.clone(), live.clone(), body_dropped.clone());
    let t0 = Instant::now();
    let out = rt
        .timeout(
            PROMPT,
            task_group(&rt, move |group| async move {
                let _guard = SetOnDrop(bd);
                for _ in 0..10 {
                    let (rt, live) = (rt2.clone(), live2.clone());
                    group.spawn(async move {
                        let _live = Live::new(&live);
                        rt.sleep(ms(60_000)).await;
                        Ok(())
                    });
                }
                let rt = rt2.clone();
                group.spawn(async move {
                    rt.sleep(ms(20)).await;
                    Err("first")
                });
                // The body waits too: the failure drops it here.
                rt2.sleep(ms(60_000)).await;
                Ok(())
            }),
        )
        .await
        .expect("the first error did not cancel the group");
    assert!(t0.elapsed() < PROMPT);
    let err = out.unwrap_err();
    assert_eq!((*err.first(), err.rest().len()), ("first", 0));
    assert_eq!(live.load(Ordering::SeqCst), 0, "a child outlived its group");
    assert!(body_dropped.load(Ordering::SeqCst));

    // Errors that happen before the cancellation reaches their task are kept too. Which
    // ones do is a race (abort stops a task only at its next `.await`), so the case
    // repeats: every error reported is one that happened, none twice, and at least once
    // both were kept.
    let mut both = 0;
    for _ in 0..500 {
        if both > 0 {
            break;
        }
        let err = task_group(&rt, move |group| async move {
            let (tx, rx) = async_channel::unbounded::<()>();
            group.spawn(async move {
                rx.recv().await.unwrap();
                Err("a")
            });
            group.spawn(async move {
                tx.try_send(()).unwrap();
                Err("b")
            });
            Ok(())
        })
        .await
        .unwrap_err();
        let mut errors = err.into_errors();
        errors.sort();
        assert!(
            errors == ["a"] || errors == ["b"] || errors == ["a", "b"],
            "{errors:?}"
        );
        both += usize::from(errors.len() == 2);
    }
    assert!(both > 0, "no second error was ever kept");
}

/// A child's panic cancels its siblings and is raised again, with its payload, only once
/// they all stopped; a body's error cancels the children; dropping the group's future
/// aborts every child.
pub async fn task_group_panics_body_errors_and_drop<R: Runtime>(rt: R) {
    use anyrt_core::structured::task_group;
    use futures_util::FutureExt;

    let live = Arc::new(AtomicUsize::new(0));
    let (rt2, live2) = (rt.clone(), live.clone());
    let caught = std::panic::AssertUnwindSafe(task_group(&rt, move |group| async move {
        for _ in 0..3 {
            let (rt, live) = (rt2.clone(), live2.clone());
            group.spawn(async move {
                let _live = Live::new(&live);
                rt.sleep(ms(60_000)).await;
                Ok::<(), ()>(())
            });
        }
        let rt = rt2.clone();
        group.spawn(async move {
            rt.sleep(ms(10)).await;
            panic!("child boom");
        });
        Ok(())
    }))
    .catch_unwind();
    let payload = rt.timeout(PROMPT, caught).await.unwrap().unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"child boom"));
    assert_eq!(
        live.load(Ordering::SeqCst),
        0,
        "the panic surfaced before the siblings stopped"
    );

    let (rt2, live2) = (rt.clone(), live.clone());
    let err = rt
        .timeout(
            PROMPT,
            task_group(&rt, move |group| async move {
                let (rt, live) = (rt2.clone(), live2.clone());
                group.spawn(async move {
                    let _live = Live::new(&live);
                    rt.sleep(ms(60_000)).await;
                    Ok(())
                });
                rt2.sleep(ms(10)).await;
                Err::<(), _>("body failed")
            }),
        )
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(*err.first(), "body failed");
    assert_eq!(live.load(Ordering::SeqCst), 0);

    // Dropped once every child is running: every child is aborted (dropped soon after).
    let (rt2, live2) = (rt.clone(), live.clone());
    let (started_tx, started_rx) = async_channel::unbounded::<()>();
    let group = Box::pin(task_group(&rt, move |group| async move {
        for _ in 0..4 {
            let (rt, live, started) = (rt2.clone(), live2.clone(), started_tx.clone());
            group.spawn(async move {
                let _live = Live::new(&live);
                started.try_send(()).unwrap();
                rt.sleep(ms(60_000)).await;
                Ok::<(), ()>(())
            });
        }
        Ok(())
    }));
    let all_started = Box::pin(async {
        for _ in 0..4 {
            started_rx.recv().await.unwrap();
        }
    });
    let raced = rt
        .timeout(PROMPT, futures_util::future::select(group, all_started))
        .await
        .expect("the children never started");
    match raced {
        futures_util::future::Either::Left(_) => {
            panic!("the group finished although its children sleep")
        }
        // The group's future is dropped here, its children running.
        futures_util::future::Either::Right(((), group)) => drop(group),
    }
    let t0 = Instant::now();
    while live.load(Ordering::SeqCst) > 0 && t0.elapsed() < PROMPT {
        rt.sleep(ms(1)).await;
    }
    assert_eq!(
        live.load(Ordering::SeqCst),
        0,
        "dropping the group left children"
    );
}

/// `start` hands back the value a child reports once it is ready, while the child goes on
/// in the group; a child that fails before it is ready makes `start` fail and the group
/// report the child's error.
pub async fn task_group_start<R: Runtime>(rt: R) {
    use anyrt_core::io::{AsyncReadExt, AsyncWriteExt};
    use anyrt_core::net::TcpListener;
    use anyrt_core::structured::task_group;

    let rt2 = rt.clone();
    let got = task_group(&rt, move |group| async move {
        let r = rt2.clone();
        let addr = group
            .start(|ready| async move {
                let listener = r.tcp_listen("127.0.0.1:0").await?;
                ready.started(listener.local_addr()?);
                let (mut s, _) = listener.accept().await?;
                s.write_all(b"served").await
            })
            .await?;
        let mut c = rt2.tcp_connect(addr).await?;
        let mut buf = Vec::new();
        c.read_to_end(&mut buf).await?;
        Ok::<_, std::io::Error>(buf)
    });
    let got = rt.timeout(PROMPT, got).await.unwrap().unwrap();
    assert_eq!(got, b"served");

    let start_failed = Arc::new(AtomicBool::new(false));
    let sf = start_failed.clone();
    let err = task_group(&rt, move |group| async move {
        let r = group
            .start(|_ready: anyrt_core::structured::Ready<u16>| async {
                Err(std::io::Error::new(std::io::ErrorKind::AddrInUse, "taken"))
            })
            .await;
        sf.store(r.is_err(), Ordering::SeqCst);
        // The body may see `start` fail, or be dropped by the cancellation first.
        Ok(())
    });
    let err = rt.timeout(PROMPT, err).await.unwrap().unwrap_err();
    assert_eq!(err.first().kind(), std::io::ErrorKind::AddrInUse);
    let _ = start_failed.load(Ordering::SeqCst);
}

/// Deadlines and scopes: `move_on_after` gives `None` and `fail_after` `TimedOut` when
/// time is up; an inner scope with a later deadline cannot outlive the outer one; a
/// cancelled scope stops its future; a shielded future finishes although its caller was
/// cancelled; a group inside a scope has its children aborted with the scope.
pub async fn cancel_scopes_deadlines_and_shield<R: Runtime>(rt: R) {
    use anyrt_core::structured::{CancelScope, fail_after, move_on_after, shield, task_group};

    assert_eq!(move_on_after(&rt, PROMPT, async { 7 }).await, Some(7));
    let t0 = Instant::now();
    assert_eq!(move_on_after(&rt, ms(20), rt.sleep(ms(60_000))).await, None);
    assert!(t0.elapsed() >= ms(19) && t0.elapsed() < PROMPT);
    let err = fail_after(&rt, ms(10), rt.sleep(ms(60_000)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);

    // Nested: the outer 30 ms deadline wins over the inner 60 s one.
    let t0 = Instant::now();
    let nested = move_on_after(
        &rt,
        ms(30),
        move_on_after(&rt, ms(60_000), rt.sleep(ms(60_000))),
    )
    .await;
    assert_eq!(nested, None);
    assert!(t0.elapsed() < PROMPT);

    let scope = CancelScope::new();
    let (s2, rt2) = (scope.clone(), rt.clone());
    drop(rt.spawn(async move {
        rt2.sleep(ms(10)).await;
        s2.cancel();
    }));
    let live = Arc::new(AtomicUsize::new(0));
    let (rt2, live2) = (rt.clone(), live.clone());
    let out = rt
        .timeout(
            PROMPT,
            scope.run(
                &rt,
                task_group(&rt, move |group| async move {
                    for _ in 0..3 {
                        let (rt, live) = (rt2.clone(), live2.clone());
                        group.spawn(async move {
                            let _live = Live::new(&live);
                            rt.sleep(ms(60_000)).await;
                            Ok::<(), ()>(())
                        });
                    }
                    Ok(())
                }),
            ),
        )
        .await
        .expect("cancelling the scope did not stop it");
    assert!(out.is_none());
    assert!(scope.is_cancelled());
    let t0 = Instant::now();
    while live.load(Ordering::SeqCst) > 0 && t0.elapsed() < PROMPT {
        rt.sleep(ms(1)).await;
    }
    assert_eq!(
        live.load(Ordering::SeqCst),
        0,
        "the scope's group left children"
    );

    let saved = Arc::new(AtomicBool::new(false));
    let (s2, rt2) = (saved.clone(), rt.clone());
    let cleanup = shield(&rt, async move {
        rt2.sleep(ms(300)).await;
        s2.store(true, Ordering::SeqCst);
    });
    assert!(move_on_after(&rt, ms(5), cleanup).await.is_none());
    assert!(!saved.load(Ordering::SeqCst));
    let t0 = Instant::now();
    while !saved.load(Ordering::SeqCst) && t0.elapsed() < PROMPT {
        rt.sleep(ms(2)).await;
    }
    assert!(
        saved.load(Ordering::SeqCst),
        "the shielded future was cancelled"
    );
}

/// Graceful shutdown: tasks that finish within the grace period are joined, the rest are
/// aborted and gone (their futures dropped) when `drain` returns.
pub async fn join_set_drains_then_aborts<R: Runtime>(rt: R) {
    let live = Arc::new(AtomicUsize::new(0));
    let mut set = JoinSet::new(&rt);
    for d in [1u64, 5, 10, 60_000, 60_000] {
        let (rt, live) = (rt.clone(), live.clone());
        set.spawn(async move {
            let _live = Live::new(&live);
            rt.sleep(ms(d)).await;
        });
    }
    let t0 = Instant::now();
    let drained = rt.timeout(PROMPT, set.drain(ms(200))).await.unwrap();
    assert!(
        t0.elapsed() >= ms(190),
        "drain gave up before the grace period"
    );
    assert_eq!((drained.finished, drained.aborted), (3, 2));
    assert!(set.is_empty());
    assert_eq!(live.load(Ordering::SeqCst), 0);
}
