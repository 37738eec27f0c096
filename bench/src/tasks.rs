//! In-process cases: spawn + join, many timers, memory per idle task and connection.
//! Each runs in a child process of its own (fresh runtime, clean RSS).

use std::io;
use std::time::{Duration, Instant};

use anyrt::Runtime;

use crate::echo::green;
use crate::procfs;

fn smol_executor(workers: usize) -> &'static async_executor::Executor<'static> {
    let ex: &'static async_executor::Executor<'static> =
        Box::leak(Box::new(async_executor::Executor::new()));
    for _ in 0..workers {
        std::thread::spawn(move || async_io::block_on(ex.run(std::future::pending::<()>())));
    }
    ex
}

pub(crate) fn tokio_rt(workers: usize) -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
}

/// Timed rounds of the spawn case in one process; the median is reported. One round's
/// time swings by 2-3x with how often the workers fall idle and are woken again.
const SPAWN_ROUNDS: usize = 5;

/// Spawns `count` empty tasks, then joins them all, [`SPAWN_ROUNDS`] times after a
/// warm-up; prints the medians as `secs S cpu_ns C`. The spawning loop runs on the thread
/// that started the runtime (in its `block_on`), or, with `in_task`, in a task of the
/// runtime itself, as a server's accept loop spawns.
pub(crate) fn spawn(row: &str, workers: usize, count: usize, in_task: bool) -> io::Result<()> {
    let timed = |f: &mut dyn FnMut()| {
        f(); // warm-up: workers started, pools filled
        let mut walls = Vec::with_capacity(SPAWN_ROUNDS);
        let mut cpus = Vec::with_capacity(SPAWN_ROUNDS);
        for _ in 0..SPAWN_ROUNDS {
            let (t0, c0) = (Instant::now(), procfs::cpu_time());
            f();
            walls.push(t0.elapsed());
            cpus.push(procfs::cpu_time() - c0);
        }
        walls.sort_unstable();
        cpus.sort_unstable();
        (walls[SPAWN_ROUNDS / 2], cpus[SPAWN_ROUNDS / 2])
    };
    let (wall, cpu) = match row {
        "raw-tokio" => {
            let rt = tokio_rt(workers)?;
            let round = move || async move {
                let hs: Vec<_> = (0..count).map(|_| tokio::spawn(async {})).collect();
                for h in hs {
                    h.await.unwrap();
                }
            };
            timed(&mut || {
                rt.block_on(async {
                    if in_task {
                        tokio::spawn(round()).await.unwrap();
                    } else {
                        round().await;
                    }
                })
            })
        }
        "raw-smol" => {
            let ex = smol_executor(workers);
            let round = move || async move {
                let hs: Vec<_> = (0..count).map(|_| ex.spawn(async {})).collect();
                for h in hs {
                    h.await;
                }
            };
            timed(&mut || {
                async_io::block_on(async {
                    if in_task {
                        ex.spawn(round()).await;
                    } else {
                        round().await;
                    }
                })
            })
        }
        "raw-may" => {
            may::config().set_workers(workers).set_worker_pin(false);
            let round = move || {
                let hs: Vec<_> = (0..count).map(|_| may::go!(|| ())).collect();
                for h in hs {
                    h.join().unwrap();
                }
            };
            timed(&mut || {
                if in_task {
                    may::go!(round).join().unwrap();
                } else {
                    round();
                }
            })
        }
        "tokio" => anyrt_spawn(
            anyrt::Tokio::builder().workers(workers).build()?,
            count,
            in_task,
            &timed,
        ),
        "smol" => anyrt_spawn(
            anyrt::Smol::builder().workers(workers).build()?,
            count,
            in_task,
            &timed,
        ),
        "green" => anyrt_spawn(green(workers)?, count, in_task, &timed),
        "tokio-dyn" => anyrt_spawn(
            anyrt::AnyRuntime::new(anyrt::Tokio::builder().workers(workers).build()?),
            count,
            in_task,
            &timed,
        ),
        "smol-dyn" => anyrt_spawn(
            anyrt::AnyRuntime::new(anyrt::Smol::builder().workers(workers).build()?),
            count,
            in_task,
            &timed,
        ),
        "green-dyn" => anyrt_spawn(
            anyrt::AnyRuntime::new(green(workers)?),
            count,
            in_task,
            &timed,
        ),
        "agnostic-tokio" | "agnostic-smol" => {
            let mut round = crate::peer::spawn_round(row, workers, count, in_task)?;
            timed(&mut *round)
        }
        other => return Err(unknown(other)),
    };
    println!("secs {} cpu_ns {}", wall.as_secs_f64(), cpu.as_nanos());
    Ok(())
}

type Timed<'a> = &'a dyn Fn(&mut dyn FnMut()) -> (Duration, Duration);

fn anyrt_spawn<R: Runtime>(
    rt: R,
    count: usize,
    in_task: bool,
    timed: Timed<'_>,
) -> (Duration, Duration) {
    let round = |rt: R| async move {
        let hs: Vec<_> = (0..count).map(|_| rt.spawn(async {})).collect();
        for h in hs {
            h.await.unwrap();
        }
    };
    timed(&mut || {
        rt.block_on(async {
            if in_task {
                rt.spawn(round(rt.clone())).await.unwrap();
            } else {
                round(rt.clone()).await;
            }
        })
    })
}

fn unknown(row: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("unknown row {row}"))
}

const SLEEP: Duration = Duration::from_millis(10);

