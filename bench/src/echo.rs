//! The TCP echo case: servers (raw and through anyrt) and the one load generator.

use std::io::{self, BufRead, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyrt::Runtime;

use crate::{alloc, procfs};

const MSG: usize = 64;

/// Runs the server of `row` in this process; talks to the orchestrator over stdio: prints
/// `port N`, then answers `mark` (start of the measured window) and `report` (its end:
/// CPU time and allocations since the mark). It serves until killed.
pub(crate) fn serve(row: &str, workers: usize, http: bool) -> io::Result<()> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    if http {
        crate::http::start(row, workers, listener)?;
        return report_loop(port);
    }
    match row {
        "raw-tokio" => raw_tokio(listener, workers)?,
        "raw-smol" => raw_smol(listener, workers)?,
        "raw-may" => raw_may(listener, workers)?,
        "tokio" => {
            let rt = anyrt::Tokio::builder().workers(workers).build()?;
            anyrt_async(rt, listener)?;
        }
        "smol" => {
            let rt = anyrt::Smol::builder().workers(workers).build()?;
            anyrt_async(rt, listener)?;
        }
        "green" => anyrt_async(green(workers)?, listener)?,
        "tokio-dyn" => {
            let rt = anyrt::Tokio::builder().workers(workers).build()?;
            anyrt_async(anyrt::AnyRuntime::new(rt), listener)?;
        }
        "smol-dyn" => {
            let rt = anyrt::Smol::builder().workers(workers).build()?;
            anyrt_async(anyrt::AnyRuntime::new(rt), listener)?;
        }
        "green-dyn" => anyrt_async(anyrt::AnyRuntime::new(green(workers)?), listener)?,
        "green-implicit" => anyrt_implicit(green(workers)?, listener)?,
        "agnostic-tokio" | "agnostic-smol" => {
            let addr = listener.local_addr()?;
            drop(listener);
            crate::peer::start_echo(row, workers, addr)?;
        }
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        "green-std" => patched_std(workers, listener)?,
        other => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("unknown row {other}"),
            ));
        }
    }
    report_loop(port)
}

/// Prints `port N`, then answers the orchestrator's `mark` and `report` until stdin ends.
fn report_loop(port: u16) -> io::Result<()> {
    println!("port {port}");
    io::stdout().flush()?;
    let mut mark = (procfs::cpu_time(), alloc::allocations());
    for line in io::stdin().lock().lines() {
        match line?.trim() {
            "mark" => {
                mark = (procfs::cpu_time(), alloc::allocations());
                println!("ok");
            }
            "report" => {
                let cpu = procfs::cpu_time().saturating_sub(mark.0);
                let allocs = alloc::allocations() - mark.1;
                // Keep serving: the load generator's last round trips are still in flight;
                // the orchestrator ends this process after the load generator is done.
                println!("cpu_ns {} allocs {allocs}", cpu.as_nanos());
            }
            _ => {}
        }
        io::stdout().flush()?;
    }
    Ok(())
}

pub(crate) fn green(workers: usize) -> io::Result<anyrt::Green> {
    // Raw may runs with the same settings (see `raw_may`).
    anyrt::Green::builder()
        .workers(workers)
        .pin_workers(false)
        .build()
}

fn raw_tokio(listener: std::net::TcpListener, workers: usize) -> io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    raw_tokio_serve(listener, workers, |mut s| async move {
        let mut buf = [0u8; 4096];
        loop {
            let n = match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if s.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    })
}

/// A raw tokio server: a multi-thread runtime of `workers`, the accept loop in `block_on`
/// on a thread of its own, one `tokio::spawn`ed `conn` per connection (Nagle off). The
/// echo and http cases' raw tokio rows.
pub(crate) fn raw_tokio_serve<F, Fut>(
    listener: std::net::TcpListener,
    workers: usize,
    conn: F,
) -> io::Result<()>
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let rt = crate::tasks::tokio_rt(workers)?;
    listener.set_nonblocking(true)?;
    std::thread::spawn(move || {
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((s, _)) = listener.accept().await {
                s.set_nodelay(true).unwrap();
                tokio::spawn(conn(s));
            }
        })
    });
    Ok(())
}

