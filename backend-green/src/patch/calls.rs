//! What the interposed calls do: route each call (pass through, or emulate blocking on a
//! coroutine or on an OS thread), wait on may's event loop, keep the per-descriptor state.

use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use libc::{EAGAIN, EBADF, ECANCELED, EINPROGRESS, c_int};
use may::sync::Blocker;

use super::table::{
    self, CLOSING, HANDOVER, KNOWN, MANAGED, PatchFd, REAL_BLOCKING, REGISTERED, SHARED_BITS, SOCK,
    STREAM, Slot, USER_NB,
};
use super::{in_patch, inside, is_enabled, real};
use crate::poll_loop::block_on_stoppable;
use crate::poll_loop::lock;
use crate::source::Source;

/// How long a close waits for the calls in progress on its descriptor to leave.
const CLOSE_PATIENCE: Duration = Duration::from_secs(5);
/// The longest pause between two looks of a `poll` that cannot wait on may's loop.
const POLL_STEP_MAX: Duration = Duration::from_millis(16);

pub(super) fn errno() -> c_int {
    // SAFETY: glibc's per-thread errno location is always valid for the calling thread.
    unsafe { *libc::__errno_location() }
}

pub(super) fn set_errno(e: c_int) {
    // SAFETY: as in `errno`.
    unsafe { *libc::__errno_location() = e }
}

/// On one of may's coroutines, outside the patch's own calls.
fn coroutine_here() -> bool {
    !in_patch() && may::coroutine::is_coroutine()
}

/// Why an emulated call failed.
pub(super) enum Fail {
    /// With this errno.
    Errno(c_int),
    /// Its deadline (`SO_RCVTIMEO`, `SO_SNDTIMEO`, a poll's timeout) passed.
    TimedOut,
}

impl Fail {
    fn from_io(e: &io::Error) -> Fail {
        match e.raw_os_error() {
            Some(n) => Fail::Errno(n),
            None if e.kind() == io::ErrorKind::TimedOut => Fail::TimedOut,
            // A cancellation of the implicit thread (the only other error made here).
            None => Fail::Errno(ECANCELED),
        }
    }
}

/// The C return of an emulated call: the value, or -1 with errno set (`timeout` for a
/// deadline that passed).
pub(super) fn c_result(r: Result<isize, Fail>, timeout: c_int) -> isize {
    match r {
        Ok(v) => v,
        Err(Fail::Errno(e)) => {
            set_errno(e);
            -1
        }
        Err(Fail::TimedOut) => {
            set_errno(timeout);
            -1
        }
    }
}

