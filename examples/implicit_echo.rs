//! The TCP echo server and client of `echo.rs`, in implicit (blocking) style: no `async`,
//! no `.await`. One implicit thread per connection: a coroutine on Green, an OS thread on
//! Tokio and Smol.
//!
//! ```text
//! cargo run --example implicit_echo -- --backend green           # server + clients
//! cargo run --example implicit_echo -- --backend green --serve 127.0.0.1:7000
//! ```

mod common;

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyrt::Runtime;
use anyrt::implicit::{self, TcpListener, TcpStream};
use common::{EchoOptions, run_on};

/// Serves echo on `listener`, one implicit thread per connection, until accept fails.
fn serve<R: Runtime>(rt: &R, listener: TcpListener<R>) -> io::Result<()> {
    for stream in listener.incoming() {
        let mut stream = stream?;
        stream.set_nodelay(true)?;
        drop(implicit::spawn(rt, move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = stream.read(&mut buf) {
                if stream.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }));
    }
    Ok(())
}

/// One client: `rounds` request/response round trips of `size` bytes, each checked.
fn client<R: Runtime>(
    rt: &R,
    addr: SocketAddr,
    id: usize,
    rounds: usize,
    size: usize,
) -> io::Result<u64> {
    let mut s = TcpStream::connect(rt, addr)?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut msg = vec![0u8; size];
    let mut back = vec![0u8; size];
    for r in 0..rounds {
        for (i, b) in msg.iter_mut().enumerate() {
            *b = (i ^ r ^ id) as u8;
        }
        s.write_all(&msg)?;
        s.read_exact(&mut back)?;
        if back != msg {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "echo mismatch"));
        }
    }
    Ok((rounds * size) as u64)
}

struct Echo(EchoOptions);

impl Echo {
    /// The program, written once for every runtime.
    fn run<R: Runtime>(self, rt: R) -> io::Result<()> {
        let backend = rt.name();
        let opts = &self.0;
        if let Some(addr) = &opts.serve {
            let listener = TcpListener::bind(&rt, addr)?;
            eprintln!(
                "implicit echo ({backend}) serving on {}",
                listener.local_addr()?
            );
            return serve(&rt, listener);
        }
        let listener = TcpListener::bind(&rt, "127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let server_rt = rt.clone();
        drop(implicit::spawn(&rt, move || serve(&server_rt, listener)));
        let t0 = Instant::now();
        let clients: Vec<_> = (0..opts.conns)
            .map(|id| {
                let rt2 = rt.clone();
                let (rounds, size) = (opts.rounds, opts.size);
                implicit::spawn(&rt, move || client(&rt2, addr, id, rounds, size))
            })
            .collect();
        let mut bytes = 0;
        for c in clients {
            bytes += c.join().map_err(io::Error::from)??;
        }
        opts.report(
            &format!("{backend} (implicit)"),
            t0.elapsed().as_secs_f64(),
            bytes,
        );
        Ok(())
    }
}

fn main() {
    let opts = EchoOptions::from_args();
    let backend = opts.backend.clone();
    run_on(backend.as_deref(), "echo", |rt| Echo(opts).run(rt));
}
