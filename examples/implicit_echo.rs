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
use common::{Args, Program, fail, with_backend};

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

struct Echo {
    serve: Option<String>,
    conns: usize,
    rounds: usize,
    size: usize,
}

impl Program for Echo {
    type Output = io::Result<()>;

    fn run<R: Runtime>(self, rt: R) -> io::Result<()> {
        let backend = rt.name();
        if let Some(addr) = self.serve {
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
        let clients: Vec<_> = (0..self.conns)
            .map(|id| {
                let rt2 = rt.clone();
                let (rounds, size) = (self.rounds, self.size);
                implicit::spawn(&rt, move || client(&rt2, addr, id, rounds, size))
            })
            .collect();
        let mut bytes = 0;
        for c in clients {
            bytes += c.join().map_err(io::Error::from)??;
        }
        let secs = t0.elapsed().as_secs_f64();
        let trips = self.conns * self.rounds;
        println!(
            "backend {backend} (implicit): {trips} round trips over {} connections in {:.3} s, \
             {:.0} round trips/s, {bytes} bytes checked",
            self.conns,
            secs,
            trips as f64 / secs
        );
        Ok(())
    }
}

fn main() {
    let args = Args::parse(&[]).unwrap_or_else(|e| fail(&e));
    args.only(&["backend", "serve", "conns", "rounds", "size"])
        .unwrap_or_else(|e| fail(&e));
    let echo = Echo {
        serve: args.get("serve").map(str::to_owned),
        conns: args.num("conns", 50).unwrap_or_else(|e| fail(&e)),
        rounds: args.num("rounds", 1000).unwrap_or_else(|e| fail(&e)),
        size: args.num("size", 64).unwrap_or_else(|e| fail(&e)),
    };
    if echo.size == 0 {
        fail("`--size` must be at least 1");
    }
    let backend = args.get("backend").unwrap_or("tokio");
    match with_backend(backend, echo) {
        Err(e) => fail(&e),
        Ok(Err(e)) => fail(&format!("echo failed: {e}")),
        Ok(Ok(())) => {}
    }
}