/// Where a call on a descriptor goes.
pub(super) enum Route {
    /// To libc, untouched.
    Real,
    /// Emulated blocking on this coroutine.
    Coroutine(&'static Slot),
    /// Emulated blocking on this OS thread (a managed socket used outside coroutines).
    Thread(&'static Slot),
}

pub(super) fn route(fd: c_int) -> Route {
    if !is_enabled() {
        return Route::Real;
    }
    let slot = match table::get(fd) {
        Some(slot) => slot,
        None if coroutine_here() => match table::get_or_make(fd) {
            Some(slot) => slot,
            None => return Route::Real,
        },
        None => return Route::Real,
    };
    let mut state = slot.state();
    if state & KNOWN == 0 {
        if !coroutine_here() {
            return Route::Real;
        }
        state = classify(fd, slot);
    }
    if state & (MANAGED | USER_NB) != MANAGED || in_patch() {
        return Route::Real;
    }
    if may::coroutine::is_coroutine() {
        Route::Coroutine(slot)
    } else {
        Route::Thread(slot)
    }
}

/// Looks at a descriptor first met on a coroutine: a socket in blocking mode becomes
/// managed (non-blocking for real); anything else passes through from now on.
fn classify(fd: c_int, slot: &Slot) -> u32 {
    let saved = errno();
    let state = look_at(fd, slot);
    set_errno(saved);
    if state == 0 {
        return 0;
    }
    match slot.state.compare_exchange(0, state, SeqCst, SeqCst) {
        Ok(_) => state,
        Err(now) => now,
    }
}

fn look_at(fd: c_int, slot: &Slot) -> u32 {
    // SAFETY: `stat` is plain data; an all-zero value is valid and `fstat` fills it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid out-pointer; a bad `fd` only makes `fstat` fail.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return 0;
    }
    if st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return KNOWN;
    }
    let ty = sockopt_int(fd, libc::SO_TYPE).unwrap_or(0);
    // SAFETY: F_GETFL takes no argument.
    let flags = unsafe { real::fcntl(fd, libc::F_GETFL, 0) };
    if flags < 0 {
        return 0;
    }
    if flags & libc::O_NONBLOCK != 0 {
        return KNOWN | SOCK | USER_NB;
    }
    slot.recv_timeout
        .store(sockopt_timeout(fd, libc::SO_RCVTIMEO), SeqCst);
    slot.send_timeout
        .store(sockopt_timeout(fd, libc::SO_SNDTIMEO), SeqCst);
    // SAFETY: F_SETFL takes an int of flags.
    if unsafe { real::fcntl(fd, libc::F_SETFL, (flags | libc::O_NONBLOCK) as usize) } < 0 {
        return 0;
    }
    KNOWN | SOCK | MANAGED | if ty == libc::SOCK_STREAM { STREAM } else { 0 }
}

fn sockopt_int(fd: c_int, name: c_int) -> Option<c_int> {
    let mut v: c_int = 0;
    let mut len = size_of::<c_int>() as libc::socklen_t;
    // SAFETY: `v` and `len` are valid out-pointers of the sizes given.
    let r = unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, name, (&raw mut v).cast(), &mut len) };
    (r == 0).then_some(v)
}

/// A socket timeout option in microseconds (0: none).
fn sockopt_timeout(fd: c_int, name: c_int) -> u64 {
    let mut tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 0,
    };
    let mut len = size_of::<libc::timeval>() as libc::socklen_t;
    // SAFETY: `tv` and `len` are valid out-pointers of the sizes given.
    let r = unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, name, (&raw mut tv).cast(), &mut len) };
    if r != 0 {
        return 0;
    }
    timeval_us(&tv)
}

pub(super) fn timeval_us(tv: &libc::timeval) -> u64 {
    let sec = u64::try_from(tv.tv_sec).unwrap_or(0);
    let usec = u64::try_from(tv.tv_usec).unwrap_or(0);
    sec.saturating_mul(1_000_000).saturating_add(usec)
}

/// The descriptor's registration with may, made on first need. `None` if it cannot be
/// registered (another registration of the same number, no memory).
fn source(slot: &Slot, fd: c_int) -> Option<Arc<Source<PatchFd>>> {
    let mut held = lock(&slot.source);
    if let Some(src) = &*held {
        return Some(src.clone());
    }
    let saved = errno();
    let made = inside(|| {
        Source::new(PatchFd {
            fd,
            close_on_drop: false.into(),
        })
    });
    set_errno(saved);
    let src = made.ok()?;
    *held = Some(src.clone());
    slot.state.fetch_or(REGISTERED, SeqCst);
    Some(src)
}

/// Counts a call in progress on a slot (a close waits for it).
struct Busy(&'static Slot);

impl Busy {
    fn enter(slot: &'static Slot) -> Busy {
        slot.busy.fetch_add(1, SeqCst);
        Busy(slot)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, SeqCst);
    }
}

