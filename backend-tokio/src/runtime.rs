use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyrt_core::Runtime;
use anyrt_core::backend::{
    AsyncScope, TaskOrThread, ThreadHandle, assert_may_block, bind_tcp_listener, each_addr,
    worker_threads,
};
use anyrt_core::net::ToSocketAddrs;
use pin_project_lite::pin_project;

use crate::net::{TcpListener, TcpStream, UdpSocket};
use crate::spawn::{JoinHandle, TaskHandle};

/// How long an explicit shutdown (or the drop of the last handle) waits for the runtime's
/// threads to exit, when it is called from outside the runtime.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(1);

/// A handle to a tokio runtime: a cheap, clonable [`Runtime`].
///
/// A runtime made by [`Tokio::new`] or [`Tokio::builder`] is owned by its handles: it stops
/// when the last clone is dropped (from any thread, including one of its own tasks), or at
/// once on [`Tokio::shutdown`]. A handle made by [`Tokio::from_handle`] borrows a runtime
/// its caller owns.
#[derive(Clone, Debug)]
pub struct Tokio {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    handle: tokio::runtime::Handle,
    owned: Mutex<Option<tokio::runtime::Runtime>>,
    /// Set by `shutdown`: implicit threads are no longer started.
    shut_down: AtomicBool,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let owned = self
            .owned
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        stop(owned);
    }
}

/// Stops an owned runtime without panicking or deadlocking, wherever it is called from.
fn stop(rt: Option<tokio::runtime::Runtime>) {
    let Some(rt) = rt else { return };
    if tokio::runtime::Handle::try_current().is_ok() {
        // Inside a runtime (one of this runtime's own tasks or blocking threads, or
        // another runtime): waiting would panic, or wait on ourselves. Signal and go.
        rt.shutdown_background();
    } else {
        rt.shutdown_timeout(SHUTDOWN_WAIT);
    }
}

/// Settings for a [`Tokio`] runtime; made by [`Tokio::builder`].
#[derive(Debug, Clone, Default)]
pub struct Builder {
    workers: Option<usize>,
    thread_name: Option<String>,
}

impl Builder {
    /// The number of worker threads (default: one per CPU).
    pub fn workers(mut self, n: usize) -> Builder {
        self.workers = Some(n);
        self
    }

    /// The name of the worker threads (default: `anyrt-tokio`).
    pub fn thread_name(mut self, name: impl Into<String>) -> Builder {
        self.thread_name = Some(name.into());
        self
    }

    /// Starts the runtime.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `workers` is zero; the OS error if the threads cannot be started.
    pub fn build(self) -> io::Result<Tokio> {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.enable_all()
            .thread_name(self.thread_name.unwrap_or_else(|| "anyrt-tokio".into()));
        b.worker_threads(worker_threads(self.workers)?);
        let rt = b.build()?;
        Ok(Tokio {
            inner: Arc::new(Inner {
                handle: rt.handle().clone(),
                owned: Mutex::new(Some(rt)),
                shut_down: AtomicBool::new(false),
            }),
        })
    }
}

impl Tokio {
    /// Starts a multi-thread tokio runtime with default settings.
    ///
    /// # Panics
    ///
    /// Panics if the OS refuses to start its threads; use [`Tokio::builder`] to get an
    /// error instead.
    pub fn new() -> Tokio {
        Tokio::builder()
            .build()
            .expect("failed to start a tokio runtime")
    }

    /// Settings for a new runtime.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Wraps a runtime the caller owns, to embed anyrt in an existing tokio program.
    ///
    /// [`shutdown`](Tokio::shutdown) has no effect on such a handle.
    pub fn from_handle(handle: tokio::runtime::Handle) -> Tokio {
        Tokio {
            inner: Arc::new(Inner {
                handle,
                owned: Mutex::new(None),
                shut_down: AtomicBool::new(false),
            }),
        }
    }

    /// Stops an owned runtime now: pending tasks are dropped and a later spawn yields a
    /// cancelled [`JoinHandle`]. Called from outside the runtime, it waits up to one second
    /// for the worker threads to exit.
    pub fn shutdown(&self) {
        let owned = self
            .inner
            .owned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if owned.is_some() {
            self.inner.shut_down.store(true, Ordering::Release);
        }
        stop(owned);
    }

    /// The tokio handle this runtime spawns on.
    pub fn handle(&self) -> &tokio::runtime::Handle {
        &self.inner.handle
    }

    /// Wraps `fut` so that every poll runs inside this runtime's context: tokio sockets
    /// register with the runtime that made them, whoever polls the future.
    pub(crate) fn in_context<F: Future>(&self, fut: F) -> InContext<F> {
        InContext {
            handle: self.inner.handle.clone(),
            fut,
        }
    }
}

impl Default for Tokio {
    fn default() -> Tokio {
        Tokio::new()
    }
}

pin_project! {
    /// A future polled inside a tokio runtime's context.
    pub(crate) struct InContext<F> {
        handle: tokio::runtime::Handle,
        #[pin]
        fut: F,
    }
}

impl<F: Future> Future for InContext<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _guard = this.handle.enter();
        this.fut.poll(cx)
    }
}

impl Runtime for Tokio {
    type JoinHandle<T: Send + 'static> = JoinHandle<T>;
    type Sleep = crate::time::Sleep;
    type TcpListener = TcpListener;
    type TcpStream = TcpStream;
    type UdpSocket = UdpSocket;
    #[cfg(unix)]
    type UnixListener = crate::unix::UnixListener;
    #[cfg(unix)]
    type UnixStream = crate::unix::UnixStream;
    #[cfg(unix)]
    type UnixDatagram = crate::unix::UnixDatagram;

