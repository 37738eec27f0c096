//! The stall monitor: a thread that notices when every may worker is stuck in one call
//! that does not yield, and says so on stderr.
//!
//! A green task that calls something that blocks its OS thread (a `std::sync::Mutex`,
//! `Condvar`, `Barrier` or `mpsc` wait, `std::thread::sleep`, blocking std I/O) parks the
//! worker, not the coroutine: with every worker parked so, no green task runs, and a
//! program deadlocks without a word. The monitor wakes a probe coroutine every half second;
//! when the probe has not run for [`STALL`], every worker is stuck, and it writes one line
//! that starts with `anyrt-green:`, again at most every [`REPEAT`] while the stall lasts.

use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use may::sync::Blocker;

use crate::poll_loop::lock;

/// How long the probe may wait before the workers count as stuck.
const STALL: Duration = Duration::from_secs(1);
/// The least time between two reports of one stall.
const REPEAT: Duration = Duration::from_secs(5);
/// How often a healthy scheduler is probed.
const PERIOD: Duration = Duration::from_millis(500);

/// The probe coroutine's stack: it only counts and parks.
const PROBE_STACK: usize = 32 * 1024;

/// The OS thread ids of may's workers, as they first run a green coroutine.
static WORKERS: Mutex<Vec<i64>> = Mutex::new(Vec::new());

/// Records the calling thread (a may worker) for the monitor's report.
pub(crate) fn register_worker() {
    // `/proc/thread-self` names `<pid>/task/<tid>` (Linux only: elsewhere the states
    // cannot be read anyway).
    let tid = std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|p| p.file_name()?.to_str()?.parse::<i64>().ok());
    if let Some(tid) = tid {
        lock(&WORKERS).push(tid);
    }
}

/// What the probe coroutine and the monitor thread share.
struct Probe {
    /// How many times the probe ran; the monitor waits for it to grow.
    runs: Mutex<u64>,
    ran: Condvar,
    /// The probe's blocker, once it runs.
    blocker: OnceLock<Arc<Blocker>>,
}

/// Starts the monitor thread and its probe coroutine (once per process).
pub(crate) fn start() {
    static PROBE: OnceLock<&'static Probe> = OnceLock::new();
    PROBE.get_or_init(|| {
        // Alive until the process exits, like the scheduler it watches.
        let probe: &'static Probe = Box::leak(Box::new(Probe {
            runs: Mutex::new(0),
            ran: Condvar::new(),
            blocker: OnceLock::new(),
        }));
        let spawned = crate::spawn::spawn_started(PROBE_STACK, move || probe.run());
        let watched = spawned.and_then(|_detached| {
            std::thread::Builder::new()
                .name("anyrt-green-monitor".into())
                .spawn(move || probe.watch())
                .map(drop)
        });
        if let Err(e) = watched {
            // The runtime works without it; only the diagnostic is missing.
            eprintln!("anyrt-green: the stall monitor could not start: {e}");
        }
        probe
    });
}

impl Probe {
    /// The probe coroutine: counts a run every time it is unparked.
    fn run(&self) {
        let blocker = Arc::new(Blocker::new(false));
        let _ = self.blocker.set(blocker.clone());
        loop {
            *lock(&self.runs) += 1;
            self.ran.notify_all();
            // A stale unpark only makes it count once more.
            let _ = blocker.park(None);
        }
    }

    /// The monitor thread.
    fn watch(&self) {
        let mut reported: Option<Instant> = None;
        loop {
            std::thread::sleep(PERIOD);
            let before = *lock(&self.runs);
            let asked = Instant::now();
            // Until the probe first runs it has no blocker: its first run is what counts.
            if let Some(blocker) = self.blocker.get() {
                blocker.unpark();
            }
            let mut runs = lock(&self.runs);
            loop {
                if *runs != before {
                    break;
                }
                let waited = asked.elapsed();
                if waited >= STALL && reported.is_none_or(|r| r.elapsed() >= REPEAT) {
                    drop(runs);
                    eprintln!("{}", report(waited));
                    reported = Some(Instant::now());
                    runs = lock(&self.runs);
                    continue;
                }
                let step = if waited < STALL {
                    STALL - waited
                } else {
                    PERIOD
                };
                runs = self
                    .ran
                    .wait_timeout(runs, step)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            drop(runs);
            if reported.is_some_and(|r| r.elapsed() >= REPEAT) {
                reported = None;
            }
        }
    }
}

/// The line the monitor writes when the probe has waited `waited`.
fn report(waited: Duration) -> String {
    let workers = lock(&WORKERS).clone();
    let running = workers
        .iter()
        .filter(|t| thread_state(**t) == Some('R'))
        .count();
    let n = crate::runtime::workers();
    let secs = waited.as_secs_f64();
    if running == 0 {
        format!(
            "anyrt-green: all {n} workers blocked for {secs:.1} s: green tasks called something \
             that blocks the worker thread (std::sync::Mutex/Condvar/Barrier/mpsc, \
             std::thread::sleep, blocking std I/O), so no green task can run. Use anyrt's \
             implicit API, async-lock/async-channel (their blocking calls through \
             anyrt::implicit::block_on), or spawn_blocking instead"
        )
    } else {
        format!(
            "anyrt-green: all {n} workers busy for {secs:.1} s without a yield ({running} \
             computing): no other green task can run meanwhile. Move long computations to \
             spawn_blocking, or yield in the loop (yield_now)"
        )
    }
}

/// The scheduling state of thread `tid` of this process ('R' running, 'S' sleeping, …).
fn thread_state(tid: i64) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    // The state follows the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.trim_start().chars().next()
}
