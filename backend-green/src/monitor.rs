//! The stall monitor: a thread that notices when may workers are stuck in one call that
//! does not yield, and says so on stderr.
//!
//! A green task that calls something that blocks its OS thread (a `std::sync::Mutex`,
//! `Condvar`, `Barrier` or `mpsc` wait, `std::thread::sleep`, blocking std I/O) parks the
//! worker, not the coroutine: with every worker parked so, no green task runs, and a
//! program deadlocks without a word. The monitor wakes a probe coroutine every half second;
//! when the probe has not run for [`STALL`], every worker is stuck, and it writes one line
//! that starts with `anyrt-green:`, again at most every [`REPEAT`] while the stall lasts.
//!
//! One worker blocked is a stall too, if a quieter one: may queues what is woken or spawned
//! from outside the workers on one worker's own queue, which the others do not take from,
//! so those tasks wait for the blocked worker (and the probe may be one of them). So the
//! monitor also looks at each worker's system call every [`PERIOD`]: a worker that has
//! been in the same call, other than its idle `epoll_wait`, for [`STALL`] is reported.

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
        let mut calls = Calls::default();
        let say = |line: String, reported: &mut Option<Instant>| {
            if reported.is_none_or(|r| r.elapsed() >= REPEAT) {
                eprintln!("{line}");
                *reported = Some(Instant::now());
            }
        };
        loop {
            std::thread::sleep(PERIOD);
            if let Verdict::Some(line) = calls.sample() {
                say(line, &mut reported);
            }
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
                if waited >= STALL {
                    drop(runs);
                    match calls.sample() {
                        Verdict::Some(line) => say(line, &mut reported),
                        // Some workers (not all) have just gone into a blocking call: the
                        // next samples tell whether they stay there (the probe may wait
                        // behind them alone).
                        Verdict::Moving { blocked_now }
                            if blocked_now > 0 && blocked_now < crate::runtime::workers() => {}
                        Verdict::All | Verdict::Unknown | Verdict::Moving { .. } => {
                            say(report(waited), &mut reported);
                        }
                    }
                    runs = lock(&self.runs);
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

/// What the monitor last saw each worker doing (see [`Calls::sample`]).
#[derive(Default)]
struct Calls {
    /// Per worker thread: its system call (see [`syscall`]) and since when it has been seen
    /// in that same call.
    seen: Vec<(i64, String, Instant)>,
}

/// What [`Calls::sample`] found.
enum Verdict {
    /// The workers' calls cannot be read (no `/proc`): the probe alone decides.
    Unknown,
    /// No worker has stayed in one blocking call for [`STALL`]; `blocked_now` are in one.
    Moving { blocked_now: usize },
    /// Some workers, not all, have: the line that says so.
    Some(String),
    /// Every worker has.
    All,
}

impl Calls {
    /// Samples every worker's system call: which have stayed in the same blocking one (not
    /// their idle `epoll_wait`) for [`STALL`].
    fn sample(&mut self) -> Verdict {
        let workers = lock(&WORKERS).clone();
        let now = Instant::now();
        let mut stuck = Vec::new();
        let mut blocked_now = 0;
        let mut seen = Vec::with_capacity(workers.len());
        for tid in workers {
            let Some(call) = syscall(tid) else {
                return Verdict::Unknown;
            };
            let since = match self.seen.iter().find(|(t, c, _)| *t == tid && *c == call) {
                Some((_, _, since)) => *since,
                None => now,
            };
            if blocking(&call) {
                blocked_now += 1;
                if now.duration_since(since) >= STALL {
                    stuck.push((call_name(&call), now.duration_since(since)));
                }
            }
            seen.push((tid, call, since));
        }
        self.seen = seen;
        let n = crate::runtime::workers();
        match stuck.len() {
            0 => Verdict::Moving { blocked_now },
            k if k >= n => Verdict::All,
            k => {
                let longest = stuck.iter().map(|(_, d)| *d).max().unwrap_or(STALL);
                let names: Vec<_> = stuck.into_iter().map(|(c, _)| c).collect();
                Verdict::Some(some_blocked(k, n, longest, &names.join(", ")))
            }
        }
    }
}

/// The system call thread `tid` of this process is in: `/proc/.../syscall`'s line
/// ("running" when it is not in one), followed by how many times the thread has blocked so
/// far: two samples are equal only if the thread stayed in that one call between them (not
/// if it went in and out of a busy lock at the same place).
fn syscall(tid: i64) -> Option<String> {
    let line = std::fs::read_to_string(format!("/proc/self/task/{tid}/syscall")).ok()?;
    let status = std::fs::read_to_string(format!("/proc/self/task/{tid}/status")).ok()?;
    let switches = status
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .map_or("", str::trim);
    Some(format!("{} switches={switches}", line.trim()))
}

/// The system call number in a `/proc/.../syscall` line, if the thread is in one.
fn call_number(call: &str) -> Option<i64> {
    call.split_whitespace().next()?.parse().ok()
}

/// Whether a worker in `call` is blocked by a task, not waiting for work (may's workers
/// wait in `epoll_wait`).
fn blocking(call: &str) -> bool {
    // x86_64 and aarch64 numbers of epoll_wait, epoll_pwait, epoll_pwait2.
    const IDLE: &[i64] = if cfg!(target_arch = "x86_64") {
        &[232, 281, 441]
    } else {
        &[22, 441]
    };
    call_number(call).is_some_and(|n| n >= 0 && !IDLE.contains(&n))
}

/// A name for the system call in `call`, for the report.
fn call_name(call: &str) -> String {
    let n = call_number(call).unwrap_or(-1);
    let known: &[(i64, &str)] = if cfg!(target_arch = "x86_64") {
        &[
            (202, "futex: a lock or wait"),
            (230, "clock_nanosleep: a sleep"),
            (35, "nanosleep: a sleep"),
            (0, "read"),
            (45, "recvfrom"),
            (24, "sched_yield"),
        ]
    } else {
        &[
            (98, "futex: a lock or wait"),
            (115, "clock_nanosleep: a sleep"),
            (101, "nanosleep: a sleep"),
            (63, "read"),
            (207, "recvfrom"),
            (124, "sched_yield"),
        ]
    };
    match known.iter().find(|(k, _)| *k == n) {
        Some((_, name)) => (*name).to_owned(),
        None => format!("system call {n}"),
    }
}

/// The line for `k` of the `n` workers blocked (`calls`: in what) for `blocked`, the others
/// free: the tasks queued on the blocked ones wait.
fn some_blocked(k: usize, n: usize, blocked: Duration, calls: &str) -> String {
    let secs = blocked.as_secs_f64();
    format!(
        "anyrt-green: {k} of {n} workers blocked for {secs:.1} s ({calls}): a green task called \
         something that blocks the worker thread (std::sync::Mutex/Condvar/Barrier/mpsc, \
         std::thread::sleep, blocking std I/O), and the tasks queued on that worker wait for \
         it. Use anyrt's implicit API, async-lock/async-channel (their blocking calls through \
         anyrt::implicit::block_on), or spawn_blocking instead"
    )
}

/// The line the monitor writes when the probe has waited `waited`.
fn report(waited: Duration) -> String {
    let workers = lock(&WORKERS).clone();
    let n = crate::runtime::workers();
    // Out of any system call: computing.
    let running = workers
        .iter()
        .filter(|t| syscall(**t).is_some_and(|c| c.starts_with("running")))
        .count();
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
