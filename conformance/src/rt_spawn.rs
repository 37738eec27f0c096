//! Spawning, joining, detaching, aborting, panics and blocking work.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyrt_core::{JoinHandle, Runtime, RuntimeExt};

use crate::support::SetOnDrop;
use crate::{PROMPT, ms};

/// Conformance case: spawn and join.
pub async fn spawn_and_join<R: Runtime>(rt: R) {
    let handles: Vec<_> = (0..100u64)
        .map(|i| rt.spawn(async move { i * 2 }))
        .collect();
    let mut sum = 0;
    for h in handles {
        sum += h.await.unwrap();
    }
    assert_eq!(sum, 2 * (0..100).sum::<u64>());
}

/// Conformance case: spawned task runs without being joined.
pub async fn spawned_task_runs_without_being_joined<R: Runtime>(rt: R) {
    let (tx, rx) = async_channel::bounded(1);
    drop(rt.spawn(async move { tx.send(7u32).await.unwrap() }));
    assert_eq!(rt.timeout(PROMPT, rx.recv()).await.unwrap().unwrap(), 7);
}

/// Conformance case: dropping the handle detaches.
pub async fn dropping_the_handle_detaches<R: Runtime>(rt: R) {
    let (tx, rx) = async_channel::bounded(1);
    let rt2 = rt.clone();
    let h = rt.spawn(async move {
        rt2.sleep(ms(30)).await;
        tx.send("ran on").await.unwrap();
    });
    drop(h);
    assert_eq!(
        rt.timeout(PROMPT, rx.recv()).await.unwrap().unwrap(),
        "ran on"
    );
}

/// Conformance case: abort cancels at the next suspension point.
pub async fn abort_cancels_at_the_next_suspension_point<R: Runtime>(rt: R) {
    let dropped = Arc::new(AtomicBool::new(false));
    let guard = SetOnDrop(dropped.clone());
    let (started_tx, started_rx) = async_channel::bounded(1);
    let rt2 = rt.clone();
    let h = rt.spawn(async move {
        let _guard = guard;
        started_tx.send(()).await.unwrap();
        rt2.sleep(ms(60_000)).await;
        "finished"
    });
    started_rx.recv().await.unwrap();
    assert!(!h.is_finished());
    h.abort();
    let t0 = Instant::now();
    let err = rt
        .timeout(PROMPT, h)
        .await
        .expect("abort must end the task")
        .unwrap_err();
    assert!(err.is_cancelled(), "{err:?}");
    assert!(!err.is_panic());
    assert!(t0.elapsed() < PROMPT);
    // The future was dropped, not left behind.
    let deadline = Instant::now() + PROMPT;
    while !dropped.load(Ordering::SeqCst) && Instant::now() < deadline {
        rt.sleep(ms(5)).await;
    }
    assert!(
        dropped.load(Ordering::SeqCst),
        "the aborted future was not dropped"
    );
}

/// Conformance case: abort after completion keeps the output.
pub async fn abort_after_completion_keeps_the_output<R: Runtime>(rt: R) {
    let h = rt.spawn(async { 5 });
    let deadline = Instant::now() + PROMPT;
    while !h.is_finished() && Instant::now() < deadline {
        rt.sleep(ms(1)).await;
    }
    assert!(h.is_finished());
    h.abort();
    assert_eq!(h.await.unwrap(), 5);
}

/// Conformance case: a panic is caught and the runtime goes on.
pub async fn a_panic_is_caught_and_the_runtime_goes_on<R: Runtime>(rt: R) {
    let h = rt.spawn(async {
        if true {
            panic!("boom in a task");
        }
    });
    let err = h.await.unwrap_err();
    assert!(err.is_panic(), "{err:?}");
    assert!(!err.is_cancelled());
    assert!(err.to_string().contains("boom in a task"), "{err}");
    let payload = err.into_panic();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom in a task"));
    // The runtime still runs tasks, on every worker.
    let handles: Vec<_> = (0..8).map(|i| rt.spawn(async move { i })).collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.await.unwrap(), i);
    }
    let io: std::io::Error = rt
        .spawn(async { panic!("again") })
        .await
        .unwrap_err()
        .into();
    assert_eq!(io.kind(), std::io::ErrorKind::Other);
}

