use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread;
use std::time::{Duration, Instant};

use anyrt_core::Runtime;
use anyrt_core::backend::{
    AsyncScope, AsyncTaskHandle, BOX_FUTURES_OVER, CatchPanic, DropPanic, TaskOrThread,
    ThreadHandle, assert_may_block, bind_tcp_listener, catch_panic, each_addr, set_polling_async,
    worker_threads,
};
use anyrt_core::net::ToSocketAddrs;
use async_executor::Executor;
use async_io::Async;

use crate::net::{TcpListener, TcpStream, UdpSocket};
use crate::spawn::JoinHandle;
use crate::time::Sleep;

/// A handle to a smol runtime: an executor run by worker threads of its own.
///
/// The runtime runs while any clone of the handle exists; it stops when the last clone is
/// dropped (from any thread, including one of its own tasks), or at once on
/// [`Smol::shutdown`].
#[derive(Clone, Debug)]
pub struct Smol {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    // `None` once shut down. Taking the executor out and dropping it cancels every task
    // still in it. A spawn from any thread but the runtime's own workers takes the read
    // lock (uncontended, but two atomic read-modify-writes: full barriers on x86).
    executor: RwLock<Option<Arc<Executor<'static>>>>,
    // The executor's address: a worker of this runtime knows it by it (`WORKER_OF`).
    executor_addr: usize,
    // Closed to tell the workers to stop.
    stop: async_channel::Sender<()>,
    workers: Mutex<Vec<thread::JoinHandle<()>>>,
    /// Set by `shutdown`, before the executor goes: `is_shut_down` (asked by every
    /// blocking-style read and write) reads it without the lock.
    shut_down: AtomicBool,
}

std::thread_local! {
    /// On a worker thread, the executor it runs. A spawn made there (by one of its tasks,
    /// the common case) uses it without the runtime's lock: the worker's own reference
    /// keeps the executor alive, and the executor is dropped, cancelling whatever it
    /// holds, only once every worker has stopped.
    static WORKER_OF: RefCell<Option<Arc<Executor<'static>>>> = const { RefCell::new(None) };
}

/// Clears `WORKER_OF` when a worker's loop ends, unwinding included: the executor goes
/// with the last worker (or the runtime), never in a thread-local destructor.
struct LeaveWorker;

impl Drop for LeaveWorker {
    fn drop(&mut self) {
        drop(WORKER_OF.with(|w| w.borrow_mut().take()));
    }
}

/// Spawns `future` on `ex`, wrapped as every task of the backend is.
fn spawn_on<F>(ex: &Executor<'static>, future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // A panic in the future's destructor is the task's panic, whenever it is dropped.
    let report = DropPanic::new();
    // No `AsyncScope`: the workers, the only threads that poll tasks, are marked as
    // inside one for good.
    let task = if std::mem::size_of::<F>() > BOX_FUTURES_OVER {
        // Boxed before the wrapper: it would otherwise copy it on the stack.
        ex.spawn(CatchPanic::with_drop_report(Box::pin(future), report))
    } else {
        ex.spawn(CatchPanic::with_drop_report(future, report))
    };
    TaskOrThread::Task(AsyncTaskHandle::with_drop_report(task, report))
}

impl Drop for Inner {
    fn drop(&mut self) {
        let executor = self
            .executor
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let workers = std::mem::take(self.workers.get_mut().unwrap_or_else(|e| e.into_inner()));
        stop(executor, &self.stop, workers);
    }
}

/// Stops the workers and drops the executor (cancelling its tasks). Never joins the
/// calling thread, so it is safe from inside one of the runtime's own tasks.
fn stop(
    executor: Option<Arc<Executor<'static>>>,
    signal: &async_channel::Sender<()>,
    workers: Vec<thread::JoinHandle<()>>,
) {
    signal.close();
    let me = thread::current().id();
    for w in workers {
        if w.thread().id() != me {
            // A worker only panics if a task's destructor does; nothing to report then.
            let _ = w.join();
        }
    }
    // If this is a worker thread, it holds the last reference until its loop returns.
    drop(executor);
}

