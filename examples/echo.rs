//! A TCP echo server and client in async style, written once for every backend.
//!
//! ```text
//! cargo run --example echo -- --backend smol            # server + a burst of clients
//! cargo run --example echo -- --backend tokio --conns 100 --rounds 2000 --size 256
//! cargo run --example echo -- --backend smol --serve 127.0.0.1:7000   # server only
//! ```

mod common;

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyrt::io::{AsyncReadExt, AsyncWriteExt};
use anyrt::net::{TcpListener, TcpStream};
use anyrt::{Runtime, RuntimeExt};
use common::{EchoOptions, run_on};

/// Serves echo on `listener` until accept fails.
async fn serve<R: Runtime>(rt: R, listener: R::TcpListener) -> io::Result<()> {
    loop {
        let (mut stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        drop(rt.spawn(async move {
            let mut buf = [0u8; 4096];
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if stream.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                }
            }
        }));
    }
}

/// One client: `rounds` request/response round trips of `size` bytes, each checked.
async fn client<R: Runtime>(
    rt: R,
    addr: SocketAddr,
    id: usize,
    rounds: usize,
    size: usize,
) -> io::Result<u64> {
    let mut s = rt.tcp_connect(addr).await?;
    s.set_nodelay(true)?;
    let mut msg = vec![0u8; size];
    let mut back = vec![0u8; size];
    for r in 0..rounds {
        for (i, b) in msg.iter_mut().enumerate() {
            *b = (i ^ r ^ id) as u8;
        }
        s.write_all(&msg).await?;
        rt.timeout(Duration::from_secs(10), s.read_exact(&mut back))
            .await??;
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
        rt.clone().block_on(async move {
            let opts = &self.0;
            if let Some(addr) = &opts.serve {
                let listener = rt.tcp_listen(addr).await?;
                eprintln!("echo ({backend}) serving on {}", listener.local_addr()?);
                return serve(rt, listener).await;
            }
            let listener = rt.tcp_listen("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            drop(rt.spawn(serve(rt.clone(), listener)));
            let t0 = Instant::now();
            let clients: Vec<_> = (0..opts.conns)
                .map(|id| rt.spawn(client(rt.clone(), addr, id, opts.rounds, opts.size)))
                .collect();
            let mut bytes = 0;
            for c in clients {
                bytes += c.await??;
            }
            opts.report(backend, t0.elapsed().as_secs_f64(), bytes);
            Ok(())
        })
    }
}

fn main() {
    let opts = EchoOptions::from_args();
    let backend = opts.backend.clone();
    run_on(backend.as_deref(), "echo", |rt| Echo(opts).run(rt));
}