/// One non-blocking attempt: `op` returns the syscall's result, -1 with errno on failure.
fn attempt(slot: &Slot, op: &mut dyn FnMut() -> isize) -> io::Result<isize> {
    if slot.state() & CLOSING != 0 {
        return Err(io::Error::from_raw_os_error(EBADF));
    }
    let r = op();
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn would_block(r: &io::Result<isize>) -> bool {
    matches!(r, Err(e) if e.kind() == io::ErrorKind::WouldBlock)
}

/// Emulates a blocking call with the non-blocking `op`: tries it, and while it would
/// block, waits for the socket (on this coroutine, or with the real `poll` on an OS thread)
/// until `timeout` after the first wait.
pub(super) fn blocking(
    route: &Route,
    fd: c_int,
    timeout: Option<Duration>,
    write: bool,
    mut op: impl FnMut() -> isize,
) -> Result<isize, Fail> {
    match *route {
        Route::Coroutine(slot) => on_coroutine(slot, fd, timeout, write, &mut op),
        Route::Thread(slot) => on_thread(slot, fd, timeout, write, &mut op),
        Route::Real => {
            let r = op();
            if r < 0 {
                Err(Fail::Errno(errno()))
            } else {
                Ok(r)
            }
        }
    }
}

fn on_coroutine(
    slot: &'static Slot,
    fd: c_int,
    timeout: Option<Duration>,
    write: bool,
    op: &mut dyn FnMut() -> isize,
) -> Result<isize, Fail> {
    // A registered socket's read goes as may's own do: readiness cleared, then the call,
    // then the wait. A write, or any call on a socket not yet registered, is tried first
    // with nothing else done: most never wait.
    let registered = slot.state() & REGISTERED != 0;
    let tried = !registered || write;
    if tried {
        let first = attempt(slot, op);
        if !would_block(&first) {
            return first.map_err(|e| Fail::from_io(&e));
        }
    }
    // Counted from here: a close waits for the calls that wait on the socket.
    let _busy = Busy::enter(slot);
    let deadline = timeout.map(|t| Instant::now() + t);
    let Some(src) = source(slot, fd) else {
        // No registration to wait on: look again after short sleeps.
        return stepped(deadline, || attempt(slot, op)).map_err(|e| Fail::from_io(&e));
    };
    if deadline.is_none() {
        // Just tried: wait first. Registering reports a socket that became ready since the
        // call, and a registered one reports its next edge (a stale one costs one more try).
        match src.direct_stoppable(!tried, |_| attempt(slot, op)) {
            Some(Ok(r)) => return r.map_err(|e| Fail::from_io(&e)),
            Some(Err(_)) => return Err(Fail::Errno(ECANCELED)),
            // Another coroutine waits on the socket: wait through the poll loop.
            None => {}
        }
    }
    let io = std::future::poll_fn(|cx| src.poll_io(cx, |_| attempt(slot, op)));
    let waited = block_on_stoppable(anyrt_core::backend::interruptible(until(deadline, io)));
    drop(src);
    match waited {
        Some(r) => r.map_err(|e| Fail::from_io(&e)),
        None => Err(Fail::Errno(ECANCELED)),
    }
}

/// `io`, or a `TimedOut` error at `deadline`.
async fn until<T>(
    deadline: Option<Instant>,
    io: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    let mut io = pin!(io);
    let Some(deadline) = deadline else {
        return io.await;
    };
    let mut sleep = pin!(crate::time::Sleep::until(deadline));
    std::future::poll_fn(|cx| {
        if let Poll::Ready(r) = io.as_mut().poll(cx) {
            return Poll::Ready(r);
        }
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::ErrorKind::TimedOut.into())),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// Tries `op` after pauses of 1, 2, 4 … 16 ms until it does not block or `deadline`
/// passes: for waits may's loop cannot do (several descriptors, no registration).
fn stepped(
    deadline: Option<Instant>,
    mut op: impl FnMut() -> io::Result<isize>,
) -> io::Result<isize> {
    let mut step = Duration::from_millis(1);
    loop {
        let mut pause = step;
        if let Some(d) = deadline {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            pause = pause.min(left);
        }
        if !sleep_here(pause) {
            return Err(io::Error::from_raw_os_error(ECANCELED));
        }
        let r = op();
        if !would_block(&r) {
            return r;
        }
        step = (step * 2).min(POLL_STEP_MAX);
    }
}

fn on_thread(
    slot: &'static Slot,
    fd: c_int,
    timeout: Option<Duration>,
    write: bool,
    op: &mut dyn FnMut() -> isize,
) -> Result<isize, Fail> {
    let _busy = Busy::enter(slot);
    let mut deadline = None;
    loop {
        let r = attempt(slot, op);
        if !would_block(&r) {
            return r.map_err(|e| Fail::from_io(&e));
        }
        let deadline = *deadline.get_or_insert_with(|| timeout.map(|t| Instant::now() + t));
        let ms = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(Fail::TimedOut);
                }
                // Rounded up: never wake before the deadline.
                c_int::try_from(left.as_micros().div_ceil(1000)).unwrap_or(c_int::MAX)
            }
        };
        let mut p = libc::pollfd {
            fd,
            events: if write { libc::POLLOUT } else { libc::POLLIN },
            revents: 0,
        };
        // SAFETY: one valid `pollfd`.
        unsafe { real::poll(&mut p, 1, ms) };
    }
}

