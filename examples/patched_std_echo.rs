//! A plain `std::net` echo server and its clients, code that knows nothing of anyrt, on
//! green threads made cooperative by `anyrt::patch` (gevent's monkey-patching, for Rust).
//! The only anyrt lines build the runtime with the patch on and start the threads with
//! `implicit::spawn` instead of `std::thread::spawn`; every blocking call (accept, connect,
//! read, write) suspends one green thread, not a worker. Every byte is checked.
//!
//! ```text
//! cargo run --release --features patch --example patched_std_echo -- 10000
//! ```
//!
//! The argument is the number of connections, all open at once (default 1 000). Client and
//! server run in this one process, so it needs two descriptors and two green threads per
//! connection: 10 000 needs a descriptor limit over 20 000 (`ulimit -n`; the example raises
//! the soft limit to the hard one) and about 40 000 memory mappings (Linux's default
//! `vm.max_map_count` is 65 530).

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Instant;

use anyrt::implicit;

const ROUNDS: usize = 10;
const SIZE: usize = 256;

fn main() -> io::Result<()> {
    let conns: usize = match std::env::args().nth(1) {
        Some(n) => n
            .parse()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{n}: {e}")))?,
        None => 1_000,
    };
    raise_descriptor_limit();
    let rt = anyrt::Green::builder().patch(true).build()?;
    let t0 = Instant::now();

    // The server: plain std, one green thread per connection.
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let rt2 = rt.clone();
    let server = implicit::spawn(&rt, move || -> io::Result<usize> {
        let mut handlers = Vec::with_capacity(conns);
        for _ in 0..conns {
            let (mut s, _) = listener.accept()?;
            handlers.push(implicit::spawn(&rt2, move || -> io::Result<usize> {
                let mut buf = [0u8; 4096];
                let mut echoed = 0;
                loop {
                    match s.read(&mut buf)? {
                        0 => return Ok(echoed),
                        n => {
                            s.write_all(&buf[..n])?;
                            echoed += n;
                        }
                    }
                }
            }));
        }
        let mut total = 0;
        for h in handlers {
            total += h.join().map_err(io::Error::other)??;
        }
        Ok(total)
    });

    // The clients: every connection open before the first byte goes.
    let all_open = Arc::new(implicit::sync::Barrier::new(conns));
    let clients: Vec<_> = (0..conns)
        .map(|i| {
            let all_open = all_open.clone();
            implicit::spawn(&rt, move || -> io::Result<()> {
                let mut s = TcpStream::connect(addr)?;
                all_open.wait();
                let mut back = [0u8; SIZE];
                for round in 0..ROUNDS {
                    let sent: Vec<u8> = (0..SIZE).map(|k| ((i + round + k) % 251) as u8).collect();
                    s.write_all(&sent)?;
                    s.read_exact(&mut back)?;
                    if back[..] != sent[..] {
                        return Err(io::Error::other(format!("connection {i}: bytes differ")));
                    }
                }
                Ok(())
            })
        })
        .collect();
    for c in clients {
        c.join().map_err(io::Error::other)??;
    }
    let echoed = server.join().map_err(io::Error::other)??;
    assert_eq!(echoed, conns * ROUNDS * SIZE);
    println!(
        "{conns} connections open at once, {} round trips of {SIZE} bytes, every byte \
         checked, in {:.2} s",
        conns * ROUNDS,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Raises the soft descriptor limit to the hard one (two descriptors per connection).
fn raise_descriptor_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid `rlimit` for both calls.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}