/// One futures-io connection of the async echo servers: echoes until the peer closes or
/// an error (the raw smol, anyrt and agnostic rows share it).
pub(crate) async fn echo_async(
    mut s: impl futures_lite::AsyncRead + futures_lite::AsyncWrite + Unpin,
) {
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    let mut buf = [0u8; 4096];
    loop {
        let n = match s.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if s.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
}

fn raw_smol(listener: std::net::TcpListener, workers: usize) -> io::Result<()> {
    raw_smol_serve(listener, workers, echo_async)
}

/// A raw smol server: an async-executor run by `workers` threads (each in async-io's
/// `block_on`), the accept loop a task of it, one task per connection running `conn`
/// (Nagle off). The echo and http cases' raw smol rows.
pub(crate) fn raw_smol_serve<F, Fut>(
    listener: std::net::TcpListener,
    workers: usize,
    conn: F,
) -> io::Result<()>
where
    F: Fn(async_io::Async<std::net::TcpStream>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let ex: &'static async_executor::Executor<'static> =
        Box::leak(Box::new(async_executor::Executor::new()));
    for _ in 0..workers {
        std::thread::spawn(move || async_io::block_on(ex.run(std::future::pending::<()>())));
    }
    let listener = async_io::Async::new(listener)?;
    ex.spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            s.get_ref().set_nodelay(true).unwrap();
            ex.spawn(conn(s)).detach();
        }
    })
    .detach();
    Ok(())
}

fn raw_may(listener: std::net::TcpListener, workers: usize) -> io::Result<()> {
    may::config().set_workers(workers).set_worker_pin(false);
    // What a may user writes: `go!` coroutines with may's blocking-style sockets. `go!` is
    // may's own macro around its unsafe spawn; the coroutines hold no thread-local borrows.
    let addr = listener.local_addr()?;
    drop(listener);
    let listener = may::net::TcpListener::bind(addr)?;
    may::go!(move || {
        while let Ok((mut s, _)) = listener.accept() {
            s.set_nodelay(true).unwrap();
            may::go!(move || echo_blocking(&mut s));
        }
    });
    Ok(())
}

/// One blocking-style connection of the echo servers: echoes until the peer closes or an
/// error (the raw may, implicit and patched std rows share it).
fn echo_blocking(s: &mut (impl std::io::Read + Write)) {
    let mut buf = [0u8; 4096];
    loop {
        let n = match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if s.write_all(&buf[..n]).is_err() {
            break;
        }
    }
}

/// The anyrt server: `examples/echo.rs`'s, generic over the runtime.
fn anyrt_async<R: Runtime>(rt: R, listener: std::net::TcpListener) -> io::Result<()> {
    use anyrt::net::{TcpListener, TcpStream};
    let addr = listener.local_addr()?;
    drop(listener);
    let l = rt.block_on(rt.tcp_listen(addr))?;
    let rt2 = rt.clone();
    drop(rt.spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            s.set_nodelay(true).unwrap();
            drop(rt2.spawn(echo_async(s)));
        }
    }));
    // The handle's clones in the tasks keep the runtime running.
    Ok(())
}

/// The anyrt implicit-style server: `examples/implicit_echo.rs`'s.
fn anyrt_implicit<R: Runtime>(rt: R, listener: std::net::TcpListener) -> io::Result<()> {
    use anyrt::implicit::{self, TcpListener};
    let addr = listener.local_addr()?;
    drop(listener);
    let l = TcpListener::bind(&rt, addr)?;
    let rt2 = rt.clone();
    drop(implicit::spawn(&rt, move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { break };
            s.set_nodelay(true).unwrap();
            drop(implicit::spawn(&rt2, move || echo_blocking(&mut s)));
        }
    }));
    Ok(())
}

