//! Async sockets on may's event loop.
//!
//! Every socket is registered with may's (edge-triggered) epoll through `may::io::CoIo`.
//! Reads and writes are non-blocking syscalls; on `WouldBlock` the future registers its
//! waker with the socket's [`Source`] and returns `Pending`. may lets exactly one
//! coroutine wait on a socket at a time (a second `wait_io` would overwrite and drop the
//! first), so a `Source` elects one waiter: the current green task itself when it has no
//! other socket to watch (the fast path: the task waits in `wait_io` like a raw may socket
//! call), otherwise the socket's helper coroutine (started on first need, then parked
//! between waits, so no wait allocates). When the socket reports readiness the waiter
//! steps down and wakes every registered waker.

use std::future::Future;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker, ready};

use may::io::{AsIoData, CoIo, WaitIo, WaitIoWaker};
use may::sync::Blocker;

use crate::poll_loop::{WAKER_BIT, lock, with_current};
use crate::spawn::spawn_coroutine;

/// Stack of the helper coroutines that wait on a socket for others: they only call
/// `wait_io` and wake wakers.
const HELPER_STACK: usize = 32 * 1024;

/// The helper coroutine of a socket.
#[derive(Default)]
struct Helper {
    spawned: bool,
    /// What it parks on between waits; set by the helper when it starts.
    blocker: Option<Arc<Blocker>>,
}

/// A socket something can wait on with may's `wait_io`.
pub(crate) trait IoWait: Send + Sync {
    /// Suspends the calling coroutine until the socket has an event; returns its flags.
    fn wait(&self) -> usize;
    /// A waker that makes a pending `wait` return.
    fn io_waker(&self) -> WaitIoWaker;
    /// Steps down as the socket's waiter and wakes every registered waker.
    fn release(&self);
}

/// A socket registered with may, plus the wakers waiting for it.
pub(crate) struct Source<T: AsRawFd> {
    // Boxed: may keeps pointers into it past our last use (see `drop`). `None` only
    // inside `drop`.
    io: Option<Box<CoIo<T>>>,
    /// `true` while one party (a task's loop or the helper) is elected to wait on `io`.
    waiting: AtomicBool,
    wakers: Mutex<Vec<Waker>>,
    /// The helper coroutine, once one was needed; it waits on `io` when `requested`.
    helper: Mutex<Helper>,
    requested: AtomicBool,
    /// Set when the owner drops the socket: the helper exits.
    closed: AtomicBool,
}

