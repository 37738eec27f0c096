//! What generic code over `R: Runtime` can rely on: `Debug` on the runtime, its sockets and
//! its handles (whatever the task's output), a `Sync` timer, an `Unpin` runtime.

use anyrt::Runtime;

struct NotDebug;

#[derive(Debug)]
struct Conn<R: Runtime> {
    rt: R,
    listener: R::TcpListener,
    stream: R::TcpStream,
    socket: R::UdpSocket,
    #[cfg(unix)]
    unix_listener: R::UnixListener,
    #[cfg(unix)]
    unix_stream: R::UnixStream,
    #[cfg(unix)]
    unix_datagram: R::UnixDatagram,
    task: R::JoinHandle<()>,
    other: R::JoinHandle<NotDebug>,
}

fn sync<T: Sync>() {}
fn unpin<T: Unpin>() {}

#[allow(dead_code)]
fn bounds<R: Runtime>(conn: &Conn<R>) -> String {
    sync::<R::Sleep>();
    unpin::<R>();
    format!("{conn:?}")
}

/// A socket future owns what it needs: it can be spawned, as with tokio.
#[cfg(unix)]
#[allow(dead_code)]
fn spawn_a_connect<R: Runtime>(
    rt: &R,
    path: std::path::PathBuf,
) -> R::JoinHandle<std::io::Result<R::UnixStream>> {
    rt.spawn(rt.unix_connect(path))
}

fn main() {}
