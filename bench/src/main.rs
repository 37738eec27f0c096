//! anyrt's comparison benchmark: the same workloads written directly against tokio, smol
//! and may ("raw") and through anyrt, run side by side and interleaved in one invocation.
//!
//! ```text
//! cargo run --release -p anyrt-bench               # full run (about 13 minutes on 2 cores)
//! cargo run --release -p anyrt-bench -- --quick    # smoke run (under a minute)
//! cargo run --release -p anyrt-bench -- --json results.json --svg ratios.svg --conns 100,1000 --reps 5
//! cargo run --release -p anyrt-bench -- --help      # cases, rows and options
//! cargo run --release -p anyrt-bench -- --cases echo --rows raw-may,green-implicit
//! ```
//!
//! Every measurement runs in a child process (the binary re-executes itself): echo servers
//! and the load generator are separate processes, so each server's CPU time per round
//! trip comes from its own threads' CPU clocks.

mod alloc;
mod echo;
mod http;
mod peer;
mod procfs;
mod report;
mod tasks;

use std::io::{self, BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use report::Report;

/// Every row, as `(name, label)`, in the order they run: each raw row right before the
/// anyrt rows measured against it (see [`baseline`]). A case runs the rows it has.
///
/// The `-dyn` rows run the same anyrt code on `anyrt::AnyRuntime` wrapping the backend (the
/// runtime chosen at run time), measured against the static anyrt row.
const ROWS: &[(&str, &str)] = &[
    ("raw-tokio", "raw tokio"),
    ("tokio", "anyrt Tokio"),
    ("tokio-dyn", "AnyRuntime(Tokio)"),
    ("agnostic-tokio", "agnostic (TokioRuntime)"),
    ("raw-smol", "raw smol"),
    ("smol", "anyrt Smol"),
    ("smol-dyn", "AnyRuntime(Smol)"),
    ("agnostic-smol", "agnostic (SmolRuntime)"),
    ("raw-may", "raw may"),
    ("green", "anyrt Green (async)"),
    ("green-dyn", "AnyRuntime(Green)"),
    ("green-implicit", "anyrt Green (implicit)"),
    ("green-std", "anyrt Green (patched std)"),
];

/// The row of plain std::net code on patched green threads (`anyrt::patch`): a server
/// only, so the echo and short-connection cases alone.
fn std_row(row: &str) -> bool {
    row == "green-std"
}

/// A peer row: the same workload on the `agnostic` crate (echo, short and spawn only).
fn peer_row(row: &str) -> bool {
    row.starts_with("agnostic-")
}

/// A row through `AnyRuntime`.
fn dyn_row(row: &str) -> bool {
    row.ends_with("-dyn")
}

/// The spawn case has no implicit-style variant.
fn async_rows(row: &str) -> bool {
    row != "green-implicit" && !std_row(row)
}

/// The timer case has no implicit-style or dynamic variant.
fn timer_rows(row: &str) -> bool {
    async_rows(row) && !dyn_row(row) && !peer_row(row)
}

/// The memory cases measure the static anyrt rows only.
fn anyrt_rows(row: &str) -> bool {
    baseline(row).is_some() && !dyn_row(row) && !std_row(row) && !peer_row(row)
}

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

struct Plan {
    /// Repetitions of each echo row.
    reps: usize,
    /// Repetitions of the spawn and timer rows (cheaper, and noisier: more of them).
    case_reps: usize,
    secs: f64,
    warmup: f64,
    conns: Vec<usize>,
    /// Connection counts of the http case.
    http_conns: Vec<usize>,
    tasks: usize,
    idle_tasks: usize,
    idle_conns: usize,
    workers: usize,
    /// Only these rows (`--rows`), if given.
    rows: Option<Vec<String>>,
    /// Only these cases (`--cases`: echo, short, http, spawn, spawn-in-task, timers,
    /// memory), if given.
    cases: Option<Vec<String>>,
}

impl Plan {
    fn row(&self, row: &str) -> bool {
        self.rows
            .as_ref()
            .is_none_or(|r| r.iter().any(|x| x == row))
    }

    fn case(&self, case: &str) -> bool {
        self.cases
            .as_ref()
            .is_none_or(|c| c.iter().any(|x| x == case))
    }

    /// The selected rows that `case_has`, in order on even repetitions and reversed on
    /// odd ones: each raw/anyrt pair still runs back to back, and neither side always goes
    /// first.
    fn rows_for_rep(
        &self,
        case_has: fn(&str) -> bool,
        rep: usize,
    ) -> Vec<&'static (&'static str, &'static str)> {
        let mut v: Vec<_> = ROWS
            .iter()
            .filter(|(r, _)| case_has(r) && self.row(r))
            .collect();
        if rep % 2 == 1 {
            v.reverse();
        }
        v
    }
}

