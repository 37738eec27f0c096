//! The key-value server of `kv_server.rs`, in blocking style: implicit threads (green
//! threads on Green, OS threads elsewhere), `std::io` reads and writes, and the same
//! graceful shutdown built from `anyrt::implicit`'s task group and thread cancellation.
//!
//! ```text
//! cargo run --example kv_server_implicit -- --backend green
//! ```
//!
//! The shutdown, in three steps once a client sends `SHUTDOWN`:
//! 1. the accept loop's thread is cancelled ([`Thread::cancel`]): its blocked `accept`
//!    fails with the cancellation error and it returns;
//! 2. connections finish the request in hand and close; the grace period lets them;
//! 3. then the group is cancelled: connections still blocked in a read (idle clients) get
//!    the cancellation error and close, and `task_group` returns once every thread is gone.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyrt::implicit::sync::Mutex;
use anyrt::implicit::{self, TaskGroup, TcpListener, TcpStream};
use anyrt::structured::CancellationToken;
use anyrt::{AnyRuntime, Runtime};

type Store = Arc<Mutex<HashMap<String, String>>>;

/// How long connections may take to finish once shutdown begins.
const GRACE: Duration = Duration::from_millis(200);

/// Serves on `listener` until a client sends `SHUTDOWN`, then shuts down gracefully.
fn serve<R: Runtime>(rt: &R, listener: TcpListener<R>) -> io::Result<()> {
    let store = Store::default();
    let stop = CancellationToken::new();
    let result = implicit::task_group(rt, |group: &TaskGroup<R, io::Error>| {
        let (group2, store2, stop2) = (group.clone(), store.clone(), stop.clone());
        let acceptor = implicit::spawn(rt, move || {
            for stream in listener.incoming() {
                // Ends with the cancellation error once shutdown begins.
                let stream = stream?;
                let (store, stop) = (store2.clone(), stop2.clone());
                group2.spawn(move || connection(stream, &store, &stop));
            }
            Ok::<(), io::Error>(())
        });
        // Waits for `SHUTDOWN`, then the three steps.
        implicit::block_on(rt, stop.cancelled());
        acceptor.cancel();
        match acceptor.join() {
            Ok(Err(e)) if !implicit::is_cancelled(&e) => return Err(e),
            _ => {}
        }
        implicit::sleep(rt, GRACE);
        group.cancel();
        Ok(())
    });
    match result {
        Ok(()) => Ok(()),
        // The group's own `cancel` in step 3: the expected end.
        Err(e) if implicit::is_cancelled(e.first()) && e.rest().is_empty() => Ok(()),
        Err(e) => Err(e.into_first()),
    }
}

/// Serves one client until it leaves, or the server shuts down between its requests.
fn connection<R: Runtime>(
    stream: TcpStream<R>,
    store: &Store,
    stop: &CancellationToken,
) -> io::Result<()> {
    let mut write = stream.try_clone()?;
    let mut lines = BufReader::new(stream).lines();
    while !stop.is_cancelled() {
        let line = match lines.next() {
            Some(Ok(line)) => line,
            None => return Ok(()),
            // Cancelled in step 3 while idle: say goodbye and close.
            Some(Err(e)) if implicit::is_cancelled(&e) => {
                let _ = write.write_all(b"-ERR shutting down\r\n");
                return Ok(());
            }
            Some(Err(e)) => return Err(e),
        };
        let reply = execute(&line, store, stop);
        write.write_all(reply.as_bytes())?;
    }
    Ok(())
}

fn execute(line: &str, store: &Store, stop: &CancellationToken) -> String {
    let mut words = line.trim_end_matches('\r').splitn(3, ' ');
    match (words.next(), words.next(), words.next()) {
        (Some("PING"), None, None) => "+PONG\r\n".into(),
        (Some("SET"), Some(key), Some(value)) => {
            store.lock().insert(key.into(), value.into());
            "+OK\r\n".into()
        }
        (Some("GET"), Some(key), None) => match store.lock().get(key) {
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

/// A client: sends each request and checks its reply.
fn client<R: Runtime>(rt: &R, addr: SocketAddr, script: &[(&str, &str)]) -> io::Result<()> {
    let stream = TcpStream::connect(rt, addr)?;
    let mut write = stream.try_clone()?;
    let mut lines = BufReader::new(stream).lines();
    for (request, expected) in script {
        write.write_all(format!("{request}\r\n").as_bytes())?;
        let reply = lines.next().ok_or_else(|| {
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

/// The demo: the server on an implicit thread, fifty clients, an idle client that the
/// shutdown says goodbye to, and a `SHUTDOWN`.
fn demo<R: Runtime>(rt: &R) -> io::Result<()> {
    let listener = TcpListener::bind(rt, "127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let rt2 = rt.clone();
    let server = implicit::spawn(rt, move || serve(&rt2, listener));

    let idle = TcpStream::connect(rt, addr)?;
    let mut idle = BufReader::new(idle).lines();
    let clients: Vec<_> = (0..50)
        .map(|i| {
            let rt2 = rt.clone();
            implicit::spawn(rt, move || {
                let (key, value) = (format!("key{i}"), format!("value{i}"));
                let set = format!("SET {key} {value}");
                let get = format!("GET {key}");
                let expected = format!("${value}");
                client(
                    &rt2,
                    addr,
                    &[("PING", "+PONG"), (&set, "+OK"), (&get, &expected)],
                )
            })
        })
        .collect();
    for c in clients {
        c.join().map_err(io::Error::from)??;
    }
    client(
        rt,
        addr,
        &[("GET missing", "-ERR no such key"), ("SHUTDOWN", "+OK")],
    )?;
    let goodbye = idle.next().transpose()?;
    if goodbye.as_deref().map(str::trim_end) != Some("-ERR shutting down") {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the idle client heard {goodbye:?}"),
        ));
    }
    server.join().map_err(io::Error::from)??;
    println!(
        "kv_server_implicit ({}): 51 clients served, idle client told, server shut down",
        rt.name()
    );
    Ok(())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut backend = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--backend" => backend = args.next(),
            other => {
                eprintln!("error: unexpected argument `{other}` (try --backend NAME)");
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
    // Blocking-style code runs in an implicit thread (or `main`): here, one thread.
    let rt2 = rt.clone();
    match implicit::spawn(&rt, move || demo(&rt2)).join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