impl<T: AsRawFd + Send + Sync + 'static> Source<T> {
    fn new(io: T) -> io::Result<Arc<Self>> {
        let io = CoIo::new(io).map_err(io::Error::from)?;
        Ok(Arc::new(Source {
            io: Some(Box::new(io)),
            waiting: AtomicBool::new(false),
            wakers: Mutex::new(Vec::with_capacity(2)),
            helper: Mutex::new(Helper::default()),
            requested: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        }))
    }

    fn io(&self) -> &CoIo<T> {
        match self.io.as_deref() {
            Some(io) => io,
            // Taken only in `drop`, after which nothing can call this.
            None => unreachable!("socket used after drop"),
        }
    }

    fn get(&self) -> &T {
        self.io().inner()
    }

    /// Runs the non-blocking `op`; on `WouldBlock` registers `cx`'s waker.
    fn poll_io<R>(
        self: &Arc<Self>,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            self.clear_ready();
            match op(self.io().inner()) {
                Ok(v) => return Poll::Ready(Ok(v)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.register(cx.waker());
                    return Poll::Pending;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// Blocking-style IO (`anyrt::implicit`) from a coroutine outside any poll loop: the
    /// non-blocking `op`, and on `WouldBlock` a `wait_io` right here with this coroutine
    /// elected as the socket's waiter, as a may socket does. `None` when that cannot be done
    /// here (not on a coroutine, inside a poll, or another party already waits on the
    /// socket): the caller then takes the general path through `block_on`.
    fn direct<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> Option<io::Result<R>> {
        if !may::coroutine::is_coroutine() || with_current(|cur| cur.is_some()) {
            return None;
        }
        loop {
            self.clear_ready();
            match op(self.io().inner()) {
                Ok(v) => return Some(Ok(v)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if self.waiting.swap(true, Ordering::SeqCst) {
                        return None;
                    }
                    let aborted = crate::poll_loop::wait_direct(self);
                    // Steps down and passes the news on to anyone who registered meanwhile.
                    self.release();
                    if aborted {
                        crate::poll_loop::unwind_aborted();
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// Clears stale readiness bits before a syscall attempt, so an old edge (a fresh
    /// socket's write-ready one, say) is not taken for a new event. A pending
    /// `WaitIoWaker` bit is kept.
    fn clear_ready(&self) {
        let old = self
            .io()
            .as_io_data()
            .io_flag
            .fetch_and(WAKER_BIT, Ordering::AcqRel);
        if old & !WAKER_BIT != 0 && self.waiting.load(Ordering::SeqCst) {
            // The bits may have been news for another registered party (a writer when we
            // read): pass them on, the waiter re-elects itself if still needed.
            self.wake_all();
        }
    }

    fn register(self: &Arc<Self>, waker: &Waker) {
        {
            let mut ws = lock(&self.wakers);
            if !ws.iter().any(|w| w.will_wake(waker)) {
                ws.push(waker.clone());
            }
        }
        if !self.waiting.swap(true, Ordering::SeqCst) {
            let me: Arc<dyn IoWait> = self.clone();
            let declined = with_current(|cur| match cur {
                Some(owner) => owner.core().try_take_io_slot(me).is_err(),
                None => true,
            });
            if declined {
                self.request_helper();
            }
        }
    }

    /// Has the helper coroutine wait on the socket, starting it on first need.
    fn request_helper(self: &Arc<Self>) {
        let mut helper = lock(&self.helper);
        self.requested.store(true, Ordering::SeqCst);
        if helper.spawned {
            // Not yet parked (no blocker yet): it checks `requested` before it parks.
            if let Some(b) = &helper.blocker {
                b.unpark();
            }
            return;
        }
        let src = self.clone();
        match spawn_coroutine(HELPER_STACK, move || src.helper_loop()) {
            Ok(_) => helper.spawned = true,
            Err(_) => {
                // No coroutine to wait: wake everyone now, so they retry instead of hanging.
                drop(helper);
                self.requested.store(false, Ordering::SeqCst);
                self.release();
            }
        }
    }

    fn helper_loop(&self) {
        // A blocker of its own, not may's per-coroutine `park()`: the coroutine handle that
        // owns that one is dropped outside the coroutine when it ends, and if the final
        // unpark raced ahead of the park, may's `Park` spins forever waiting for itself.
        // This one is dropped inside the coroutine, where that wait can yield.
        let blocker = Arc::new(Blocker::new(false));
        lock(&self.helper).blocker = Some(blocker.clone());
        while !self.closed.load(Ordering::SeqCst) {
            if self.requested.swap(false, Ordering::SeqCst) {
                self.io().wait_io();
                self.release();
            } else {
                // A stale unpark only makes this return early; the loop re-checks.
                let _ = blocker.park(None);
            }
        }
    }

    fn wake_all(&self) {
        let mut ws = {
            let mut slot = lock(&self.wakers);
            if slot.is_empty() {
                return;
            }
            std::mem::take(&mut *slot)
        };
        for w in ws.drain(..) {
            w.wake();
        }
        let mut slot = lock(&self.wakers);
        if slot.is_empty() && slot.capacity() < ws.capacity() {
            // Keep the allocation for the next registration.
            *slot = ws;
        }
    }

    /// Called when the socket's owner drops it: a waiter still parked on it is kicked so
    /// it lets go, the helper exits, and the socket closes now.
    ///
    /// Others may still hold the `Source` for a moment (a task's loop that waited on it,
    /// the helper coroutine), and may's registration must outlive them; the socket itself
    /// must not. So unless this is the last reference (then dropping it closes everything
    /// in order), the descriptor number is pointed at a placeholder with `dup2`: that closes
    /// the socket at once (the port is free, the peer reads EOF, the kernel drops it from
    /// may's epoll), while the number stays taken, so no new socket can get it before may's
    /// late deregistration and close.
    fn close(self: &Arc<Self>) {
        self.closed.store(true, Ordering::SeqCst);
        if self.waiting.load(Ordering::SeqCst) {
            self.io().waker().wakeup();
        }
        if let Some(b) = &lock(&self.helper).blocker {
            b.unpark();
        }
        if Arc::strong_count(self) > 1 {
            self.close_fd_now();
        }
    }

    fn close_fd_now(&self) {
        let fd = self.io().as_raw_fd();
        let placeholder = crate::start::placeholder_fd();
        // SAFETY: `fd` is this socket's own open descriptor (owned by `io`, which closes it
        // later: by then it names the placeholder's duplicate); no other thread uses it any
        // more (its owner is being dropped, and waiters only park). `dup2` atomically
        // replaces what the number refers to; `shutdown` only ends the connection.
        unsafe {
            if placeholder.is_some_and(|p| libc::dup2(p, fd) >= 0) {
                return;
            }
            // No placeholder: at least the peer sees the end of the stream now.
            libc::shutdown(fd, libc::SHUT_RDWR);
        }
    }
}

impl<T: AsRawFd + Send + Sync + 'static> IoWait for Source<T> {
    fn wait(&self) -> usize {
        self.io().wait_io()
    }

    fn io_waker(&self) -> WaitIoWaker {
        self.io().waker()
    }

    fn release(&self) {
        self.waiting.store(false, Ordering::SeqCst);
        self.wake_all();
    }
}

impl<T: AsRawFd> Drop for Source<T> {
    fn drop(&mut self) {
        let Some(boxed) = self.io.take() else {
            return;
        };
        // may's `wait_io` hands the scheduler a reference to the `IoData` inside our
        // `CoIo`, and the scheduler reads through it *after* it has published the waiting
        // coroutine: another worker can resume that coroutine, which can drop the socket,
        // before the first worker is done (a crash seen in the churn test: the reference
        // read a zeroed `IoData`). So the registration and the descriptor go now, and the
        // memory that may may still read stays as it was for a grace period: the `CoIo`
        // is moved out of its box without touching the box, and the box, and may's event
        // data, are released later by the graveyard.
        let event = boxed.waker();
        let raw = Box::into_raw(boxed);
        // SAFETY: `raw` comes from `Box::into_raw` and holds an initialised `CoIo<T>`; the
        // value is read out exactly once here and never dropped in place: the graveyard
        // frees the allocation as `MaybeUninit<CoIo<T>>`, which drops nothing.
        let io = unsafe { std::ptr::read(raw) };
        // Deregister from may's epoll *before* the descriptor closes: `CoIo` itself closes
        // first, and a descriptor number reused by a new socket in between would lose its
        // registration to our late `EPOLL_CTL_DEL`. `into_inner` drops the registration
        // and hands back the still-open socket, which closes here, after it.
        drop(io.into_inner());
        graveyard::bury(graveyard::Grave::new(raw, event));
    }
}

/// Where the memory of closed sockets waits out its grace period (see `Source::drop`).
mod graveyard {
    use std::collections::VecDeque;
    use std::mem::MaybeUninit;
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    use may::io::{CoIo, WaitIoWaker};

    use crate::poll_loop::lock;

    /// Longer than any stall of a worker between may publishing a waiting coroutine and
    /// finishing with its `IoData` (a preempted thread waits a scheduler slice or a few).
    const GRACE: Duration = Duration::from_secs(1);

    /// A closed socket's `CoIo` allocation (its value moved out) and may's event data.
    pub(super) struct Grave {
        at: Instant,
        ptr: *mut u8,
        free: unsafe fn(*mut u8),
        _event: WaitIoWaker,
    }

    // SAFETY: `ptr` is an allocation nobody owns any more (its value was moved out); it
    // is only passed to `free`, once, from whichever thread drops the `Grave`.
    unsafe impl Send for Grave {}

    /// Frees the allocation of a `CoIo<T>` whose value was moved out.
    ///
    /// # Safety
    ///
    /// `p` comes from `Box::<CoIo<T>>::into_raw`, its value was moved out, and it is
    /// freed only once.
    unsafe fn free_moved<T: std::os::fd::AsRawFd>(p: *mut u8) {
        // SAFETY: per the contract; `MaybeUninit<CoIo<T>>` has `CoIo<T>`'s layout and
        // drops nothing.
        drop(unsafe { Box::from_raw(p.cast::<MaybeUninit<CoIo<T>>>()) });
    }

    impl Grave {
        /// `raw` must come from `Box::<CoIo<T>>::into_raw` with its value moved out.
        pub(super) fn new<T: std::os::fd::AsRawFd>(raw: *mut CoIo<T>, event: WaitIoWaker) -> Grave {
            Grave {
                at: Instant::now(),
                ptr: raw.cast::<u8>(),
                free: free_moved::<T>,
                _event: event,
            }
        }
    }

    impl Drop for Grave {
        fn drop(&mut self) {
            // SAFETY: `ptr` and `free` were paired by `Grave::new` (whose caller moved the
            // value out), and a `Grave` is dropped once.
            unsafe { (self.free)(self.ptr) }
        }
    }

    static GRAVES: Mutex<VecDeque<Grave>> = Mutex::new(VecDeque::new());

    /// Keeps `grave` for the grace period; frees those whose period is over.
    pub(super) fn bury(grave: Grave) {
        let mut expired = Vec::new();
        {
            let mut graves = lock(&GRAVES);
            let now = grave.at;
            while graves
                .front()
                .is_some_and(|g| now.duration_since(g.at) >= GRACE)
            {
                expired.extend(graves.pop_front());
            }
            graves.push_back(grave);
        }
        drop(expired);
    }
}

impl<T: AsRawFd> std::fmt::Debug for Source<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("fd", &self.io.as_deref().map(|io| io.as_raw_fd()))
            .finish_non_exhaustive()
    }
}

/// The Green backend's TCP listener.
#[derive(Debug)]
pub struct TcpListener {
    src: Arc<Source<std::net::TcpListener>>,
}

impl TcpListener {
    pub(crate) fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
        Ok(TcpListener {
            src: Source::new(anyrt_core::backend::bind_tcp_listener(addr)?)?,
        })
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        self.src.close();
    }
}

impl anyrt_core::net::TcpListener for TcpListener {
    type Stream = TcpStream;

    fn accept(&self) -> impl Future<Output = io::Result<(TcpStream, SocketAddr)>> + Send + '_ {
        std::future::poll_fn(move |cx| {
            let (s, addr) = ready!(self.src.poll_io(cx, |l| l.accept()))?;
            Poll::Ready(Ok((TcpStream::new(s)?, addr)))
        })
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.src.get().local_addr()
    }
}

/// The Green backend's TCP stream: futures-io `AsyncRead` + `AsyncWrite`.
#[derive(Debug)]
pub struct TcpStream {
    src: Arc<Source<std::net::TcpStream>>,
}

impl TcpStream {
    fn new(s: std::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            src: Source::new(s)?,
        })
    }

    /// Connects without blocking the task: a non-blocking `connect`, then a wait for the
    /// socket to become writable.
    pub(crate) async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
        use socket2::{Domain, Socket, Type};
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
        socket.set_nonblocking(true)?;
        match socket.connect(&addr.into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err(e),
        }
        let stream = TcpStream::new(socket.into())?;
        std::future::poll_fn(|cx| {
            stream.src.poll_io(cx, |s| {
                if let Some(e) = s.take_error()? {
                    return Err(e);
                }
                match s.peer_addr() {
                    Ok(_) => Ok(()),
                    // Still in progress.
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                        Err(io::ErrorKind::WouldBlock.into())
                    }
                    Err(e) => Err(e),
                }
            })
        })
        .await?;
        Ok(stream)
    }
}