/// The cases, as `--cases` names them.
const CASES: &[&str] = &[
    "echo",
    "short",
    "http",
    "spawn",
    "spawn-in-task",
    "timers",
    "memory",
];

const ROWS_HELP: &str = "\
Rows (--rows), each raw row followed by the anyrt rows measured against it:
  raw-tokio       raw tokio
  tokio           anyrt Tokio                 (ratio against raw-tokio)
  tokio-dyn       AnyRuntime(Tokio)           (ratio against tokio)
  agnostic-tokio  agnostic (TokioRuntime)     (ratio against raw-tokio; the peer:
                  echo, short and spawn only)
  raw-smol        raw smol
  smol            anyrt Smol                  (ratio against raw-smol)
  smol-dyn        AnyRuntime(Smol)            (ratio against smol)
  agnostic-smol   agnostic (SmolRuntime)      (ratio against raw-smol; smol's
                  global executor, as agnostic spawns onto it)
  raw-may         raw may
  green           anyrt Green (async)         (ratio against raw-may)
  green-dyn       AnyRuntime(Green)           (ratio against green)
  green-implicit  anyrt Green (implicit)      (ratio against raw-may)
  green-std       anyrt Green (patched std)   (ratio against raw-may; echo and
                  short only: std::net code on implicit threads, anyrt::patch on)

Cases (--cases):
  echo     round trips over loopback TCP: throughput, latency, server CPU and
           allocations per round trip, at each --conns
  short    short connections: 50 clients each looping over connect, one request,
           its response, close (with a reset: no TIME_WAIT left behind):
           connections/s, latency, server CPU per connection
  http     a hyper hello-world service, HTTP/1.1 keep-alive, at each --http-conns:
           requests/s, latency, server CPU and allocations per request; rows
           raw-tokio (hyper over raw tokio: hyper-util's TokioIo), raw-smol (hyper
           over async-io, as smol-hyper does it), tokio, smol, green (anyrt::hyper);
           Smol compared with raw-smol, Tokio and Green with raw-tokio
  spawn    spawn+join of empty tasks from the thread that runs block_on: tasks/s
           and CPU per task
  spawn-in-task
           the same, the spawning loop in a task of the runtime (as a server's
           accept loop spawns)
  timers   concurrent sleep(10 ms): total wall time and p99 lateness
  memory   RSS per idle task and per idle connection (anyrt rows)

Every measurement runs in a child process; raw and anyrt rows are interleaved.";

/// anyrt's comparison benchmark: the same workloads written directly against tokio, smol
/// and may ("raw") and through anyrt, interleaved in one invocation.
#[derive(clap::Parser, Debug)]
#[command(name = "anyrt-bench", after_help = ROWS_HELP)]
struct Cli {
    /// A smoke run (under a minute): one short repetition of each row.
    #[arg(long)]
    quick: bool,
    /// Writes every figure (median, min, max, ratio, samples) as JSON to PATH.
    #[arg(long, value_name = "PATH")]
    json: Option<std::path::PathBuf>,
    /// Draws the anyrt/raw ratio of every figure as an SVG chart to PATH.
    #[arg(long, value_name = "PATH")]
    svg: Option<std::path::PathBuf>,
    /// Echo connection counts [default: 50,1000; --quick: 50].
    #[arg(long, value_name = "N,N,...", value_delimiter = ',')]
    conns: Option<Vec<usize>>,
    /// HTTP case connection counts [default: 50,500; --quick: 50].
    #[arg(long, value_name = "N,N,...", value_delimiter = ',')]
    http_conns: Option<Vec<usize>>,
    /// Repetitions of every row [default: 5 per echo row, 9 per spawn and timer row].
    #[arg(long, value_name = "N")]
    reps: Option<usize>,
    /// Seconds of each echo measurement [default: 1.25; --quick: 0.4].
    #[arg(long, value_name = "S")]
    secs: Option<f64>,
    /// Worker threads per runtime [default: the machine's parallelism].
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// Only these rows (see the list below).
    #[arg(long, value_name = "ROW,...", value_delimiter = ',',
          value_parser = clap::builder::PossibleValuesParser::new(ROWS.iter().map(|r| r.0)))]
    rows: Option<Vec<String>>,
    /// Only these cases.
    #[arg(long, value_name = "CASE,...", value_delimiter = ',',
          value_parser = clap::builder::PossibleValuesParser::new(CASES))]
    cases: Option<Vec<String>>,
    /// No progress bar on stderr (one line per run instead).
    #[arg(long)]
    no_progress: bool,

    // The child processes' roles (the binary re-executes itself).
    /// Child: serves echo on ROW.
    #[arg(long, hide = true)]
    serve_row: Option<String>,
    /// Child: the echo load generator against ADDR.
    #[arg(long, hide = true)]
    load: Option<std::net::SocketAddr>,
    /// Child: the load generator makes short connections.
    #[arg(long, hide = true)]
    short: bool,
    /// Child: the server serves, and the load generator sends, HTTP/1.1 (the http case).
    #[arg(long, hide = true)]
    http: bool,
    /// Child: the load generator's warm-up seconds.
    #[arg(long, hide = true, default_value_t = 0.5)]
    warmup: f64,
    /// Child: runs one case (spawn, spawn-in-task, timers, memory-tasks, memory-conns).
    #[arg(long, hide = true)]
    case: Option<String>,
    /// Child: the row of `--case`.
    #[arg(long, hide = true)]
    row: Option<String>,
    /// Child: the count of `--case`.
    #[arg(long, hide = true, default_value_t = 100_000)]
    count: usize,
}