/// Settings for a [`Smol`] runtime; made by [`Smol::builder`].
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

    /// The name of the worker threads (default: `anyrt-smol`).
    pub fn thread_name(mut self, name: impl Into<String>) -> Builder {
        self.thread_name = Some(name.into());
        self
    }

    /// Starts the runtime.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `workers` is zero; the OS error if a thread cannot be started, or
    /// if async-io's reactor cannot get its descriptors (`EMFILE`, say).
    pub fn build(self) -> io::Result<Smol> {
        let n = worker_threads(self.workers)?;
        start_reactor()?;
        let name = self.thread_name.unwrap_or_else(|| "anyrt-smol".into());
        let executor = Arc::new(Executor::new());
        let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
        let mut workers = Vec::with_capacity(n);
        for _ in 0..n {
            let ex = executor.clone();
            let signal = stop_rx.clone();
            let spawned = thread::Builder::new().name(name.clone()).spawn(move || {
                #[cfg(feature = "tokio-context")]
                anyrt_core::backend::tokio_context::enter_for_good();
                // A worker only ever polls (and drops) the executor's tasks: it is inside
                // an async task for good, so tasks need no `AsyncScope` of their own.
                set_polling_async(true);
                WORKER_OF.with(|w| *w.borrow_mut() = Some(ex.clone()));
                let _leave = LeaveWorker;
                async_io::block_on(ex.run(async move {
                    // Ends when the sender is closed.
                    let _ = signal.recv().await;
                }));
            });
            match spawned {
                Ok(w) => workers.push(w),
                Err(e) => {
                    stop(Some(executor), &stop_tx, workers);
                    return Err(e);
                }
            }
        }
        let executor_addr = Arc::as_ptr(&executor) as usize;
        Ok(Smol {
            inner: Arc::new(Inner {
                executor_addr,
                executor: RwLock::new(Some(executor)),
                stop: stop_tx,
                workers: Mutex::new(workers),
                shut_down: AtomicBool::new(false),
            }),
        })
    }
}

/// Starts async-io's process-wide reactor here, if it does not run yet, so that a failure
/// is an error from `build` instead of a panic in every worker (which would leave a
/// runtime that never runs a task).
fn start_reactor() -> io::Result<()> {
    static STARTED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    if STARTED.get().is_some() {
        return Ok(());
    }
    // The descriptors the reactor's poller needs, checked first: an error then leaves
    // async-io untouched (it would otherwise also lose its background driver thread).
    #[cfg(unix)]
    drop(
        (0..4)
            .map(|_| std::os::unix::net::UnixDatagram::unbound())
            .collect::<io::Result<Vec<_>>>()?,
    );
    // Registering a timer makes async-io create its reactor.
    let started = std::panic::catch_unwind(|| {
        let mut timer = async_io::Timer::after(Duration::from_secs(3600));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let _ = std::pin::Pin::new(&mut timer).poll(&mut cx);
    });
    match started {
        Ok(()) => {
            let _ = STARTED.set(());
            Ok(())
        }
        Err(panic) => {
            let what = anyrt_core::backend::panic_message(&*panic).unwrap_or_default();
            Err(io::Error::other(format!(
                "anyrt-smol: async-io's reactor failed to start: {what}"
            )))
        }
    }
}

impl Smol {
    /// Starts a runtime with one worker thread per CPU.
    ///
    /// # Panics
    ///
    /// Panics if the OS refuses to start its threads or its reactor; use
    /// [`Smol::builder`] to get an error instead.
    pub fn new() -> Smol {
        Smol::builder()
            .build()
            .expect("failed to start a smol runtime")
    }

    /// Settings for a new runtime.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Stops the runtime now: the workers exit (this waits for them, unless called from one
    /// of them), pending tasks are dropped, and a later spawn yields a cancelled
    /// [`JoinHandle`].
    pub fn shutdown(&self) {
        self.inner.shut_down.store(true, Ordering::Release);
        let executor = self
            .inner
            .executor
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let workers =
            std::mem::take(&mut *self.inner.workers.lock().unwrap_or_else(|e| e.into_inner()));
        stop(executor, &self.inner.stop, workers);
    }
}

impl Default for Smol {
    fn default() -> Smol {
        Smol::new()
    }
}