/// `count` concurrent 10 ms sleeps; prints `secs S p99_late_us L`.
pub(crate) fn timers(row: &str, workers: usize, count: usize) -> io::Result<()> {
    let t0 = Instant::now();
    let mut late: Vec<Duration> = match row {
        "raw-tokio" => {
            let rt = tokio_rt(workers)?;
            rt.block_on(async {
                let hs: Vec<_> = (0..count)
                    .map(|_| {
                        tokio::spawn(async {
                            let t = Instant::now();
                            tokio::time::sleep(SLEEP).await;
                            t.elapsed()
                        })
                    })
                    .collect();
                let mut v = Vec::with_capacity(count);
                for h in hs {
                    v.push(h.await.unwrap());
                }
                v
            })
        }
        "raw-smol" => {
            let ex = smol_executor(workers);
            async_io::block_on(async {
                let hs: Vec<_> = (0..count)
                    .map(|_| {
                        ex.spawn(async {
                            let t = Instant::now();
                            async_io::Timer::after(SLEEP).await;
                            t.elapsed()
                        })
                    })
                    .collect();
                let mut v = Vec::with_capacity(count);
                for h in hs {
                    v.push(h.await);
                }
                v
            })
        }
        "raw-may" => {
            may::config().set_workers(workers).set_worker_pin(false);
            let hs: Vec<_> = (0..count)
                .map(|_| {
                    may::go!(|| {
                        let t = Instant::now();
                        may::coroutine::sleep(SLEEP);
                        t.elapsed()
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        }
        "tokio" => anyrt_timers(anyrt::Tokio::builder().workers(workers).build()?, count),
        "smol" => anyrt_timers(anyrt::Smol::builder().workers(workers).build()?, count),
        "green" => anyrt_timers(green(workers)?, count),
        other => return Err(unknown(other)),
    };
    let wall = t0.elapsed();
    late.sort_unstable();
    let p99 = late[(late.len() * 99 / 100).min(late.len() - 1)].saturating_sub(SLEEP);
    println!(
        "secs {} p99_late_us {:.1}",
        wall.as_secs_f64(),
        p99.as_secs_f64() * 1e6
    );
    Ok(())
}

fn anyrt_timers<R: Runtime>(rt: R, count: usize) -> Vec<Duration> {
    rt.block_on(async {
        let hs: Vec<_> = (0..count)
            .map(|_| {
                let rt2 = rt.clone();
                rt.spawn(async move {
                    let t = Instant::now();
                    rt2.sleep(SLEEP).await;
                    t.elapsed()
                })
            })
            .collect();
        let mut v = Vec::with_capacity(count);
        for h in hs {
            v.push(h.await.unwrap());
        }
        v
    })
}

/// RSS per idle task: `count` tasks parked on a channel; prints `bytes_per B`.
pub(crate) fn memory_tasks(row: &str, workers: usize, count: usize) -> io::Result<()> {
    fn run<R: Runtime>(rt: R, count: usize, implicit: bool) -> f64 {
        let (tx, rx) = async_channel::bounded::<()>(1);
        let before = procfs::status_kib("VmRSS:");
        let mut hs = Vec::with_capacity(count);
        for _ in 0..count {
            let rx = rx.clone();
            hs.push(if implicit {
                let rt2 = rt.clone();
                rt.spawn_implicit(move || rt2.block_on(rx.recv()).is_ok())
            } else {
                rt.spawn(async move { rx.recv().await.is_ok() })
            });
        }
        // Let every task reach its wait.
        std::thread::sleep(Duration::from_millis(500));
        let after = procfs::status_kib("VmRSS:");
        drop(tx);
        for h in hs {
            rt.block_on(h).unwrap();
        }
        (after.saturating_sub(before) * 1024) as f64 / count as f64
    }
    let per = match row {
        "tokio" => run(
            anyrt::Tokio::builder().workers(workers).build()?,
            count,
            false,
        ),
        "smol" => run(
            anyrt::Smol::builder().workers(workers).build()?,
            count,
            false,
        ),
        "green" => run(green(workers)?, count, false),
        "green-implicit" => run(green(workers)?, count, true),
        other => return Err(unknown(other)),
    };
    println!("bytes_per {per:.0}");
    Ok(())
}

/// RSS per idle connection: `count` accepted connections, each served by a task waiting
/// to read; prints `bytes_per B`.
pub(crate) fn memory_conns(row: &str, workers: usize, count: usize) -> io::Result<()> {
    fn run<R: Runtime>(rt: R, count: usize, implicit: bool) -> io::Result<f64> {
        use anyrt::io::AsyncReadExt;
        use anyrt::net::TcpListener;
        let l = rt.block_on(rt.tcp_listen("127.0.0.1:0"))?;
        let addr = l.local_addr()?;
        let before = procfs::status_kib("VmRSS:");
        let mut clients = Vec::with_capacity(count);
        for _ in 0..count {
            clients.push(std::net::TcpStream::connect(addr)?);
            let (mut s, _) = rt.block_on(l.accept())?;
            if implicit {
                let rt2 = rt.clone();
                drop(rt.spawn_implicit(move || {
                    let mut buf = [0u8; 4096];
                    rt2.block_on(s.read(&mut buf))
                }));
            } else {
                drop(rt.spawn(async move {
                    let mut buf = [0u8; 4096];
                    s.read(&mut buf).await
                }));
            }
        }
        std::thread::sleep(Duration::from_millis(500));
        let after = procfs::status_kib("VmRSS:");
        drop(clients);
        Ok((after.saturating_sub(before) * 1024) as f64 / count as f64)
    }
    let per = match row {
        "tokio" => run(
            anyrt::Tokio::builder().workers(workers).build()?,
            count,
            false,
        )?,
        "smol" => run(
            anyrt::Smol::builder().workers(workers).build()?,
            count,
            false,
        )?,
        "green" => run(green(workers)?, count, false)?,
        "green-implicit" => run(green(workers)?, count, true)?,
        other => return Err(unknown(other)),
    };
    println!("bytes_per {per:.0}");
    Ok(())
}