fn main() {
    let cli = <Cli as clap::Parser>::parse();
    if let Err(e) = run(cli) {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

fn run(cli: Cli) -> io::Result<()> {
    let workers = cli
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    // Child roles.
    if let Some(row) = &cli.serve_row {
        return echo::serve(row, workers, cli.http);
    }
    if let Some(addr) = cli.load {
        let conns = cli
            .conns
            .as_ref()
            .and_then(|c| c.first().copied())
            .unwrap_or(50);
        return echo::load(
            addr,
            conns,
            cli.secs.unwrap_or(2.0),
            cli.warmup,
            cli.short,
            cli.http,
        );
    }
    if let Some(case) = &cli.case {
        let row = cli
            .row
            .as_deref()
            .ok_or_else(|| invalid("--row needed".into()))?;
        let count = cli.count;
        return match case.as_str() {
            "spawn" => tasks::spawn(row, workers, count, false),
            "spawn-in-task" => tasks::spawn(row, workers, count, true),
            "timers" => tasks::timers(row, workers, count),
            "memory-tasks" => tasks::memory_tasks(row, workers, count),
            "memory-conns" => tasks::memory_conns(row, workers, count),
            other => Err(invalid(format!("unknown case {other}"))),
        };
    }
    // The orchestrator.
    let mut plan = if cli.quick {
        Plan {
            reps: 1,
            case_reps: 1,
            secs: 0.4,
            warmup: 0.1,
            conns: cli.conns.clone().unwrap_or_else(|| vec![50]),
            http_conns: cli.http_conns.clone().unwrap_or_else(|| vec![50]),
            tasks: 20_000,
            idle_tasks: 20_000,
            idle_conns: 200,
            workers,
            rows: None,
            cases: None,
        }
    } else {
        Plan {
            reps: 5,
            case_reps: 9,
            secs: 1.25,
            warmup: 0.25,
            conns: cli.conns.clone().unwrap_or_else(|| vec![50, 1000]),
            http_conns: cli.http_conns.clone().unwrap_or_else(|| vec![50, 500]),
            tasks: 100_000,
            idle_tasks: 100_000,
            idle_conns: 1000,
            workers,
            rows: None,
            cases: None,
        }
    };
    if let Some(r) = cli.reps {
        plan.reps = r;
        plan.case_reps = r;
    }
    if let Some(s) = cli.secs {
        plan.secs = s;
    }
    plan.rows = cli.rows.clone();
    plan.cases = cli.cases.clone();
    let t0 = std::time::Instant::now();
    let mut report = Report::default();
    let progress = Progress::new(&plan, !cli.no_progress);
    run_echo(&plan, &mut report, &progress)?;
    run_short(&plan, &mut report, &progress)?;
    run_http(&plan, &mut report, &progress)?;
    run_cases(&plan, &mut report, &progress)?;
    progress.finish();
    report.print(&mut io::stdout().lock())?;
    println!(
        "\n{} workers per runtime; {} repetitions per echo row, {} per spawn and timer row, \
         interleaved (raw, anyrt, raw, anyrt, ..., reversed on every other repetition); \
         medians, [min, max]; \
         ratio = median over repetitions of anyrt / raw (each pair ran back to back). Total {:.0} s.",
        plan.workers,
        plan.reps,
        plan.case_reps,
        t0.elapsed().as_secs_f64()
    );
    if let Some(path) = &cli.json {
        std::fs::write(path, report.json()?)?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &cli.svg {
        std::fs::write(path, report.svg())?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// Progress on stderr: a bar on a terminal, one line per run elsewhere (CI logs).
struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(plan: &Plan, wanted: bool) -> Progress {
        use std::io::IsTerminal;
        if !wanted || !io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let count =
            |has: fn(&str) -> bool| ROWS.iter().filter(|(r, _)| has(r) && plan.row(r)).count();
        let mut total = 0;
        if plan.case("echo") {
            total += plan.conns.len() * plan.reps * count(|_| true);
        }
        if plan.case("short") {
            total += plan.reps * count(|_| true);
        }
        if plan.case("http") {
            total += plan.http_conns.len() * plan.reps * count(http::has_row);
        }
        for case in ["spawn", "spawn-in-task"] {
            if plan.case(case) {
                total += plan.case_reps * count(async_rows);
            }
        }
        if plan.case("timers") {
            total += plan.case_reps * count(timer_rows);
        }
        if plan.case("memory") {
            total += count(anyrt_rows);
        }
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {pos}/{len} (eta {eta}) {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        Progress { bar: Some(bar) }
    }

    /// A run starts.
    fn run(&self, what: String) {
        match &self.bar {
            Some(bar) => {
                bar.set_message(what);
                bar.inc(1);
            }
            None => eprintln!("{what}"),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The raw row an anyrt row is compared with (every case uses the same row names).
fn baseline(row: &str) -> Option<&'static str> {
    match row {
        "tokio" | "agnostic-tokio" => Some("raw-tokio"),
        "smol" | "agnostic-smol" => Some("raw-smol"),
        "green" | "green-implicit" | "green-std" => Some("raw-may"),
        "tokio-dyn" => Some("tokio"),
        "smol-dyn" => Some("smol"),
        "green-dyn" => Some("green"),
        _ => None,
    }
}

fn exe() -> io::Result<std::path::PathBuf> {
    std::env::current_exe()
}

/// Parses `key value key value …` into pairs.
fn fields(line: &str) -> Vec<(String, f64)> {
    let w: Vec<&str> = line.split_whitespace().collect();
    w.chunks(2)
        .filter_map(|c| Some((c[0].to_string(), c.get(1)?.parse().ok()?)))
        .collect()
}

fn field(f: &[(String, f64)], key: &str) -> io::Result<f64> {
    f.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| *v)
        .ok_or_else(|| io::Error::other(format!("child output lacks `{key}`")))
}

/// Concurrent clients of the short-connection case.
const SHORT_CLIENTS: usize = 50;

fn run_short(plan: &Plan, report: &mut Report, progress: &Progress) -> io::Result<()> {
    if !plan.case("short") {
        return Ok(());
    }
    let case = format!("short connections, {SHORT_CLIENTS} clients");
    for rep in 0..plan.reps {
        for &(row, label) in plan.rows_for_rep(|_| true, rep) {
            progress.run(format!("[{case}] rep {}/{} {label}", rep + 1, plan.reps));
            let r = echo_once(plan, row, SHORT_CLIENTS, true, false)?;
            r.add_to(
                report,
                &case,
                row,
                label,
                [
                    "connections/s",
                    "p50 connection time",
                    "p99 connection time",
                    "server CPU per connection",
                    "server allocations per connection",
                ],
            );
        }
    }
    Ok(())
}

fn run_echo(plan: &Plan, report: &mut Report, progress: &Progress) -> io::Result<()> {
    if !plan.case("echo") {
        return Ok(());
    }
    for &conns in &plan.conns {
        let case = format!("echo {conns} conns");
        for rep in 0..plan.reps {
            for &(row, label) in plan.rows_for_rep(|_| true, rep) {
                progress.run(format!("[{case}] rep {}/{} {label}", rep + 1, plan.reps));
                let r = echo_once(plan, row, conns, false, false)?;
                r.add_to(
                    report,
                    &case,
                    row,
                    label,
                    [
                        "round trips/s",
                        "p50 latency",
                        "p99 latency",
                        "server CPU per round trip",
                        "server allocations per round trip",
                    ],
                );
            }
        }
    }
    Ok(())
}

/// The http case: hyper's hello world at each of `plan.http_conns`, every anyrt row
/// against hyper on its raw runtime (on raw tokio for Green: may has no hyper).
fn run_http(plan: &Plan, report: &mut Report, progress: &Progress) -> io::Result<()> {
    if !plan.case("http") {
        return Ok(());
    }
    for &conns in &plan.http_conns {
        let case = format!("http {conns} conns");
        for rep in 0..plan.reps {
            for &(row, label) in plan.rows_for_rep(http::has_row, rep) {
                progress.run(format!("[{case}] rep {}/{} {label}", rep + 1, plan.reps));
                let r = echo_once(plan, row, conns, false, true)?;
                let label = match row {
                    "raw-tokio" => "hyper on raw tokio",
                    "raw-smol" => "hyper on raw smol",
                    "tokio" => "anyrt::hyper on Tokio",
                    "smol" => "anyrt::hyper on Smol",
                    _ => "anyrt::hyper on Green",
                };
                r.add_to_with_base(
                    report,
                    &case,
                    row,
                    label,
                    http::baseline(row),
                    [
                        "requests/s",
                        "p50 latency",
                        "p99 latency",
                        "server CPU per request",
                        "server allocations per request",
                    ],
                );
            }
        }
    }
    Ok(())
}

struct EchoRun {
    trips: f64,
    secs: f64,
    p50: f64,
    p99: f64,
    cpu_ns: f64,
    allocs: f64,
}

impl EchoRun {
    /// Adds this run's five figures, named by `metrics`: trips per second, p50 and p99
    /// latency, and the server's CPU time and allocations per trip (a round trip, or a
    /// whole short connection).
    fn add_to(
        &self,
        report: &mut Report,
        case: &str,
        row: &'static str,
        label: &'static str,
        metrics: [&'static str; 5],
    ) {
        self.add_to_with_base(report, case, row, label, baseline(row), metrics);
    }

    /// As [`add_to`](EchoRun::add_to), compared with the row `base`.
    fn add_to_with_base(
        &self,
        report: &mut Report,
        case: &str,
        row: &'static str,
        label: &'static str,
        base: Option<&'static str>,
        metrics: [&'static str; 5],
    ) {
        let trips = self.trips.max(1.0);
        let figures = [
            ("1/s", self.trips / self.secs),
            ("µs", self.p50),
            ("µs", self.p99),
            ("µs", self.cpu_ns / trips / 1000.0),
            ("", self.allocs / trips),
        ];
        for (metric, (unit, value)) in metrics.into_iter().zip(figures) {
            report.add(case, row, label, base, metric, unit, value);
        }
    }
}

fn echo_once(plan: &Plan, row: &str, conns: usize, short: bool, http: bool) -> io::Result<EchoRun> {
    let mut server = Command::new(exe()?);
    if http {
        server.arg("--http");
    }
    peer::configure(&mut server, row, plan.workers);
    let mut server = server
        .args(["--serve-row", row, "--workers", &plan.workers.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut to_server = server
        .stdin
        .take()
        .ok_or_else(|| io::Error::other("no stdin"))?;
    let mut from_server = BufReader::new(
        server
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no stdout"))?,
    );
    let mut line = String::new();
    from_server.read_line(&mut line)?;
    let port = field(&fields(&line), "port")? as u16;
    let mut load = Command::new(exe()?);
    if short {
        load.arg("--short");
    }
    if http {
        load.arg("--http");
    }
    let mut load = load
        .args([
            "--load",
            &format!("127.0.0.1:{port}"),
            "--conns",
            &conns.to_string(),
            "--secs",
            &plan.secs.to_string(),
            "--warmup",
            &plan.warmup.to_string(),
        ])
        .stdout(Stdio::piped())
        .spawn()?;
    let mut from_load = BufReader::new(
        load.stdout
            .take()
            .ok_or_else(|| io::Error::other("no stdout"))?,
    );
    let mut server_report = None;
    let mut result = None;
    loop {
        line.clear();
        if from_load.read_line(&mut line)? == 0 {
            break;
        }
        match line.trim() {
            "start" => {
                writeln!(to_server, "mark")?;
                let mut ok = String::new();
                from_server.read_line(&mut ok)?;
            }
            "end" => {
                writeln!(to_server, "report")?;
                let mut rep = String::new();
                from_server.read_line(&mut rep)?;
                server_report = Some(fields(&rep));
            }
            other => result = Some(fields(other)),
        }
    }
    let status = load.wait()?;
    let _ = server.kill();
    let _ = server.wait();
    let (Some(result), Some(srv)) = (result, server_report) else {
        return Err(io::Error::other(format!(
            "echo run of {row} failed (load generator: {status})"
        )));
    };
    Ok(EchoRun {
        trips: field(&result, "trips")?,
        secs: field(&result, "secs")?,
        p50: field(&result, "p50_us")?,
        p99: field(&result, "p99_us")?,
        cpu_ns: field(&srv, "cpu_ns")?,
        allocs: field(&srv, "allocs")?,
    })
}

fn child_case(plan: &Plan, case: &str, row: &str, count: usize) -> io::Result<Vec<(String, f64)>> {
    let mut child = Command::new(exe()?);
    peer::configure(&mut child, row, plan.workers);
    let out = child
        .args([
            "--case",
            case,
            "--row",
            row,
            "--count",
            &count.to_string(),
            "--workers",
            &plan.workers.to_string(),
        ])
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "{case} on {row} failed: {}",
            out.status
        )));
    }
    Ok(fields(&String::from_utf8_lossy(&out.stdout)))
}

fn run_cases(plan: &Plan, report: &mut Report, progress: &Progress) -> io::Result<()> {
    let spawn_case = format!("spawn+join {} tasks", plan.tasks);
    let spawn_task_case = format!("spawn+join {} tasks from a task", plan.tasks);
    let timer_case = format!("{} concurrent sleep(10 ms)", plan.tasks);
    for rep in 0..plan.case_reps {
        // One case at a time over all rows, so each row follows a run of the same case.
        for (case, title) in [("spawn", &spawn_case), ("spawn-in-task", &spawn_task_case)] {
            if !plan.case(case) {
                continue;
            }
            for &(row, label) in plan.rows_for_rep(async_rows, rep) {
                progress.run(format!(
                    "[{case}] rep {}/{} {label}",
                    rep + 1,
                    plan.case_reps
                ));
                let base = baseline(row);
                let f = child_case(plan, case, row, plan.tasks)?;
                let secs = field(&f, "secs")?;
                report.add(
                    title,
                    row,
                    label,
                    base,
                    "tasks/s",
                    "1/s",
                    plan.tasks as f64 / secs,
                );
                report.add(
                    title,
                    row,
                    label,
                    base,
                    "CPU per task",
                    "µs",
                    field(&f, "cpu_ns")? / plan.tasks as f64 / 1000.0,
                );
            }
        }
        if plan.case("timers") {
            for &(row, label) in plan.rows_for_rep(timer_rows, rep) {
                progress.run(format!(
                    "[timers] rep {}/{} {label}",
                    rep + 1,
                    plan.case_reps
                ));
                let base = baseline(row);
                let f = child_case(plan, "timers", row, plan.tasks)?;
                report.add(
                    &timer_case,
                    row,
                    label,
                    base,
                    "total wall time",
                    "ms",
                    field(&f, "secs")? * 1000.0,
                );
                report.add(
                    &timer_case,
                    row,
                    label,
                    base,
                    "p99 lateness",
                    "µs",
                    field(&f, "p99_late_us")?,
                );
            }
        }
    }
    let task_case = format!("memory: {} idle tasks", plan.idle_tasks);
    let conn_case = format!("memory: {} idle connections", plan.idle_conns);
    if !plan.case("memory") {
        return Ok(());
    }
    for &(row, label) in plan.rows_for_rep(anyrt_rows, 0) {
        progress.run(format!("[memory] {label}"));
        let f = child_case(plan, "memory-tasks", row, plan.idle_tasks)?;
        report.add(
            &task_case,
            row,
            label,
            None,
            "RSS per idle task",
            "bytes",
            field(&f, "bytes_per")?,
        );
        let f = child_case(plan, "memory-conns", row, plan.idle_conns)?;
        report.add(
            &conn_case,
            row,
            label,
            None,
            "RSS per idle connection",
            "bytes",
            field(&f, "bytes_per")?,
        );
    }
    Ok(())
}
