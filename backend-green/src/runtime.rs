use std::future::Future;
use std::io;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyrt_core::Runtime;
use anyrt_core::backend::{catch_panic, each_addr, worker_threads};
use anyrt_core::net::ToSocketAddrs;

use crate::net::{TcpListener, TcpStream, UdpSocket};
use crate::spawn::{self, JoinHandle};
use crate::time::Sleep;

/// The default coroutine stack: 1 MiB of address space, of which a task uses (and keeps
/// resident) only the pages it touches.
///
/// Chosen by measurement (debug builds, where frames are largest): a 1 000-deep async
/// recursion (`Box::pin` per level) needs about 256 KiB, a 64 KiB array passed by value to
/// an `async fn` about 384 KiB, and blocking-style code with a 64 KiB buffer on its stack
/// about 128 KiB; 1 MiB leaves room above all three. An idle task keeps about 9 KiB
/// resident whatever the reservation (the same as with the earlier 64 KiB stacks: the
/// bench's `memory-tasks` case), and 100 000 of them reserve about 100 GiB of address
/// space, which Linux's default overcommit allows.
pub const DEFAULT_STACK_SIZE: usize = 1024 * 1024;

/// A handle to the green-thread runtime: may's process-wide coroutine scheduler.
///
/// Every task is a may coroutine. Async tasks are driven by a poll loop that parks the
/// coroutine (never the worker thread) while the future is pending; implicit tasks
/// ([`Runtime::spawn_implicit`]) are plain coroutines whose blocking-style calls park
/// them.
///
/// may's scheduler is global: the first [`Green::new`] or [`Builder::build`] configures
/// and starts it, later ones join it. It lives until the process exits, and pending green
/// tasks never keep a process from exiting when `main` returns.
#[derive(Clone, Copy, Debug)]
pub struct Green {
    stack_size: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Settings {
    workers: usize,
    stack_size: usize,
    pin_workers: bool,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Settings for the green runtime; made by [`Green::builder`].
#[derive(Debug, Clone, Default)]
pub struct Builder {
    workers: Option<usize>,
    stack_size: Option<usize>,
    pin_workers: Option<bool>,
    #[cfg(feature = "patch")]
    patch: bool,
}

impl Builder {
    /// The number of may worker threads (default: one per CPU).
    pub fn workers(mut self, n: usize) -> Builder {
        self.workers = Some(n);
        self
    }

    /// The stack size of the coroutines of this handle's tasks, in bytes (default
    /// [`DEFAULT_STACK_SIZE`]). A task that needs more hits its stack's guard page, and the
    /// process aborts with a message that names this setting.
    ///
    /// Unlike the other settings this one is per handle: the first `build` also makes it
    /// the size whose stacks may's scheduler pools and reuses, and handles built later with
    /// another size spawn their tasks with that size (on stacks of their own).
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = Some(bytes);
        self
    }

    /// Whether to pin each worker thread to a CPU (default: `false`, the better choice on
    /// a machine shared with other busy processes).
    pub fn pin_workers(mut self, pin: bool) -> Builder {
        self.pin_workers = Some(pin);
        self
    }

    /// Whether `build` turns on the patching of libc's blocking socket and sleep calls
    /// ([`patch::enable`](crate::patch::enable), gevent's `monkey.patch_all()`): plain
    /// `std::net` code and `std::thread::sleep` on green threads then suspend only their
    /// coroutine. Process-wide and never turned off; for applications only. Default: `false`.
    ///
    /// ```no_run
    /// let rt = anyrt_green::Green::builder().patch(true).build()?;
    /// assert!(anyrt_green::patch::is_enabled());
    /// # drop(rt);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[cfg(feature = "patch")]
    pub fn patch(mut self, on: bool) -> Builder {
        self.patch = on;
        self
    }

    /// Configures and starts may's scheduler, or joins it if it already runs.
    ///
    /// # Errors
    ///
    /// * `InvalidInput` if a setting is out of range (no workers, a stack under 4 KiB), or
    ///   if the scheduler already runs with a different number of workers or pinning: it is
    ///   process-wide and cannot be reconfigured.
    /// * The OS error if may's scheduler cannot start (for instance `EMFILE` when no file
    ///   descriptor is left for its event loops); a later `build` tries again.
    /// * `Unsupported` if [`patch`](Builder::patch) was asked for and libc's calls cannot
    ///   be interposed in this process (see [`patch::enable`](crate::patch::enable)).
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::Runtime;
    /// use anyrt_green::Green;
    ///
    /// // Deep recursion wants a larger stack than the default.
    /// let rt = Green::builder().stack_size(8 << 20).build()?;
    /// assert_eq!(rt.stack_size(), 8 << 20);
    /// assert_eq!(rt.block_on(rt.spawn(async { 7 })).unwrap(), 7);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn build(self) -> io::Result<Green> {
        let invalid = |msg: String| io::Error::new(io::ErrorKind::InvalidInput, msg);
        if self.stack_size.is_some_and(|s| s < 4096) {
            return Err(invalid(
                "the coroutine stack size must be at least 4096 bytes".into(),
            ));
        }
        let wanted = Settings {
            workers: worker_threads(self.workers)?,
            stack_size: self.stack_size.unwrap_or(DEFAULT_STACK_SIZE),
            pin_workers: self.pin_workers.unwrap_or(false),
        };
        let running = *SETTINGS.get_or_init(|| {
            // `anyrt::implicit::sync`'s blocking calls park the coroutine, not the worker.
            anyrt_core::backend::register_coroutine_block_on(crate::poll_loop::block_on_coroutine);
            anyrt_core::backend::register_coroutine_slot(crate::poll_loop::implicit_slot);
            let cfg = may::config();
            cfg.set_workers(wanted.workers)
                // Coroutines of exactly this size reuse pooled stacks.
                .set_stack_size(wanted.stack_size / std::mem::size_of::<usize>());
            cfg.set_worker_pin(wanted.pin_workers);
            wanted
        });
        if self.workers.is_some_and(|w| w != running.workers)
            || self.pin_workers.is_some_and(|p| p != running.pin_workers)
        {
            return Err(invalid(format!(
                "may's scheduler is process-wide and already configured (workers = {}, \
                 pin_workers = {}); Green::builder() cannot change it",
                running.workers, running.pin_workers
            )));
        }
        crate::start::ensure_started()?;
        #[cfg(feature = "patch")]
        if self.patch {
            crate::patch::enable()?;
        }
        Ok(Green {
            stack_size: self.stack_size.unwrap_or(running.stack_size),
        })
    }
}

