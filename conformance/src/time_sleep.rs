//! Sleep, sleep_until, timeouts, intervals, and select over timers.

use std::time::{Duration, Instant};

use anyrt_core::{Elapsed, Runtime, RuntimeExt};
use futures_util::future::{Either, select};

use crate::{PROMPT, ms};

/// Conformance case: sleep never fires early.
pub async fn sleep_never_fires_early<R: Runtime>(rt: R) {
    for d in [1u64, 2, 15, 50] {
        let t0 = Instant::now();
        rt.sleep(ms(d)).await;
        let took = t0.elapsed();
        assert!(took >= ms(d), "sleep({d} ms) took {took:?}");
        assert!(took < ms(d) + PROMPT);
    }
    // Sub-millisecond sleeps complete (a naive timer would round them to zero or hang).
    let t0 = Instant::now();
    rt.sleep(Duration::from_micros(300)).await;
    assert!(t0.elapsed() >= Duration::from_micros(300));
    rt.sleep(Duration::ZERO).await;
}

/// Conformance case: sleep until a deadline.
pub async fn sleep_until_a_deadline<R: Runtime>(rt: R) {
    let deadline = rt.now() + ms(40);
    rt.sleep_until(deadline).await;
    assert!(Instant::now() >= deadline);
    // A deadline in the past completes at once.
    let t0 = Instant::now();
    rt.sleep_until(t0 - ms(10)).await;
    assert!(t0.elapsed() < PROMPT);
}

/// Conformance case: many concurrent sleeps.
pub async fn many_concurrent_sleeps<R: Runtime>(rt: R) {
    let t0 = Instant::now();
    let handles: Vec<_> = (0..1000u64)
        .map(|i| {
            let rt2 = rt.clone();
            rt.spawn(async move {
                let start = Instant::now();
                rt2.sleep(ms(20 + i % 30)).await;
                start.elapsed() >= ms(20 + i % 30)
            })
        })
        .collect();
    for h in handles {
        assert!(h.await.unwrap(), "a sleep fired early");
    }
    assert!(t0.elapsed() < ms(50) + PROMPT);
}

/// Conformance case: timeout fires.
pub async fn timeout_fires<R: Runtime>(rt: R) {
    let t0 = Instant::now();
    let r = rt.timeout(ms(50), rt.sleep(ms(60_000))).await;
    assert!(t0.elapsed() >= ms(50));
    assert!(t0.elapsed() < PROMPT);
    let elapsed: Elapsed = r.unwrap_err();
    assert_eq!(elapsed.to_string(), "deadline has elapsed");
    let io: std::io::Error = elapsed.into();
    assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
}

/// Conformance case: timeout passes the value through.
pub async fn timeout_passes_the_value_through<R: Runtime>(rt: R) {
    let rt2 = rt.clone();
    let v = rt
        .timeout(ms(5_000), async move {
            rt2.sleep(ms(10)).await;
            "in time"
        })
        .await;
    assert_eq!(v, Ok("in time"));
    let at = rt.now() + ms(5_000);
    assert_eq!(rt.timeout_at(at, async { 3 }).await, Ok(3));
}

/// Conformance case: interval ticks on schedule.
pub async fn interval_ticks_on_schedule<R: Runtime>(rt: R) {
    let mut iv = rt.interval(ms(25));
    let t0 = Instant::now();
    let first = iv.tick().await;
    assert!(
        t0.elapsed() < ms(20) + PROMPT,
        "the first tick completes at once"
    );
    for k in 1..=4u32 {
        let at = iv.tick().await;
        assert_eq!(at, first + ms(25) * k);
        assert!(Instant::now() >= at);
    }
    assert!(t0.elapsed() >= ms(100));
    assert_eq!(iv.period(), ms(25));
}

/// Conformance case: select of a long sleep and a channel.
pub async fn select_of_a_long_sleep_and_a_channel<R: Runtime>(rt: R) {
    // No future may block inside poll: the channel fed after 20 ms must win promptly.
    let (tx, rx) = async_channel::bounded::<u32>(1);
    let rt2 = rt.clone();
    drop(rt.spawn(async move {
        rt2.sleep(ms(20)).await;
        tx.send(9).await.unwrap();
    }));
    let t0 = Instant::now();
    let sleep = std::pin::pin!(rt.sleep(ms(3_000)));
    let recv = std::pin::pin!(rx.recv());
    match select(sleep, recv).await {
        Either::Right((v, _)) => assert_eq!(v.unwrap(), 9),
        Either::Left(_) => panic!("the 3 s sleep won"),
    }
    assert!(t0.elapsed() < ms(1_000), "took {:?}", t0.elapsed());
}

/// Conformance case: many timers in one task.
pub async fn many_timers_in_one_task<R: Runtime>(rt: R) {
    use futures_util::stream::{FuturesUnordered, StreamExt};
    // One task waits on several timers at once, registered out of deadline order, while
    // others are registered and dropped. Each must fire in deadline order and none early.
    let t0 = Instant::now();
    let mut set = FuturesUnordered::new();
    for d in [80u64, 10, 50, 30, 60, 20] {
        let rt2 = rt.clone();
        set.push(async move {
            rt2.sleep(ms(d)).await;
            (d, t0.elapsed())
        });
    }
    // A long timer registered first (and kept pending throughout) must not hold back
    // the short ones.
    let mut long = std::pin::pin!(rt.sleep(ms(30_000)));
    assert!(poll_once(long.as_mut()).await.is_pending());
    // Registered with this task (polled once), then dropped unfired.
    let mut gone = std::pin::pin!(rt.sleep(ms(5)));
    assert!(poll_once(gone.as_mut()).await.is_pending());
    let mut order = Vec::new();
    while let Some((d, at)) = set.next().await {
        assert!(at >= ms(d), "sleep({d} ms) fired at {at:?}");
        order.push(d);
    }
    assert_eq!(order, [10, 20, 30, 50, 60, 80]);
    assert!(t0.elapsed() < ms(80) + PROMPT, "took {:?}", t0.elapsed());
    assert!(poll_once(long.as_mut()).await.is_pending());
}

