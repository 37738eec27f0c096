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

    // The server: plain std, one green thread per connection. It accepts every connection
    // before it answers any, then sends each client a "go" byte: all of them are open at
    // once (the barrier is plain I/O too).
    let listener = listen(conns)?;
    let addr = listener.local_addr()?;
    let rt2 = rt;
    let server = implicit::spawn(&rt, move || -> io::Result<usize> {
        let mut open = Vec::with_capacity(conns);
        for _ in 0..conns {
            open.push(listener.accept()?.0);
        }
        let mut handlers = Vec::with_capacity(conns);
        for mut s in open {
            s.write_all(b"g")?;
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

    // The clients: each waits for the server's "go" before its first round trip.
    let clients: Vec<_> = (0..conns)
        .map(|i| {
            implicit::spawn(&rt, move || -> io::Result<()> {
                let mut s = TcpStream::connect(addr)?;
                s.read_exact(&mut [0u8; 1])?;
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

/// A std listener on a loopback port whose backlog holds every connection of the burst.
/// `TcpListener::bind` asks for a backlog of 128: a burst of connects beyond what the accept
/// queue holds gets its final ACK dropped by Linux, and those clients believe they are
/// connected while the server never sees them (until the SYN-ACK retransmits, seconds later).
fn listen(conns: usize) -> io::Result<TcpListener> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    socket.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
    socket.listen(i32::try_from(conns).unwrap_or(i32::MAX))?;
    Ok(socket.into())
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