/// Sleeps the current coroutine for `d`; `false` if its implicit thread was cancelled or
/// its task aborted meanwhile.
fn sleep_here(d: Duration) -> bool {
    let sleep = async {
        crate::time::Sleep::after(d).await;
        Ok(())
    };
    matches!(
        block_on_stoppable(anyrt_core::backend::interruptible(sleep)),
        Some(Ok(()))
    )
}

/// A sleep of a coroutine (`nanosleep` and friends): `false` when the call must go to libc
/// (not on a coroutine, patch off). A cancelled implicit thread's sleep ends early.
pub(super) fn sleep(d: Duration) -> bool {
    if !is_enabled() || !coroutine_here() {
        return false;
    }
    // Far enough for any sleep; keeps `Instant` arithmetic in range.
    sleep_here(d.min(Duration::from_secs(100 * 365 * 86_400)));
    true
}

/// A stream socket's blocking send: `send_from(offset)` sends what is left from `offset`;
/// repeated until `total` bytes went (a datagram socket's goes once). A partial count is
/// returned after a failure that follows some progress, as the kernel does.
pub(super) fn send_all(
    route: &Route,
    fd: c_int,
    total: usize,
    mut send_from: impl FnMut(usize) -> isize,
) -> isize {
    let (Route::Coroutine(slot) | Route::Thread(slot)) = *route else {
        return send_from(0);
    };
    let stream = slot.state() & STREAM != 0;
    let timeout = slot.timeout(true);
    let mut done = 0usize;
    loop {
        match blocking(route, fd, timeout, true, || send_from(done)) {
            Ok(n) => {
                done += n.unsigned_abs();
                if !stream || done >= total || n == 0 {
                    return isize::try_from(done).unwrap_or(isize::MAX);
                }
            }
            Err(fail) if done == 0 => return c_result(Err(fail), EAGAIN),
            Err(_) => return isize::try_from(done).unwrap_or(isize::MAX),
        }
    }
}

/// What is left of `iov` after its first `offset` bytes.
pub(super) fn iov_from(iov: &[libc::iovec], mut offset: usize) -> Vec<libc::iovec> {
    let mut rest = Vec::with_capacity(iov.len());
    for v in iov {
        if offset >= v.iov_len {
            offset -= v.iov_len;
            continue;
        }
        rest.push(libc::iovec {
            // Within the buffer: `offset < iov_len`.
            iov_base: v.iov_base.cast::<u8>().wrapping_add(offset).cast(),
            iov_len: v.iov_len - offset,
        });
        offset = 0;
    }
    rest
}

