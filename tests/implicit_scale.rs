//! Green's reason to exist: 100 000 implicit threads at once, cheaply.
//!
//! Each green thread's stack is its own memory mapping plus a guard page (two mappings);
//! Linux's default `vm.max_map_count` (65 530) caps a process at about 32 000 of them.
//! `.ci/run` raises it (`sysctl -w vm.max_map_count=262144`), as a server running this
//! many green threads must; where the limit is lower, the test runs as many as it allows
//! and says so.

#![cfg(feature = "green")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyrt::Green;
use anyrt::implicit;

const THREADS: usize = 100_000;

/// Mappings kept free for everything else in the process (may's pooled stacks included).
const SPARE_MAPS: usize = 20_000;

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn hundred_thousand_implicit_threads() {
    let max_maps: usize = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    let threads = THREADS.min(max_maps.saturating_sub(SPARE_MAPS) / 2);
    if threads < THREADS {
        eprintln!(
            "vm.max_map_count is {max_maps}: running {threads} green threads, not {THREADS} \
             (each needs two mappings; `sysctl -w vm.max_map_count=262144` allows all)"
        );
    }
    assert!(
        threads >= 10_000,
        "vm.max_map_count is {max_maps}: too low to test"
    );
    let rt = Green::new();
    let done = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let done = done.clone();
            implicit::spawn(&rt, move || {
                implicit::sleep(&rt, Duration::from_millis(100));
                done.fetch_add(1, Ordering::Relaxed);
            })
        })
        .collect();
    let spawned = t0.elapsed();
    for t in handles {
        t.join().unwrap();
    }
    let took = t0.elapsed();
    assert_eq!(done.load(Ordering::SeqCst), threads);
    let peak_kib = status_kib("VmHWM:").expect("/proc/self/status has VmHWM");
    eprintln!(
        "{threads} implicit threads: spawned in {spawned:?}, all done in {took:?}, \
         peak RSS {} MiB",
        peak_kib / 1024
    );
    assert!(took >= Duration::from_millis(100));
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert!(
        peak_kib < 2 * 1024 * 1024,
        "peak RSS {} MiB is over 2 GiB",
        peak_kib / 1024
    );
}