/// Polls `f` once, from the calling task.
async fn poll_once<F: std::future::Future + Unpin>(mut f: F) -> std::task::Poll<F::Output> {
    std::future::poll_fn(|cx| std::task::Poll::Ready(std::pin::Pin::new(&mut f).poll(cx))).await
}

/// Conformance case: an interval too long for instant ticks once.
pub async fn an_interval_too_long_for_instant_ticks_once<R: Runtime>(rt: R) {
    for period in [Duration::MAX, Duration::from_secs(u64::MAX / 2)] {
        let mut iv = rt.interval(period);
        // The first tick completes at once; the next one lies beyond what `Instant` holds.
        rt.timeout(PROMPT, iv.tick()).await.unwrap();
        assert!(rt.timeout(ms(50), iv.tick()).await.is_err());
        iv.reset();
        assert!(rt.timeout(ms(20), iv.tick()).await.is_err());
        assert_eq!(iv.period(), period);
    }
}

/// Conformance case: the runtime's `Sleep`, a `Timeout` and an interval's `Tick` are
/// `FusedFuture`s, so they are branches of `futures::select!` as they are: a sleep that
/// fired is terminated and skipped by the next `select!`; a loop over ticks and a channel
/// sees every tick until the channel speaks.
pub async fn timers_are_branches_of_futures_select<R: Runtime>(rt: R) {
    use anyrt_core::time::FusedFuture;
    use futures_util::{FutureExt, select};

    let (tx, rx) = async_channel::bounded::<u32>(1);
    let mut sleep = std::pin::pin!(rt.sleep(ms(10)));
    let mut recv = std::pin::pin!(rx.recv().fuse());
    assert!(!sleep.is_terminated());
    let first = select! {
        () = sleep => "sleep",
        _ = recv => "recv",
    };
    assert_eq!(first, "sleep");
    assert!(sleep.is_terminated());
    tx.send(5).await.unwrap();
    // The fired sleep is skipped: the channel wins although the sleep came first.
    let second = select! {
        () = sleep => 0,
        v = recv => v.unwrap(),
    };
    assert_eq!(second, 5);

    let mut timeout = std::pin::pin!(rt.timeout(ms(10), std::future::pending::<()>()));
    let mut never = std::pin::pin!(std::future::pending::<()>().fuse());
    select! {
        r = timeout => assert!(r.is_err(), "the pending future completed"),
        () = never => unreachable!(),
    }
    assert!(timeout.is_terminated());

    let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
    let rt2 = rt.clone();
    drop(rt.spawn(async move {
        rt2.sleep(ms(100)).await;
        stop_tx.send(()).await.unwrap();
    }));
    let mut interval = rt.interval(ms(10));
    let mut stop = std::pin::pin!(stop_rx.recv().fuse());
    let mut ticks = 0u32;
    let t0 = Instant::now();
    loop {
        select! {
            _ = interval.tick() => ticks += 1,
            _ = stop => break,
        }
        assert!(t0.elapsed() < PROMPT, "the stop signal never came");
    }
    // About 10 ticks in 100 ms (the first at once); generous for a loaded machine.
    assert!(ticks >= 3, "only {ticks} ticks");
}

/// `reset_sleep` moves a sleep's deadline later and earlier, and re-arms a sleep that
/// completed; the sleep never completes before its current deadline.
pub async fn reset_sleep_moves_the_deadline<R: Runtime>(rt: R) {
    let t0 = Instant::now();
    let mut sleep = std::pin::pin!(rt.sleep(ms(10)));
    // Later: not done at the first deadline.
    rt.reset_sleep(sleep.as_mut(), t0 + ms(80));
    let early = rt.timeout(ms(40), sleep.as_mut()).await;
    assert!(early.is_err(), "the sleep kept its old deadline");
    rt.timeout(PROMPT, sleep.as_mut()).await.unwrap();
    assert!(t0.elapsed() >= ms(80));
    // A completed sleep waits again once reset.
    assert!(anyrt_core::time::FusedFuture::is_terminated(&*sleep));
    let t1 = Instant::now();
    rt.reset_sleep(sleep.as_mut(), t1 + ms(30));
    assert!(!anyrt_core::time::FusedFuture::is_terminated(&*sleep));
    rt.timeout(PROMPT, sleep.as_mut()).await.unwrap();
    assert!(t1.elapsed() >= ms(30));
    // Earlier: an hour away, moved to 20 ms.
    let mut long = std::pin::pin!(rt.sleep(Duration::from_secs(3600)));
    let t2 = Instant::now();
    rt.reset_sleep(long.as_mut(), t2 + ms(20));
    rt.timeout(PROMPT, long.as_mut())
        .await
        .expect("a sleep moved earlier kept its old deadline");
    assert!(t2.elapsed() >= ms(20));
}