/// Sets `O_NONBLOCK` again on a socket handed to a child process in blocking mode, before
/// a call whose real form depends on it (`accept`, `connect`).
fn nonblocking_again(slot: &Slot, fd: c_int) {
    if slot.state() & REAL_BLOCKING != 0 {
        // SAFETY: F_GETFL takes no argument, F_SETFL an int of flags.
        unsafe {
            let flags = real::fcntl(fd, libc::F_GETFL, 0);
            if flags >= 0 {
                real::fcntl(fd, libc::F_SETFL, (flags | libc::O_NONBLOCK) as usize);
            }
        }
        slot.state.fetch_and(!REAL_BLOCKING, SeqCst);
    }
}

/// `accept`/`accept4` with the user's `flags`; `op(flags)` is the real call.
pub(super) fn accept(fd: c_int, flags: c_int, mut op: impl FnMut(c_int) -> c_int) -> c_int {
    let route = route(fd);
    let new = match route {
        Route::Real => op(flags),
        Route::Coroutine(slot) | Route::Thread(slot) => {
            nonblocking_again(slot, fd);
            let on_coroutine = matches!(route, Route::Coroutine(_));
            // On a coroutine the new socket is non-blocking from birth.
            let asked = if on_coroutine {
                flags | libc::SOCK_NONBLOCK
            } else {
                flags
            };
            let r = blocking(&route, fd, slot.timeout(false), false, || {
                op(asked) as isize
            });
            let new = c_result(r, EAGAIN) as c_int;
            if new >= 0 && on_coroutine {
                adopt_accepted(slot, new, flags);
                return new;
            }
            new
        }
    };
    if new >= 0 {
        forget(new);
    }
    new
}

/// Records a socket accepted on a coroutine (asked non-blocking from the kernel).
fn adopt_accepted(listener: &Slot, new: c_int, flags: c_int) {
    let Some(slot) = table::get_or_make(new) else {
        // Beyond the table: give the user the mode they asked for.
        if flags & libc::SOCK_NONBLOCK == 0 {
            set_blocking_for_real(new);
        }
        return;
    };
    if flags & libc::SOCK_NONBLOCK != 0 {
        slot.reset(KNOWN | SOCK | USER_NB);
        return;
    }
    slot.reset(KNOWN | SOCK | MANAGED | (listener.state() & STREAM));
    // Linux copies a listener's options, timeouts included, to what it accepts.
    slot.recv_timeout
        .store(listener.recv_timeout.load(SeqCst), SeqCst);
    slot.send_timeout
        .store(listener.send_timeout.load(SeqCst), SeqCst);
}

fn set_blocking_for_real(fd: c_int) {
    let saved = errno();
    // SAFETY: F_GETFL takes no argument, F_SETFL an int of flags.
    unsafe {
        let flags = real::fcntl(fd, libc::F_GETFL, 0);
        if flags >= 0 {
            real::fcntl(fd, libc::F_SETFL, (flags & !libc::O_NONBLOCK) as usize);
        }
    }
    set_errno(saved);
}

/// Forgets what the table knew of a number that a new descriptor just got.
pub(super) fn forget(fd: c_int) {
    if let Some(slot) = table::get(fd)
        && slot.state() != 0
    {
        slot.reset(0);
    }
}

/// `socket(domain, ty, proto)`; `op(ty)` is the real call.
pub(super) fn socket(ty: c_int, op: impl FnOnce(c_int) -> c_int) -> c_int {
    if !is_enabled() {
        return op(ty);
    }
    if ty & libc::SOCK_NONBLOCK != 0 || !coroutine_here() {
        let fd = op(ty);
        if fd >= 0 {
            forget(fd);
        }
        return fd;
    }
    let fd = op(ty | libc::SOCK_NONBLOCK);
    if fd < 0 {
        return fd;
    }
    let base = ty & !(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC);
    match table::get_or_make(fd) {
        Some(slot) => {
            slot.reset(KNOWN | SOCK | MANAGED | if base == libc::SOCK_STREAM { STREAM } else { 0 })
        }
        None => set_blocking_for_real(fd),
    }
    fd
}