impl Drop for TcpStream {
    fn drop(&mut self) {
        self.src.close();
    }
}

impl anyrt_core::net::TcpStream for TcpStream {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.src.get().peer_addr()
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.src.get().local_addr()
    }

    fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.src.get().set_nodelay(on)
    }

    fn nodelay(&self) -> io::Result<bool> {
        self.src.get().nodelay()
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.src.get().shutdown(how)
    }

    fn direct_blocking_read(&self, buf: &mut [u8]) -> Option<io::Result<usize>> {
        self.src.direct(|mut s| s.read(buf))
    }

    fn direct_blocking_write(&self, buf: &[u8]) -> Option<io::Result<usize>> {
        self.src.direct(|mut s| s.write(buf))
    }
}

impl futures_io::AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.src.poll_io(cx, |mut s| s.read(buf))
    }
}

impl futures_io::AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.src.poll_io(cx, |mut s| s.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.src.poll_io(cx, |mut s| s.write_vectored(bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Writes go straight to the socket: nothing is buffered here.
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.src.get().shutdown(Shutdown::Write))
    }
}

/// The Green backend's UDP socket.
#[derive(Debug)]
pub struct UdpSocket {
    src: Arc<Source<std::net::UdpSocket>>,
}

impl UdpSocket {
    pub(crate) fn bind(addr: SocketAddr) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            src: Source::new(std::net::UdpSocket::bind(addr)?)?,
        })
    }
}

impl Drop for UdpSocket {
    fn drop(&mut self) {
        self.src.close();
    }
}

impl anyrt_core::net::UdpSocket for UdpSocket {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.src.get().local_addr()
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.src.get().peer_addr()
    }

    fn send_to(
        &self,
        buf: &[u8],
        target: SocketAddr,
    ) -> impl Future<Output = io::Result<usize>> + Send {
        std::future::poll_fn(move |cx| self.src.poll_io(cx, |s| s.send_to(buf, target)))
    }

    fn recv_from(
        &self,
        buf: &mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SocketAddr)>> + Send {
        std::future::poll_fn(move |cx| self.src.poll_io(cx, |s| s.recv_from(buf)))
    }

    fn connect(&self, addr: SocketAddr) -> impl Future<Output = io::Result<()>> + Send {
        // A UDP connect only sets the default peer: it never blocks.
        std::future::ready(self.src.get().connect(addr))
    }

    fn send(&self, buf: &[u8]) -> impl Future<Output = io::Result<usize>> + Send {
        std::future::poll_fn(move |cx| self.src.poll_io(cx, |s| s.send(buf)))
    }

    fn recv(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send {
        std::future::poll_fn(move |cx| self.src.poll_io(cx, |s| s.recv(buf)))
    }
}
