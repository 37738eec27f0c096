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

fn main() {}