/// `connect`; `op()` is the real call.
pub(super) fn connect(fd: c_int, mut op: impl FnMut() -> c_int) -> c_int {
    let route = route(fd);
    let (Route::Coroutine(slot) | Route::Thread(slot)) = route else {
        return op();
    };
    nonblocking_again(slot, fd);
    let r = op();
    if r == 0 || errno() != EINPROGRESS {
        return r;
    }
    // In progress: wait until the socket is writable, then ask how it went.
    let waited = blocking(&route, fd, slot.timeout(true), true, || {
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: one valid `pollfd`.
        match unsafe { real::poll(&mut p, 1, 0) } {
            0 => {
                set_errno(EAGAIN);
                -1
            }
            n => n as isize,
        }
    });
    // A deadline leaves the connect in progress, as the kernel's own timeout does.
    if c_result(waited, EINPROGRESS) < 0 {
        return -1;
    }
    match sockopt_int(fd, libc::SO_ERROR) {
        Some(0) => 0,
        Some(e) => {
            set_errno(e);
            -1
        }
        None => -1,
    }
}

/// `poll` on a coroutine: a single socket waits on may's loop, anything else is looked at
/// after short sleeps. `None` when the call goes to libc as it is.
pub(super) fn poll(fds: &mut [libc::pollfd], timeout_ms: c_int) -> Option<c_int> {
    if !is_enabled() || timeout_ms == 0 || !coroutine_here() {
        return None;
    }
    let nfds = fds.len() as libc::nfds_t;
    // SAFETY: `fds` is a valid slice of `pollfd`s.
    let now = unsafe { real::poll(fds.as_mut_ptr(), nfds, 0) };
    if now != 0 {
        return Some(now);
    }
    let deadline = u64::try_from(timeout_ms)
        .ok()
        .map(|ms| Instant::now() + Duration::from_millis(ms));
    let single = match fds.len() {
        1 => socket_slot(fds[0].fd),
        _ => None,
    };
    let mut look = || -> io::Result<isize> {
        // SAFETY: as above.
        match unsafe { real::poll(fds.as_mut_ptr(), nfds, 0) } {
            0 => Err(io::ErrorKind::WouldBlock.into()),
            n if n < 0 => Err(io::Error::last_os_error()),
            n => Ok(n as isize),
        }
    };
    let r = match single {
        Some((slot, fd)) => match source(slot, fd) {
            Some(src) => {
                let _busy = Busy::enter(slot);
                let mut wait = || {
                    if slot.state() & CLOSING != 0 {
                        // Closed under the poll: as the kernel reports a closed descriptor.
                        return Ok(1);
                    }
                    look()
                };
                let io = std::future::poll_fn(|cx| src.poll_io(cx, |_| wait()));
                let waited =
                    block_on_stoppable(anyrt_core::backend::interruptible(until(deadline, io)));
                waited.unwrap_or_else(|| Err(io::Error::from_raw_os_error(ECANCELED)))
            }
            None => stepped(deadline, look),
        },
        None => stepped(deadline, look),
    };
    Some(match r {
        Ok(n) => n as c_int,
        Err(e) if e.kind() == io::ErrorKind::TimedOut && e.raw_os_error().is_none() => 0,
        Err(e) => {
            set_errno(e.raw_os_error().unwrap_or(ECANCELED));
            -1
        }
    })
}

/// The slot of `fd` if it is a socket (looked at now if it was never met).
fn socket_slot(fd: c_int) -> Option<(&'static Slot, c_int)> {
    let slot = table::get_or_make(fd)?;
    let mut state = slot.state();
    if state & KNOWN == 0 {
        state = classify(fd, slot);
    }
    (state & SOCK != 0).then_some((slot, fd))
}