impl Runtime for Smol {
    type JoinHandle<T: Send + 'static> = JoinHandle<T>;
    type Sleep = Sleep;
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
        "smol"
    }

    fn is_shut_down(&self) -> bool {
        self.inner.shut_down.load(Ordering::Acquire)
    }

    fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // On one of this runtime's workers (a task spawning): no lock.
        let inner = &*self.inner;
        let spawned = WORKER_OF.with(move |w| match w.borrow().as_ref() {
            Some(ex) if Arc::as_ptr(ex) as usize == inner.executor_addr => {
                Ok(if inner.shut_down.load(Ordering::Acquire) {
                    // As a spawn from elsewhere after `shutdown` (its worker still finishing
                    // the current poll) would be.
                    TaskOrThread::Task(AsyncTaskHandle::cancelled())
                } else {
                    spawn_on(ex, future)
                })
            }
            _ => Err(future),
        });
        let future = match spawned {
            Ok(handle) => return handle,
            Err(future) => future,
        };
        let guard = self
            .inner
            .executor
            .read()
            .unwrap_or_else(|e| e.into_inner());
        match guard.as_ref() {
            Some(ex) => spawn_on(ex, future),
            None => TaskOrThread::Task(AsyncTaskHandle::cancelled()),
        }
    }

    fn spawn_blocking<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if self.is_shut_down() {
            return TaskOrThread::Task(AsyncTaskHandle::cancelled());
        }
        TaskOrThread::Task(AsyncTaskHandle::new(blocking::unblock(move || {
            #[cfg(feature = "tokio-context")]
            let _tokio = anyrt_core::backend::tokio_context::enter();
            catch_panic(f)
        })))
    }

    fn spawn_implicit<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if self.is_shut_down() {
            return TaskOrThread::Task(AsyncTaskHandle::cancelled());
        }
        #[cfg(feature = "tokio-context")]
        let f = move || {
            let _tokio = anyrt_core::backend::tokio_context::enter();
            f()
        };
        TaskOrThread::Thread(ThreadHandle::spawn("anyrt-implicit", f))
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        assert_may_block("Runtime::block_on");
        #[cfg(feature = "tokio-context")]
        let _tokio = anyrt_core::backend::tokio_context::enter();
        async_io::block_on(AsyncScope::new(future))
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        Sleep::after(duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Sleep {
        Sleep::until(deadline)
    }

    fn reset_sleep(&self, sleep: std::pin::Pin<&mut Sleep>, deadline: Instant) {
        sleep.get_mut().reset(deadline);
    }

    fn tcp_listen<A: ToSocketAddrs>(
        &self,
        addr: A,
    ) -> impl Future<Output = io::Result<TcpListener>> + Send + use<A> {
        let bound = each_addr(
            self,
            addr,
            |a| async move { Async::new(bind_tcp_listener(a)?) },
        );
        async move { Ok(TcpListener::new(bound.await?)) }
    }

    fn tcp_connect<A: ToSocketAddrs>(
        &self,
        addr: A,
    ) -> impl Future<Output = io::Result<TcpStream>> + Send + use<A> {
        let connected = each_addr(self, addr, Async::<std::net::TcpStream>::connect);
        async move { Ok(TcpStream::new(connected.await?)) }
    }

    fn udp_bind<A: ToSocketAddrs>(
        &self,
        addr: A,
    ) -> impl Future<Output = io::Result<UdpSocket>> + Send + use<A> {
        let bound = each_addr(self, addr, |a| async move {
            Async::<std::net::UdpSocket>::bind(a)
        });
        async move { Ok(UdpSocket::new(bound.await?)) }
    }

    fn tcp_listener_from_std(&self, listener: std::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener::new(Async::new(listener)?))
    }

    fn tcp_stream_from_std(&self, stream: std::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream::new(Async::new(stream)?))
    }

    fn udp_socket_from_std(&self, socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        Ok(UdpSocket::new(Async::new(socket)?))
    }

    #[cfg(unix)]
    fn unix_connect<P: AsRef<std::path::Path>>(
        &self,
        path: P,
    ) -> impl Future<Output = io::Result<crate::unix::UnixStream>> + Send + use<P> {
        let path = path.as_ref().to_path_buf();
        async move { crate::unix::UnixStream::connect(&path).await }
    }

    #[cfg(unix)]
    fn unix_listener_from_std(
        &self,
        listener: std::os::unix::net::UnixListener,
    ) -> io::Result<crate::unix::UnixListener> {
        Ok(crate::unix::UnixListener::new(Async::new(listener)?))
    }

    #[cfg(unix)]
    fn unix_stream_from_std(
        &self,
        stream: std::os::unix::net::UnixStream,
    ) -> io::Result<crate::unix::UnixStream> {
        Ok(crate::unix::UnixStream::new(Async::new(stream)?))
    }

    #[cfg(unix)]
    fn unix_datagram_from_std(
        &self,
        socket: std::os::unix::net::UnixDatagram,
    ) -> io::Result<crate::unix::UnixDatagram> {
        Ok(crate::unix::UnixDatagram::new(Async::new(socket)?))
    }
}
