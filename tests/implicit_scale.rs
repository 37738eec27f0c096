//! Green's reason to exist: 100 000 implicit threads at once, cheaply.
//!
//! Each green thread's stack is its own memory mapping plus a guard page (two mappings);
//! Linux's default `vm.max_map_count` (65 530) caps a process at about 32 000 of them.
//! `.ci/run` raises it (`sysctl -w vm.max_map_count=262144`), as a server running this
//! many green threads must.

#![cfg(feature = "green")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyrt::Green;
use anyrt::implicit;

const THREADS: usize = 100_000;

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
    assert!(
        max_maps >= 2 * THREADS + 20_000,
        "vm.max_map_count is {max_maps}: {THREADS} green threads need two mappings each; \
         run `sysctl -w vm.max_map_count=262144` (as .ci/run does)"
    );
    let rt = Green::new();
    let done = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let done = done.clone();
            implicit::spawn(&rt, move || {
                implicit::sleep(&rt, Duration::from_millis(100));
                done.fetch_add(1, Ordering::Relaxed);
            })
        })
        .collect();
    let spawned = t0.elapsed();
    for t in threads {
        t.join().unwrap();
    }
    let took = t0.elapsed();
    assert_eq!(done.load(Ordering::SeqCst), THREADS);
    let peak_kib = status_kib("VmHWM:").expect("/proc/self/status has VmHWM");
    eprintln!(
        "{THREADS} implicit threads: spawned in {spawned:?}, all done in {took:?}, \
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
