//! The whole suite, out of the facade, against a backend that only wraps another: what a
//! fourth backend (or a middleware runtime) does to prove it keeps the contract.

use std::future::Future;
use std::io;
use std::time::{Duration, Instant};

use anyrt_core::Runtime;
use anyrt_core::net::ToSocketAddrs;
use anyrt_tokio::Tokio;

/// A runtime that delegates every call to Tokio.
#[derive(Clone, Debug)]
struct Wrapped(Tokio);

impl Wrapped {
    fn new() -> Wrapped {
        Wrapped(Tokio::builder().workers(2).build().unwrap())
    }

    fn stop(&self) {
        self.0.shutdown();
    }
}

impl Runtime for Wrapped {
    type JoinHandle<T: Send + 'static> = <Tokio as Runtime>::JoinHandle<T>;
    type Sleep = <Tokio as Runtime>::Sleep;
    type TcpListener = <Tokio as Runtime>::TcpListener;
    type TcpStream = <Tokio as Runtime>::TcpStream;
    type UdpSocket = <Tokio as Runtime>::UdpSocket;
    #[cfg(unix)]
    type UnixListener = <Tokio as Runtime>::UnixListener;
    #[cfg(unix)]
    type UnixStream = <Tokio as Runtime>::UnixStream;
    #[cfg(unix)]
    type UnixDatagram = <Tokio as Runtime>::UnixDatagram;

    fn name(&self) -> &'static str {
        "wrapped-tokio"
    }

    fn spawn<F>(&self, future: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.0.spawn(future)
    }

    fn spawn_blocking<F, T>(&self, f: F) -> Self::JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.0.spawn_blocking(f)
    }

    fn spawn_implicit<F, T>(&self, f: F) -> Self::JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.0.spawn_implicit(f)
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }

    fn is_shut_down(&self) -> bool {
        self.0.is_shut_down()
    }

    fn sleep(&self, duration: Duration) -> Self::Sleep {
        self.0.sleep(duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Self::Sleep {
        self.0.sleep_until(deadline)
    }

    fn tcp_listen<A: ToSocketAddrs>(
        &self,
        addr: A,
    ) -> impl Future<Output = io::Result<Self::TcpListener>> + Send + use<A> {
        self.0.tcp_listen(addr)
    }

    fn tcp_connect<A: ToSocketAddrs>(
        &self,
        addr: A,
    ) -> impl Future<Output = io::Result<Self::TcpStream>> + Send + use<A> {
        self.0.tcp_connect(addr)
    }

    fn udp_bind<A: ToSocketAddrs>(
        &self,
        addr: A,
    ) -> impl Future<Output = io::Result<Self::UdpSocket>> + Send + use<A> {
        self.0.udp_bind(addr)
    }

    fn tcp_listener_from_std(
        &self,
        listener: std::net::TcpListener,
    ) -> io::Result<Self::TcpListener> {
        self.0.tcp_listener_from_std(listener)
    }

    fn tcp_stream_from_std(&self, stream: std::net::TcpStream) -> io::Result<Self::TcpStream> {
        self.0.tcp_stream_from_std(stream)
    }

    fn udp_socket_from_std(&self, socket: std::net::UdpSocket) -> io::Result<Self::UdpSocket> {
        self.0.udp_socket_from_std(socket)
    }

    #[cfg(unix)]
    fn unix_connect<P: AsRef<std::path::Path>>(
        &self,
        path: P,
    ) -> impl Future<Output = io::Result<Self::UnixStream>> + Send + use<P> {
        self.0.unix_connect(path)
    }

    #[cfg(unix)]
    fn unix_listener_from_std(
        &self,
        listener: std::os::unix::net::UnixListener,
    ) -> io::Result<Self::UnixListener> {
        self.0.unix_listener_from_std(listener)
    }

    #[cfg(unix)]
    fn unix_stream_from_std(
        &self,
        stream: std::os::unix::net::UnixStream,
    ) -> io::Result<Self::UnixStream> {
        self.0.unix_stream_from_std(stream)
    }

    #[cfg(unix)]
    fn unix_datagram_from_std(
        &self,
        socket: std::os::unix::net::UnixDatagram,
    ) -> io::Result<Self::UnixDatagram> {
        self.0.unix_datagram_from_std(socket)
    }
}

anyrt_conformance::suite!(Wrapped, Wrapped::new(), Wrapped::stop);

/// The same wrapper behind `AnyRuntime`: an out-of-tree runtime chosen at run time.
mod any {
    use anyrt::AnyRuntime;

    use super::Wrapped;

    anyrt_conformance::suite!(
        AnyRuntime,
        AnyRuntime::new(Wrapped::new()),
        |rt: &AnyRuntime| {
            if let Some(w) = rt.downcast_ref::<Wrapped>() {
                w.stop();
            }
        }
    );
}