/// Conformance case: spawn blocking runs off the workers.
pub async fn spawn_blocking_runs_off_the_workers<R: Runtime>(rt: R) {
    // A blocking sleep in spawn_blocking must not stop a concurrent task's timer.
    let blocker = rt.spawn_blocking(|| {
        std::thread::sleep(ms(300));
        "slept"
    });
    let rt2 = rt.clone();
    let ticker = rt.spawn(async move {
        let t0 = Instant::now();
        rt2.sleep(ms(20)).await;
        t0.elapsed()
    });
    let waited = ticker.await.unwrap();
    assert!(
        waited < ms(290),
        "a timer waited for a blocking call: {waited:?}"
    );
    assert_eq!(blocker.await.unwrap(), "slept");
    let err = rt
        .spawn_blocking(|| panic!("blocking boom"))
        .await
        .unwrap_err();
    assert!(err.is_panic());
}

/// Conformance case: yield now lets others run.
pub async fn yield_now_lets_others_run<R: Runtime>(rt: R) {
    let flag = Arc::new(AtomicBool::new(false));
    let f2 = flag.clone();
    let h = rt.spawn(async move { f2.store(true, Ordering::SeqCst) });
    let deadline = Instant::now() + PROMPT;
    while !flag.load(Ordering::SeqCst) && Instant::now() < deadline {
        rt.yield_now().await;
    }
    assert!(flag.load(Ordering::SeqCst));
    h.await.unwrap();
}

/// The backend's name is short and lower-case (it goes into messages and test names), and
/// the runtime's clock is not ahead of the system's.
pub async fn the_name_is_the_backend<R: Runtime>(rt: R) {
    let name = rt.name();
    assert!(!name.is_empty() && name.len() <= 32, "{name:?}");
    assert!(
        name.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
        "{name:?}"
    );
    let now = rt.now();
    assert!(now <= Instant::now());
}

/// Conformance case: large futures run and are gone when joined.
pub async fn large_futures_run_and_are_gone_when_joined<R: Runtime>(rt: R) {
    // State machines of 32 KiB (held across an await), joined and aborted: they run to
    // the end, and by the time join returns their state has been dropped.
    let dropped = Arc::new(AtomicBool::new(false));
    let guard = SetOnDrop(dropped.clone());
    let rt2 = rt.clone();
    let h = rt.spawn(async move {
        let _guard = guard;
        let mut big = [0u8; 32 * 1024];
        for (i, b) in big.iter_mut().enumerate() {
            *b = (i % 251) as u8;
        }
        rt2.sleep(ms(5)).await;
        big.iter().map(|&b| u64::from(b)).sum::<u64>()
    });
    let want: u64 = (0..32 * 1024u64).map(|i| i % 251).sum();
    assert_eq!(h.await.unwrap(), want);
    assert!(
        dropped.load(Ordering::SeqCst),
        "joined, but the state is still alive"
    );

    let dropped = Arc::new(AtomicBool::new(false));
    let guard = SetOnDrop(dropped.clone());
    let rt2 = rt.clone();
    let h = rt.spawn(async move {
        let _guard = guard;
        let big = [7u8; 32 * 1024];
        rt2.sleep(ms(60_000)).await;
        big[100]
    });
    rt.sleep(ms(10)).await;
    h.abort();
    let err = rt.timeout(PROMPT, h).await.unwrap().unwrap_err();
    assert!(err.is_cancelled());
    assert!(
        dropped.load(Ordering::SeqCst),
        "aborted, but the state is still alive"
    );
}

/// Conformance case: tasks that keep yielding do not starve the others.
pub async fn tasks_that_keep_yielding_do_not_starve_the_others<R: Runtime>(rt: R) {
    // Four tasks yield in a loop until a flag is set, more than there are workers. The
    // task that sets it is spawned only once they all spin, and first waits on a timer.
    let flag = Arc::new(AtomicBool::new(false));
    let spinning = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let yielders: Vec<_> = (0..4)
        .map(|_| {
            let (rt2, flag, spinning) = (rt.clone(), flag.clone(), spinning.clone());
            rt.spawn(async move {
                spinning.fetch_add(1, Ordering::SeqCst);
                let mut yields = 0u64;
                while !flag.load(Ordering::SeqCst) {
                    rt2.yield_now().await;
                    yields += 1;
                }
                yields
            })
        })
        .collect();
    let deadline = Instant::now() + PROMPT;
    while spinning.load(Ordering::SeqCst) < 4 && Instant::now() < deadline {
        rt.sleep(ms(1)).await;
    }
    assert_eq!(
        spinning.load(Ordering::SeqCst),
        4,
        "the yielders did not all start"
    );
    let (rt2, f2) = (rt.clone(), flag.clone());
    let setter = rt.spawn(async move {
        rt2.sleep(ms(10)).await;
        f2.store(true, Ordering::SeqCst);
    });
    let set = rt.timeout(PROMPT, setter).await;
    // Stop the yielders whatever happened, so a failure does not leave them spinning.
    flag.store(true, Ordering::SeqCst);
    set.expect("the yielding tasks starved the task that sets the flag")
        .unwrap();
    for h in yielders {
        assert!(rt.timeout(PROMPT, h).await.unwrap().unwrap() > 0);
    }
}