/// The number of may workers (once configured; one per CPU before).
pub(crate) fn workers() -> usize {
    SETTINGS
        .get()
        .map_or_else(|| worker_threads(None).unwrap_or(1), |s| s.workers)
}

/// The stack size may's scheduler was configured with.
pub(crate) fn stack_size() -> usize {
    SETTINGS.get().map_or(DEFAULT_STACK_SIZE, |s| s.stack_size)
}

impl Green {
    /// Joins the green runtime, configuring it with defaults if nothing has yet.
    ///
    /// If may's scheduler cannot start (no file descriptor left, say), the handle is still
    /// made, and every spawn on it reports the error through its `JoinHandle` (a
    /// [`JoinError`](anyrt_core::JoinError) whose message holds the OS error) until the
    /// scheduler can start; use [`Green::builder`] to get the error from `build` instead.
    pub fn new() -> Green {
        match Green::builder().build() {
            Ok(g) => g,
            // Settings left at their defaults never conflict and are never out of range:
            // this is a start-up error, which spawns report.
            Err(_) => Green {
                stack_size: stack_size(),
            },
        }
    }

    /// Settings for the runtime (effective only before it first starts).
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The coroutine stack size of this runtime's tasks, in bytes.
    pub fn stack_size(&self) -> usize {
        self.stack_size
    }
}

impl Default for Green {
    fn default() -> Green {
        Green::new()
    }
}

impl Runtime for Green {
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
        "green"
    }

    fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn::spawn_task(self.stack_size, future)
    }

    fn spawn_blocking<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        spawn::blocking(blocking::unblock(move || {
            #[cfg(feature = "tokio-context")]
            let _tokio = anyrt_core::backend::tokio_context::enter();
            catch_panic(f)
        }))
    }

    fn spawn_implicit<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        spawn::spawn_implicit(self.stack_size, f)
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        // A guard must never be held across a coroutine's suspension (it could be dropped
        // on another worker): on a coroutine the worker enters for good instead.
        #[cfg(feature = "tokio-context")]
        let _tokio = if may::coroutine::is_coroutine() {
            anyrt_core::backend::tokio_context::enter_for_good();
            None
        } else {
            anyrt_core::backend::tokio_context::enter()
        };
        crate::poll_loop::block_on(future)
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        Sleep::after(duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Sleep {
        Sleep::until(deadline)
    }

    fn tcp_listen<A: ToSocketAddrs>(
        &self,
        addr: A,
    ) -> impl Future<Output = io::Result<TcpListener>> + Send + use<A> {
        each_addr(self, addr, |a| async move { TcpListener::bind(a) })
    }

    fn tcp_connect<A: ToSocketAddrs>(
        &self,
        addr: A,
    ) -> impl Future<Output = io::Result<TcpStream>> + Send + use<A> {
        each_addr(self, addr, TcpStream::connect)
    }

    fn udp_bind<A: ToSocketAddrs>(
        &self,
        addr: A,
    ) -> impl Future<Output = io::Result<UdpSocket>> + Send + use<A> {
        each_addr(self, addr, |a| async move { UdpSocket::bind(a) })
    }

    fn tcp_listener_from_std(&self, listener: std::net::TcpListener) -> io::Result<TcpListener> {
        TcpListener::from_std(listener)
    }

    fn tcp_stream_from_std(&self, stream: std::net::TcpStream) -> io::Result<TcpStream> {
        TcpStream::from_std(stream)
    }

    fn udp_socket_from_std(&self, socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        UdpSocket::from_std(socket)
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
        crate::unix::UnixListener::from_std(listener)
    }

    #[cfg(unix)]
    fn unix_stream_from_std(
        &self,
        stream: std::os::unix::net::UnixStream,
    ) -> io::Result<crate::unix::UnixStream> {
        crate::unix::UnixStream::from_std(stream)
    }

    #[cfg(unix)]
    fn unix_datagram_from_std(
        &self,
        socket: std::os::unix::net::UnixDatagram,
    ) -> io::Result<crate::unix::UnixDatagram> {
        crate::unix::UnixDatagram::from_std(socket)
    }
}
