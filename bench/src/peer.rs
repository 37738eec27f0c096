//! The peer rows: the same echo server and spawn+join written against the `agnostic`
//! crate (al8n/agnostic 0.11, with agnostic-net), as its users write them — generic over
//! `agnostic::Runtime`, spawning with `R::spawn`, sockets from `R::Net` — on its
//! `TokioRuntime` (inside a tokio multi-thread runtime with the row's worker count) and
//! its `SmolRuntime` (smol's global executor, as agnostic spawns onto it, run by
//! `SMOL_THREADS` threads: [`configure`] sets it to the row's worker count, as every other
//! row has, unless the bench's own environment sets it).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use agnostic::LocalRuntimeLite;
use agnostic::net::{Net, TcpListener as _, TcpStream as _};

/// Readies the child process that runs peer `row` with `workers` workers: smol's global
/// executor, which agnostic's `SmolRuntime` spawns onto, starts `SMOL_THREADS` threads (one
/// if unset), so the row gets the same thread count as the others unless the caller's
/// environment chose one.
pub(crate) fn configure(cmd: &mut std::process::Command, row: &str, workers: usize) {
    if row == "agnostic-smol" && std::env::var_os("SMOL_THREADS").is_none() {
        cmd.env("SMOL_THREADS", workers.to_string());
    }
}

/// The echo server, generic over agnostic's runtime.
async fn echo<R: agnostic::Runtime>(addr: SocketAddr) -> io::Result<()> {
    let listener = <<R as agnostic::Runtime>::Net as Net>::TcpListener::bind(addr).await?;
    loop {
        let (s, _) = listener.accept().await?;
        s.set_nodelay(true)?;
        R::spawn_detach(crate::echo::echo_async(s));
    }
}

/// Starts `row`'s echo server on `addr` (the listener was dropped to free it).
pub(crate) fn start_echo(row: &str, workers: usize, addr: SocketAddr) -> io::Result<()> {
    match row {
        "agnostic-tokio" => {
            let rt = crate::tasks::tokio_rt(workers)?;
            std::thread::spawn(move || rt.block_on(echo::<agnostic::tokio::TokioRuntime>(addr)));
        }
        "agnostic-smol" => {
            std::thread::spawn(move || {
                agnostic::smol::SmolRuntime::block_on(echo::<agnostic::smol::SmolRuntime>(addr))
            });
        }
        other => return Err(unknown(other)),
    }
    // Listening before the orchestrator is told the port.
    std::thread::sleep(Duration::from_millis(100));
    Ok(())
}

/// Spawns `count` empty tasks with `R::spawn`, then joins them.
async fn spawn_join<R: agnostic::Runtime>(count: usize) {
    let hs: Vec<_> = (0..count).map(|_| R::spawn(async {})).collect();
    for h in hs {
        let _ = h.await;
    }
}

/// One round of the spawn case on `row`, as a closure the timing harness calls; with
/// `in_task`, the spawning loop runs in a task of the runtime.
pub(crate) fn spawn_round(
    row: &str,
    workers: usize,
    count: usize,
    in_task: bool,
) -> io::Result<Box<dyn FnMut()>> {
    async fn round<R: agnostic::Runtime>(count: usize, in_task: bool) {
        if in_task {
            let _ = R::spawn(spawn_join::<R>(count)).await;
        } else {
            spawn_join::<R>(count).await;
        }
    }
    match row {
        "agnostic-tokio" => {
            let rt = crate::tasks::tokio_rt(workers)?;
            Ok(Box::new(move || {
                rt.block_on(round::<agnostic::tokio::TokioRuntime>(count, in_task))
            }))
        }
        "agnostic-smol" => Ok(Box::new(move || {
            agnostic::smol::SmolRuntime::block_on(round::<agnostic::smol::SmolRuntime>(
                count, in_task,
            ))
        })),
        other => Err(unknown(other)),
    }
}

fn unknown(row: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("unknown peer row {row}"),
    )
}