/// `getaddrinfo` on a coroutine: run by a blocking-pool thread while the coroutine waits
/// (the resolver's own socket calls are libc-internal, and its stack frames are large).
/// `None` when the call goes to libc here.
pub(super) fn resolve(call: impl FnOnce() -> c_int + Send + 'static) -> Option<c_int> {
    if !is_enabled() || !coroutine_here() {
        return None;
    }
    struct Answer {
        out: Mutex<Option<(c_int, c_int)>>,
        blocker: Blocker,
    }
    let answer = Arc::new(Answer {
        out: Mutex::new(None),
        // Made here, on the coroutine that parks on it; may's own cancellation ignored:
        // the pool thread writes into the caller's memory, so the caller waits for it.
        blocker: Blocker::new(true),
    });
    let theirs = answer.clone();
    blocking::unblock(move || {
        let r = call();
        *lock(&theirs.out) = Some((r, errno()));
        theirs.blocker.unpark();
    })
    .detach();
    loop {
        if let Some((r, e)) = lock(&answer.out).take() {
            set_errno(e);
            return Some(r);
        }
        let _ = answer.blocker.park(None);
    }
}

/// `close(fd)`; `op()` is the real close.
pub(super) fn close(fd: c_int, op: impl FnOnce() -> c_int) -> c_int {
    if !is_enabled() {
        return op();
    }
    let Some(slot) = table::get(fd) else {
        return op();
    };
    if slot.state() == 0 {
        return op();
    }
    if retire(fd, slot, true) {
        return 0;
    }
    op()
}

