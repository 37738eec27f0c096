//! A Redis-shaped key-value server with a graceful shutdown, in async style, written once
//! for every backend, and a demo that drives it and checks every reply.
//!
//! ```text
//! cargo run --example kv_server -- --backend green
//! cargo run --example kv_server -- --backend tokio --serve 127.0.0.1:6380   # server only
//! ```
//!
//! The protocol: one command per line, one reply per line — `PING` (`+PONG`),
//! `SET key value` (`+OK`), `GET key` (`$value`, or `-ERR no such key`), `SHUTDOWN`.
//!
//! The shutdown, from the toolkit (`anyrt::structured`):
//! - `SHUTDOWN` cancels a `CancellationToken`: the accept loop stops, and every connection
//!   finishes the request in hand, says goodbye and closes;
//! - the connections live in a `JoinSet`; `drain` gives them a grace period, then aborts
//!   the stragglers and waits until they are gone;
//! - the demo runs the server in a `task_group`, whose `start` hands back the server's
//!   address once it listens; the group returns once the server has drained.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyrt::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use anyrt::net::{TcpListener, TcpStream};
use anyrt::structured::{CancellationToken, Drained, JoinSet, task_group};
use anyrt::sync::Mutex;
use anyrt::{AnyRuntime, Runtime};
use futures_util::StreamExt;

type Store = Arc<Mutex<HashMap<String, String>>>;

/// How long connections may take to finish once shutdown begins.
const GRACE: Duration = Duration::from_secs(2);

/// Accepts until `stop` is cancelled, then drains the connections.
async fn serve<R: Runtime>(
    rt: R,
    listener: R::TcpListener,
    store: Store,
    stop: CancellationToken,
) -> io::Result<Drained> {
    let mut connections = JoinSet::new(&rt);
    while let Some(accepted) = stop.run_until_cancelled(listener.accept()).await {
        match accepted {
            Ok((stream, _)) => {
                connections.spawn(connection(stream, store.clone(), stop.clone()));
            }
            // Out of file descriptors, say: wait a little rather than spin.
            Err(e) => {
                eprintln!("accept failed: {e}");
                rt.sleep(Duration::from_millis(10)).await;
            }
        }
        // Finished connections leave the set as we go.
        while connections.try_join_next().is_some() {}
    }
    drop(listener); // no new connections from here on
    Ok(connections.drain(GRACE).await)
}

/// Serves one client until it leaves or the server shuts down.
async fn connection<S: TcpStream>(stream: S, store: Store, stop: CancellationToken) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    loop {
        let line = match stop.run_until_cancelled(lines.next()).await {
            Some(Some(Ok(line))) => line,
            // The client left, or its connection failed.
            Some(None | Some(Err(_))) => return,
            None => {
                let _ = write.write_all(b"-ERR shutting down\r\n").await;
                return;
            }
        };
        let reply = execute(&line, &store, &stop).await;
        if write.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

async fn execute(line: &str, store: &Store, stop: &CancellationToken) -> String {
    let mut words = line.trim_end_matches('\r').splitn(3, ' ');
    match (words.next(), words.next(), words.next()) {
        (Some("PING"), None, None) => "+PONG\r\n".into(),
        (Some("SET"), Some(key), Some(value)) => {
            store.lock().await.insert(key.into(), value.into());
            "+OK\r\n".into()
        }
        (Some("GET"), Some(key), None) => match store.lock().await.get(key) {
            Some(value) => format!("${value}\r\n"),
            None => "-ERR no such key\r\n".into(),
        },
        (Some("SHUTDOWN"), None, None) => {
            stop.cancel();
            "+OK\r\n".into()
        }
        _ => format!("-ERR unknown command `{line}`\r\n"),
    }
}

/// A client: sends `requests` and checks each reply against `expected`.
async fn client<R: Runtime>(rt: &R, addr: SocketAddr, script: &[(&str, &str)]) -> io::Result<()> {
    let stream = rt.tcp_connect(addr).await?;
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    for (request, expected) in script {
        write.write_all(format!("{request}\r\n").as_bytes()).await?;
        let reply = lines.next().await.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            )
        })??;
        if reply.trim_end() != *expected {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("`{request}`: expected `{expected}`, got `{reply}`"),
            ));
        }
    }
    Ok(())
}

/// The demo: the server in a task group, fifty clients, an idle client that the shutdown
/// says goodbye to, and a `SHUTDOWN`.
async fn demo<R: Runtime>(rt: R) -> io::Result<()> {
    let backend = rt.name();
    let rt2 = rt.clone();
    let drained = task_group(&rt, move |group| async move {
        let server_rt = rt2.clone();
        let (drained_tx, drained_rx) = futures_channel::oneshot::channel();
        let addr = group
            .start(|ready| async move {
                let listener = server_rt.tcp_listen("127.0.0.1:0").await?;
                ready.started(listener.local_addr()?);
                let store = Store::default();
                let drained = serve(server_rt, listener, store, CancellationToken::new()).await?;
                let _ = drained_tx.send(drained);
                Ok(())
            })
            .await?;

        // An idle client, connected before the shutdown: it hears the goodbye.
        let idle = rt2.tcp_connect(addr).await?;
        let mut idle = BufReader::new(idle).lines();

        let clients: Vec<_> = (0..50)
            .map(|i| {
                let rt = rt2.clone();
                rt2.spawn(async move {
                    let (key, value) = (format!("key{i}"), format!("value{i}"));
                    let set = format!("SET {key} {value}");
                    let get = format!("GET {key}");
                    let expected = format!("${value}");
                    client(
                        &rt,
                        addr,
                        &[("PING", "+PONG"), (&set, "+OK"), (&get, &expected)],
                    )
                    .await
                })
            })
            .collect();
        for c in clients {
            c.await.map_err(io::Error::from)??;
        }
        client(
            &rt2,
            addr,
            &[("GET missing", "-ERR no such key"), ("SHUTDOWN", "+OK")],
        )
        .await?;
        let goodbye = idle.next().await.transpose()?;
        if goodbye.as_deref().map(str::trim_end) != Some("-ERR shutting down") {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the idle client heard {goodbye:?}"),
            ));
        }
        drained_rx
            .await
            .map_err(|_| io::Error::other("the server stopped without draining"))
    })
    .await?;
    println!(
        "kv_server ({backend}): 51 clients served; shutdown drained {} connections and aborted {}",
        drained.finished, drained.aborted
    );
    Ok(())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut backend, mut serve_at) = (None, None);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--backend" => backend = args.next(),
            "--serve" => serve_at = args.next(),
            other => {
                eprintln!(
                    "error: unexpected argument `{other}` (try --backend NAME, --serve ADDR)"
                );
                std::process::exit(2);
            }
        }
    }
    let rt = match backend {
        Some(name) => AnyRuntime::from_name(&name),
        None => AnyRuntime::from_env(),
    };
    let rt = rt.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(2)
    });
    let result = rt.block_on(async {
        match serve_at {
            None => demo(rt.clone()).await,
            Some(addr) => {
                let listener = rt.tcp_listen(addr).await?;
                eprintln!("kv_server ({}) on {}", rt.name(), listener.local_addr()?);
                let drained = serve(
                    rt.clone(),
                    listener,
                    Store::default(),
                    CancellationToken::new(),
                )
                .await?;
                eprintln!("drained: {drained:?}");
                Ok(())
            }
        }
    });
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