/// The plain std::net server on implicit green threads with `anyrt::patch` on: the code an
/// unpatched program would run on OS threads, with `implicit::spawn` for `thread::spawn`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn patched_std(workers: usize, listener: std::net::TcpListener) -> io::Result<()> {
    use anyrt::implicit;
    let rt = anyrt::Green::builder()
        .workers(workers)
        .pin_workers(false)
        .patch(true)
        .build()?;
    let rt2 = rt;
    drop(implicit::spawn(&rt, move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { break };
            s.set_nodelay(true).unwrap();
            drop(implicit::spawn(&rt2, move || echo_blocking(&mut s)));
        }
    }));
    Ok(())
}

/// The load generator, the same for every row: one thread (a tokio current-thread
/// runtime), `conns` connections doing 64-byte ping-pong. Prints `start` when the measured
/// window opens (after every connection is up and `warmup` has passed), `end` when it
/// closes, then `trips N secs S p50_us X p99_us Y`.
///
/// With `short`, each of `conns` clients loops over connect → one 64-byte request → its
/// response → close, with a reset (HttpArena's "limited-conn" shape); a trip is then a
/// whole connection and its latency includes the connect. With `http`, a trip is one
/// HTTP/1.1 keep-alive request (`GET /`) and its whole response, checked.
pub(crate) fn load(
    addr: SocketAddr,
    conns: usize,
    secs: f64,
    warmup: f64,
    short: bool,
    http: bool,
) -> io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        // Kept-alive connections are made before the window opens; short ones within it.
        let mut kept = Vec::with_capacity(conns);
        for _ in 0..conns {
            kept.push(if short {
                None
            } else {
                Some(connect(addr).await?)
            });
        }
        let start = Instant::now() + Duration::from_secs_f64(warmup);
        let end = start + Duration::from_secs_f64(secs);
        let tasks: Vec<_> = kept
            .into_iter()
            .map(|mut kept| {
                tokio::spawn(async move {
                    let msg = [7u8; MSG];
                    let mut back = [0u8; MSG];
                    let mut pending = Vec::with_capacity(1024);
                    let mut lat = Vec::with_capacity(4096);
                    loop {
                        let t0 = Instant::now();
                        if t0 >= end {
                            break;
                        }
                        let mut fresh;
                        let s = match &mut kept {
                            Some(s) => s,
                            None => {
                                fresh = connect(addr).await?;
                                // Closed with a reset, so that no connection of the run
                                // leaves a TIME_WAIT entry: at 15–40 k connections/s they
                                // filled the kernel's table (131 072) within a few runs,
                                // and from then on connects slowed to about half the rate,
                                // a regime a run entered or not by chance.
                                socket2::SockRef::from(&fresh).set_linger(Some(Duration::ZERO))?;
                                &mut fresh
                            }
                        };
                        if http {
                            s.write_all(crate::http::REQUEST).await?;
                            crate::http::read_response(s, &mut pending).await?;
                        } else {
                            s.write_all(&msg).await?;
                            s.read_exact(&mut back).await?;
                        }
                        if t0 >= start {
                            lat.push(t0.elapsed().as_nanos() as u64);
                        }
                        // A short connection closes here, after its one trip.
                    }
                    Ok::<_, io::Error>(lat)
                })
            })
            .collect();
        tokio::time::sleep_until(start.into()).await;
        println!("start");
        io::stdout().flush()?;
        tokio::time::sleep_until(end.into()).await;
        println!("end");
        io::stdout().flush()?;
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.map_err(io::Error::other)??);
        }
        report_trips(all, secs)
    })
}

/// A load-generator connection, with Nagle off.
async fn connect(addr: SocketAddr) -> io::Result<tokio::net::TcpStream> {
    let s = tokio::net::TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    Ok(s)
}

/// Prints `trips N secs S p50_us X p99_us Y` from the latencies (ns) of the measured window.
fn report_trips(mut all: Vec<u64>, secs: f64) -> io::Result<()> {
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    println!(
        "trips {} secs {secs} p50_us {:.1} p99_us {:.1}",
        all.len(),
        pct(0.50),
        pct(0.99)
    );
    Ok(())
}