/// Conformance case: abort reaches a task blocked in blocking style code.
pub async fn abort_reaches_a_task_blocked_in_blocking_style_code<R: Runtime>(rt: R) {
    use anyrt_core::implicit;
    use std::io::Read;

    let (client, server) = crate::support::tcp_pair(&rt).await;
    let mut server = Some(server);
    for kind in ["sleep", "read"] {
        let dropped = Arc::new(AtomicBool::new(false));
        let guard = SetOnDrop(dropped.clone());
        let (started_tx, started_rx) = async_channel::bounded(1);
        let rt2 = rt.clone();
        let stream = if kind == "read" { server.take() } else { None };
        let h = rt.spawn_implicit(move || {
            let _guard = guard;
            started_tx.send_blocking(()).unwrap();
            match stream {
                // Nothing is ever written to it: the read waits until the peer closes.
                Some(s) => {
                    let mut s = implicit::TcpStream::from_async(&rt2, s);
                    let _ = s.read(&mut [0u8; 16]);
                }
                None => implicit::sleep(&rt2, ms(3_000)),
            }
        });
        started_rx.recv().await.unwrap();
        rt.sleep(ms(20)).await;
        let t0 = Instant::now();
        h.abort();
        let err = rt
            .timeout(PROMPT, h)
            .await
            .unwrap_or_else(|_| panic!("{kind}: abort did not complete the handle"))
            .unwrap_err();
        assert!(err.is_cancelled(), "{kind}: {err:?}");
        assert!(t0.elapsed() < ms(2_000), "{kind}: took {:?}", t0.elapsed());
        if rt.name() == "green" {
            // On green threads the blocking call itself stops: the thread unwinds.
            let deadline = Instant::now() + PROMPT;
            while !dropped.load(Ordering::SeqCst) && Instant::now() < deadline {
                rt.sleep(ms(5)).await;
            }
            assert!(
                dropped.load(Ordering::SeqCst),
                "{kind}: the aborted green thread ran on"
            );
        }
    }
    // Elsewhere the blocked read runs on until the peer closes.
    drop(client);
}

/// Conformance case: a handle polled again after completion reports cancellation.
pub async fn a_handle_polled_again_after_completion_reports_cancellation<R: Runtime>(rt: R) {
    let mut h = rt.spawn(async { 3 });
    assert_eq!((&mut h).await.unwrap(), 3);
    assert!((&mut h).await.unwrap_err().is_cancelled());
    assert!(h.is_finished());
    let mut b = rt.spawn_blocking(|| 4);
    assert_eq!((&mut b).await.unwrap(), 4);
    assert!((&mut b).await.unwrap_err().is_cancelled());
}

/// Conformance case: aborting a started blocking job reports cancellation.
pub async fn aborting_a_started_blocking_job_reports_cancellation<R: Runtime>(rt: R) {
    let (started_tx, started_rx) = async_channel::bounded(1);
    let h = rt.spawn_blocking(move || {
        started_tx.send_blocking(()).unwrap();
        std::thread::sleep(ms(200));
        "ran to its end"
    });
    started_rx.recv().await.unwrap();
    h.abort();
    let err = rt.timeout(PROMPT, h).await.unwrap().unwrap_err();
    assert!(err.is_cancelled(), "{err:?}");
}

/// Conformance case: a join error is an io error of kind other.
pub async fn a_join_error_is_an_io_error_of_kind_other<R: Runtime>(rt: R) {
    let rt2 = rt.clone();
    let h = rt.spawn(async move { rt2.sleep(ms(60_000)).await });
    h.abort();
    let err = rt.timeout(PROMPT, h).await.unwrap().unwrap_err();
    assert!(err.is_cancelled());
    // Not `Interrupted`, which std's retry loops take for "try again".
    let io: std::io::Error = err.into();
    assert_eq!(io.kind(), std::io::ErrorKind::Other);
}