    fn name(&self) -> &'static str {
        "tokio"
    }

    fn is_shut_down(&self) -> bool {
        self.inner.shut_down.load(Ordering::Acquire)
    }

    fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        if self.is_shut_down() {
            // Tokio refuses spawns once its workers have closed the task list; a task that
            // shut its own runtime down, spawning before they did, is refused here.
            return TaskHandle::cancelled();
        }
        TaskHandle::new(self.inner.handle.spawn(AsyncScope::new(future)))
    }

    fn spawn_blocking<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if self.is_shut_down() {
            // As for `spawn`: `f` never runs.
            return TaskHandle::cancelled();
        }
        TaskHandle::new(self.inner.handle.spawn_blocking(f))
    }

    fn spawn_implicit<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if self.is_shut_down() {
            // As tokio does for its own spawns: cancelled, and `f` never runs.
            return TaskOrThread::Thread(ThreadHandle::cancelled());
        }
        let handle = self.inner.handle.clone();
        TaskOrThread::Thread(ThreadHandle::spawn("anyrt-implicit", move || {
            // Inside the runtime's context, so tokio-ecosystem code works here too.
            let _guard = handle.enter();
            f()
        }))
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        assert_may_block("Runtime::block_on");
        self.inner.handle.block_on(AsyncScope::new(future))
    }

    fn sleep(&self, duration: Duration) -> crate::time::Sleep {
        let _guard = self.inner.handle.enter();
        crate::time::Sleep::new(tokio::time::sleep(duration))
    }

    fn sleep_until(&self, deadline: Instant) -> crate::time::Sleep {
        let _guard = self.inner.handle.enter();
        crate::time::Sleep::new(tokio::time::sleep_until(deadline.into()))
    }

    fn reset_sleep(&self, sleep: Pin<&mut crate::time::Sleep>, deadline: Instant) {
        sleep.reset(deadline);
    }

    fn tcp_listen<A: ToSocketAddrs>(
        &self,
        addr: A,
    ) -> impl Future<Output = io::Result<TcpListener>> + Send + use<A> {
        let bound = each_addr(self, addr, |a| async move {
            // anyrt-core's bind, as on every backend: the same options and backlog (mio's
            // own bind listens with a backlog of 128).
            let l = bind_tcp_listener(a)?;
            l.set_nonblocking(true)?;
            tokio::net::TcpListener::from_std(l)
        });
        let handle = self.inner.handle.clone();
        self.in_context(async move { Ok(TcpListener::new(bound.await?, handle)) })
    }

    fn tcp_connect<A: ToSocketAddrs>(
        &self,
        addr: A,
    ) -> impl Future<Output = io::Result<TcpStream>> + Send + use<A> {
        let connected = each_addr(self, addr, tokio::net::TcpStream::connect);
        self.in_context(async move { Ok(TcpStream::new(connected.await?)) })
    }

    fn udp_bind<A: ToSocketAddrs>(
        &self,
        addr: A,
    ) -> impl Future<Output = io::Result<UdpSocket>> + Send + use<A> {
        let bound = each_addr(self, addr, tokio::net::UdpSocket::bind);
        self.in_context(async move { Ok(UdpSocket::new(bound.await?)) })
    }

    fn tcp_listener_from_std(&self, listener: std::net::TcpListener) -> io::Result<TcpListener> {
        let _guard = self.inner.handle.enter();
        listener.set_nonblocking(true)?;
        let l = tokio::net::TcpListener::from_std(listener)?;
        Ok(TcpListener::new(l, self.inner.handle.clone()))
    }

    fn tcp_stream_from_std(&self, stream: std::net::TcpStream) -> io::Result<TcpStream> {
        let _guard = self.inner.handle.enter();
        stream.set_nonblocking(true)?;
        Ok(TcpStream::new(tokio::net::TcpStream::from_std(stream)?))
    }

    fn udp_socket_from_std(&self, socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        let _guard = self.inner.handle.enter();
        socket.set_nonblocking(true)?;
        Ok(UdpSocket::new(tokio::net::UdpSocket::from_std(socket)?))
    }

    #[cfg(unix)]
    fn unix_connect<P: AsRef<std::path::Path>>(
        &self,
        path: P,
    ) -> impl Future<Output = io::Result<crate::unix::UnixStream>> + Send + use<P> {
        let path = path.as_ref().to_path_buf();
        self.in_context(async move { crate::unix::UnixStream::connect(&path).await })
    }

    #[cfg(unix)]
    fn unix_listener_from_std(
        &self,
        listener: std::os::unix::net::UnixListener,
    ) -> io::Result<crate::unix::UnixListener> {
        let _guard = self.inner.handle.enter();
        listener.set_nonblocking(true)?;
        let l = tokio::net::UnixListener::from_std(listener)?;
        Ok(crate::unix::UnixListener::new(l, self.inner.handle.clone()))
    }

    #[cfg(unix)]
    fn unix_stream_from_std(
        &self,
        stream: std::os::unix::net::UnixStream,
    ) -> io::Result<crate::unix::UnixStream> {
        let _guard = self.inner.handle.enter();
        stream.set_nonblocking(true)?;
        Ok(crate::unix::UnixStream::new(
            tokio::net::UnixStream::from_std(stream)?,
        ))
    }

    #[cfg(unix)]
    fn unix_datagram_from_std(
        &self,
        socket: std::os::unix::net::UnixDatagram,
    ) -> io::Result<crate::unix::UnixDatagram> {
        let _guard = self.inner.handle.enter();
        socket.set_nonblocking(true)?;
        Ok(crate::unix::UnixDatagram::new(
            tokio::net::UnixDatagram::from_std(socket)?,
        ))
    }
}