/// Ends the patch's hold on `fd` before it is closed or replaced: calls in progress on it
/// fail with `EBADF`, its registration goes (before the real close: a late removal could
/// hit a new descriptor with the same number). `true` if the number was pointed at a
/// placeholder instead (a waiter still holds the registration for a moment; the
/// placeholder closes with it), so the real close must not happen (`keep_number`).
fn retire(fd: c_int, slot: &'static Slot, keep_number: bool) -> bool {
    let state = slot.state.fetch_or(CLOSING, SeqCst);
    if state & (MANAGED | REGISTERED) == 0 {
        slot.reset(0);
        return false;
    }
    let src = lock(&slot.source).clone();
    let started = Instant::now();
    while slot.busy.load(SeqCst) > 0 && started.elapsed() < CLOSE_PATIENCE {
        if let Some(src) = &src {
            src.wake_waiters();
        }
        if coroutine_here() {
            may::coroutine::yield_now();
        } else {
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    drop(src);
    let src = lock(&slot.source).take();
    slot.reset(0);
    let Some(src) = src else {
        return false;
    };
    src.let_go();
    if keep_number
        && Arc::strong_count(&src) > 1
        && let Some(placeholder) = crate::start::placeholder_fd()
        // SAFETY: both are open descriptors; the number now names the placeholder.
        && unsafe { real::dup2(placeholder, fd) } >= 0
    {
        src.get().close_on_drop.store(true, SeqCst);
        return true;
    }
    // The last holder (now or in a moment) deregisters it.
    drop(src);
    false
}

/// `dup2`/`dup3(old, new)`; `op()` is the real call.
pub(super) fn dup_onto(old: c_int, new: c_int, op: impl FnOnce() -> c_int) -> c_int {
    if !is_enabled() || old == new {
        return op();
    }
    if let Some(slot) = table::get(new)
        && slot.state() != 0
    {
        retire(new, slot, false);
    }
    let r = op();
    if r >= 0 {
        copy_state(old, r);
    }
    r
}

/// A duplicate `new` of `old` (dup, F_DUPFD): same open file description, same mode.
pub(super) fn copy_state(old: c_int, new: c_int) {
    if !is_enabled() {
        return;
    }
    let from = table::get(old).filter(|s| s.state() & SHARED_BITS != 0);
    let Some(from) = from else {
        forget(new);
        return;
    };
    let state = from.state() & SHARED_BITS;
    if let Some(to) = table::get_or_make(new) {
        to.reset(state);
        to.recv_timeout
            .store(from.recv_timeout.load(SeqCst), SeqCst);
        to.send_timeout
            .store(from.send_timeout.load(SeqCst), SeqCst);
    }
}

/// The user sets (`true`) or clears `O_NONBLOCK` (fcntl F_SETFL, ioctl FIONBIO). Returns
/// `true` if the patch took the call (the descriptor stays non-blocking for real); `false`
/// when the real call must be made (and then [`after_mode_set`]).
pub(super) fn set_mode(fd: c_int, nonblocking: bool) -> bool {
    if !is_enabled() || in_patch() {
        return false;
    }
    let Some(slot) = table::get(fd) else {
        return false;
    };
    if slot.state() & MANAGED == 0 {
        return false;
    }
    nonblocking_again(slot, fd);
    if nonblocking {
        slot.state.fetch_or(USER_NB, SeqCst);
    } else {
        slot.state.fetch_and(!USER_NB, SeqCst);
    }
    true
}

/// After a real change of `O_NONBLOCK` on a descriptor the patch does not manage.
pub(super) fn after_mode_set(fd: c_int, nonblocking: bool) {
    if !is_enabled() || in_patch() {
        return;
    }
    if nonblocking {
        if let Some(slot) = table::get_or_make(fd) {
            slot.state.store(KNOWN | USER_NB, SeqCst);
        }
    } else {
        // Looked at again when a coroutine uses it.
        forget(fd);
    }
}

/// The user's view of `F_GETFL` flags `real` of `fd`.
pub(super) fn user_flags(fd: c_int, real: c_int) -> c_int {
    if real < 0 || !is_enabled() || in_patch() {
        return real;
    }
    match table::get(fd) {
        Some(slot) if slot.state() & (MANAGED | USER_NB) == MANAGED => real & !libc::O_NONBLOCK,
        _ => real,
    }
}

/// Records `SO_RCVTIMEO`/`SO_SNDTIMEO` set on `fd` (microseconds).
pub(super) fn timeout_set(fd: c_int, send: bool, us: u64) {
    if !is_enabled() {
        return;
    }
    if let Some(slot) = table::get(fd)
        && slot.state() != 0
    {
        if send {
            &slot.send_timeout
        } else {
            &slot.recv_timeout
        }
        .store(us, SeqCst);
    }
}

/// Marks `fd` as named in a `posix_spawn` dup2 action.
pub(super) fn named_for_spawn(fd: c_int) {
    if !is_enabled() {
        return;
    }
    if let Some(slot) = table::get(fd)
        && slot.state() & MANAGED != 0
    {
        slot.state.fetch_or(HANDOVER, SeqCst);
    }
}

/// Before a new program starts (exec, posix_spawn): every managed socket it will inherit
/// goes to it in blocking mode, as its user set it. The open file description is shared,
/// so this process's calls on it pass `MSG_DONTWAIT` from now on (as they always do).
pub(super) fn hand_over() {
    if !is_enabled() {
        return;
    }
    let saved = errno();
    table::each_known(|fd, slot| {
        let state = slot.state();
        if state & (MANAGED | USER_NB | REAL_BLOCKING) != MANAGED {
            return;
        }
        // SAFETY: F_GETFD takes no argument.
        let fd_flags = unsafe { real::fcntl(fd, libc::F_GETFD, 0) };
        let inherited = fd_flags >= 0 && fd_flags & libc::FD_CLOEXEC == 0;
        if inherited || state & HANDOVER != 0 {
            set_blocking_for_real(fd);
            slot.state.fetch_or(REAL_BLOCKING, SeqCst);
        }
        slot.state.fetch_and(!HANDOVER, SeqCst);
    });
    set_errno(saved);
}

/// A blocking read-direction call: `op` is its non-blocking form, waited on with the
/// socket's `SO_RCVTIMEO`.
pub(super) fn input(route: &Route, fd: c_int, op: impl FnMut() -> isize) -> isize {
    let timeout = match route {
        Route::Coroutine(slot) | Route::Thread(slot) => slot.timeout(false),
        Route::Real => None,
    };
    c_result(blocking(route, fd, timeout, false, op), EAGAIN)
}