/// Conformance case: abort stops a task whose handle nobody awaits.
pub async fn abort_stops_a_task_whose_handle_nobody_awaits<R: Runtime>(rt: R) {
    use std::sync::atomic::AtomicUsize;
    let fired = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..200)
        .map(|_| {
            let (rt2, fired) = (rt.clone(), fired.clone());
            rt.spawn(async move {
                rt2.sleep(ms(200)).await;
                fired.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    rt.sleep(ms(10)).await;
    for h in &handles {
        h.abort();
    }
    // Nobody polls or drops the handles: the tasks stop all the same.
    let deadline = Instant::now() + PROMPT;
    while !handles.iter().all(|h| h.is_finished()) && Instant::now() < deadline {
        rt.sleep(ms(5)).await;
    }
    assert!(
        handles.iter().all(|h| h.is_finished()),
        "aborted tasks run on"
    );
    rt.sleep(ms(300)).await;
    assert_eq!(fired.load(Ordering::SeqCst), 0, "aborted sleepers fired");
    for h in handles {
        assert!(h.await.unwrap_err().is_cancelled());
    }
}

/// Conformance case: a 128 kib future spawned from a 2 mib thread.
pub async fn a_128_kib_future_spawned_from_a_2_mib_thread<R: Runtime>(rt: R) {
    // A plain thread with std's default stack, as a test's own thread has. (The body is
    // async: its `join` blocks the test's thread, never a green worker.)
    let rt2 = rt.clone();
    let t = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let rt3 = rt2.clone();
            let h = rt2.spawn(async move {
                let big = std::hint::black_box([1u8; 128 * 1024]);
                rt3.sleep(ms(1)).await;
                big.iter().map(|&b| u64::from(b)).sum::<u64>()
            });
            rt2.block_on(h)
        })
        .unwrap();
    assert_eq!(t.join().unwrap().unwrap(), 128 * 1024);
}

/// A future that completes (at once, or never) and panics when it is dropped.
struct PanicsWhenDropped {
    message: &'static str,
    ready: Option<u32>,
}

impl std::future::Future for PanicsWhenDropped {
    type Output = u32;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<u32> {
        match self.ready {
            Some(v) => std::task::Poll::Ready(v),
            None => std::task::Poll::Pending,
        }
    }
}

impl Drop for PanicsWhenDropped {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("{}", self.message);
        }
    }
}

/// Conformance case: a panic in a futures drop is reported and the runtime serves on.
pub async fn a_panic_in_a_futures_drop_is_reported_and_the_runtime_serves_on<R: Runtime>(rt: R) {
    // Dropped by the runtime once it has completed.
    let done = rt.spawn(PanicsWhenDropped {
        message: "dropped after completion",
        ready: Some(1),
    });
    let err = rt.timeout(PROMPT, done).await.unwrap().unwrap_err();
    assert!(err.is_panic(), "{err:?}");
    assert!(
        err.to_string().contains("dropped after completion"),
        "{err}"
    );

    // Dropped because it was aborted.
    let (started_tx, started_rx) = async_channel::bounded(1);
    let aborted = rt.spawn(async move {
        started_tx.send(()).await.unwrap();
        PanicsWhenDropped {
            message: "dropped on abort",
            ready: None,
        }
        .await
    });
    started_rx.recv().await.unwrap();
    aborted.abort();
    let err = rt.timeout(PROMPT, aborted).await.unwrap().unwrap_err();
    assert!(err.is_panic(), "{err:?}");
    assert!(err.to_string().contains("dropped on abort"), "{err}");

    // The runtime serves on: tasks on every worker, timers, blocking jobs.
    let handles: Vec<_> = (0..16u32)
        .map(|i| {
            let rt2 = rt.clone();
            rt.spawn(async move {
                rt2.sleep(ms(1)).await;
                i
            })
        })
        .collect();
    let mut sum = 0;
    for h in handles {
        sum += rt.timeout(PROMPT, h).await.unwrap().unwrap();
    }
    assert_eq!(sum, (0..16).sum::<u32>());
    assert_eq!(rt.spawn_blocking(|| 9).await.unwrap(), 9);
}

/// Conformance case: an abort that lands while a task is just starting (or between two
/// polls) still stops it: 6 000 tasks that would sleep for a minute, each aborted at once,
/// all report cancellation promptly.
pub async fn an_abort_as_the_task_starts_is_not_lost<R: Runtime>(rt: R) {
    for round in 0..300 {
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let rt2 = rt.clone();
                rt.spawn(async move {
                    rt2.sleep(ms(60_000)).await;
                })
            })
            .collect();
        for t in &tasks {
            t.abort();
        }
        for t in tasks {
            let r = rt
                .timeout(PROMPT, t)
                .await
                .unwrap_or_else(|_| panic!("round {round}: an aborted task went on"));
            assert!(r.unwrap_err().is_cancelled());
        }
    }
}
