//! The interposed symbols. Each has the C signature of libc's function of the same name
//! and hands the call to `calls`, which passes it through to libc (`real`) or emulates
//! blocking on a coroutine.
//!
//! Every function here is called by C or Rust code through the C ABI with the arguments
//! the C function documents; the SAFETY arguments below rely on that caller contract.

use libc::{
    addrinfo, c_char, c_int, c_uint, c_ulong, c_void, clockid_t, iovec, msghdr, nfds_t, pid_t,
    pollfd, posix_spawn_file_actions_t, posix_spawnattr_t, size_t, sockaddr, socklen_t, ssize_t,
    timespec,
};
use std::time::Duration;

use super::calls::{self, Route};
use super::real;

const DONTWAIT: c_int = libc::MSG_DONTWAIT;

/// Whether the process's `recv` is this one (interposition is in effect).
pub(super) fn in_effect() -> bool {
    // SAFETY: a NUL-terminated name; RTLD_DEFAULT looks it up as the process resolves it.
    let used = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"recv".as_ptr()) };
    std::ptr::eq(used.cast_const().cast::<()>(), recv as *const ())
}

fn msg(iov: *const iovec, n: usize) -> msghdr {
    // SAFETY: `msghdr` is plain data; all-zero is a valid empty header.
    let mut m: msghdr = unsafe { std::mem::zeroed() };
    m.msg_iov = iov.cast_mut();
    m.msg_iovlen = n;
    m
}

/// The total length of `n` buffers at `iov`, and them as a slice.
///
/// # Safety
///
/// `iov` points to `n` valid `iovec`s (or `n` is 0).
unsafe fn buffers<'a>(iov: *const iovec, n: usize) -> (&'a [iovec], usize) {
    if iov.is_null() || n == 0 {
        return (&[], 0);
    }
    // SAFETY: per the contract.
    let v = unsafe { std::slice::from_raw_parts(iov, n) };
    (v, v.iter().map(|b| b.iov_len).sum())
}

/// Sends `msg` from byte `offset` of its buffers on: the first time as it is, later with
/// the rest of the buffers and no ancillary data (it went with the first part).
///
/// # Safety
///
/// `msg` is a valid message header whose buffers are valid.
unsafe fn sendmsg_from(fd: c_int, msg: &msghdr, flags: c_int, offset: usize) -> isize {
    if offset == 0 {
        // SAFETY: per the contract.
        return unsafe { real::sendmsg(fd, msg, flags) };
    }
    // SAFETY: per the contract.
    let (bufs, _) = unsafe { buffers(msg.msg_iov, msg.msg_iovlen) };
    let rest = calls::iov_from(bufs, offset);
    let mut m = *msg;
    m.msg_iov = rest.as_ptr().cast_mut();
    m.msg_iovlen = rest.len();
    m.msg_control = std::ptr::null_mut();
    m.msg_controllen = 0;
    // SAFETY: `rest` points into the caller's valid buffers.
    unsafe { real::sendmsg(fd, &m, flags) }
}

#[unsafe(no_mangle)]
unsafe extern "C" fn read(fd: c_int, buf: *mut c_void, len: size_t) -> ssize_t {
    let route = calls::route(fd);
    if let Route::Real = route {
        // SAFETY: the caller's arguments.
        return unsafe { real::read(fd, buf, len) };
    }
    // SAFETY: a managed descriptor is a socket, where `recv` is `read`.
    calls::input(&route, fd, || unsafe { real::recv(fd, buf, len, DONTWAIT) })
}

#[unsafe(no_mangle)]
unsafe extern "C" fn readv(fd: c_int, iov: *const iovec, n: c_int) -> ssize_t {
    let route = calls::route(fd);
    if let Route::Real = route {
        // SAFETY: the caller's arguments.
        return unsafe { real::readv(fd, iov, n) };
    }
    let mut m = msg(iov, usize::try_from(n).unwrap_or(0));
    // SAFETY: `m` describes the caller's buffers.
    calls::input(&route, fd, || unsafe {
        real::recvmsg(fd, &mut m, DONTWAIT)
    })
}

#[unsafe(no_mangle)]
unsafe extern "C" fn recv(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int) -> ssize_t {
    let route = if flags & DONTWAIT != 0 {
        Route::Real
    } else {
        calls::route(fd)
    };
    if let Route::Real = route {
        // SAFETY: the caller's arguments.
        return unsafe { real::recv(fd, buf, len, flags) };
    }
    // SAFETY: the caller's arguments, made non-blocking.
    calls::input(&route, fd, || unsafe {
        real::recv(fd, buf, len, flags | DONTWAIT)
    })
}

#[unsafe(no_mangle)]
unsafe extern "C" fn recvfrom(
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    flags: c_int,
    addr: *mut sockaddr,
    alen: *mut socklen_t,
) -> ssize_t {
    let route = if flags & DONTWAIT != 0 {
        Route::Real
    } else {
        calls::route(fd)
    };
    if let Route::Real = route {
        // SAFETY: the caller's arguments.
        return unsafe { real::recvfrom(fd, buf, len, flags, addr, alen) };
    }
    calls::input(&route, fd, || {
        // SAFETY: the caller's arguments, made non-blocking.
        unsafe { real::recvfrom(fd, buf, len, flags | DONTWAIT, addr, alen) }
    })
}

#[unsafe(no_mangle)]
unsafe extern "C" fn recvmsg(fd: c_int, m: *mut msghdr, flags: c_int) -> ssize_t {
    let route = if flags & DONTWAIT != 0 {
        Route::Real
    } else {
        calls::route(fd)
    };
    if let Route::Real = route {
        // SAFETY: the caller's arguments.
        return unsafe { real::recvmsg(fd, m, flags) };
    }
    // SAFETY: the caller's arguments, made non-blocking.
    calls::input(&route, fd, || unsafe {
        real::recvmsg(fd, m, flags | DONTWAIT)
    })
}

#[unsafe(no_mangle)]
unsafe extern "C" fn write(fd: c_int, buf: *const c_void, len: size_t) -> ssize_t {
    let route = calls::route(fd);
    if let Route::Real = route {
        // SAFETY: the caller's arguments.
        return unsafe { real::write(fd, buf, len) };
    }
    calls::send_all(&route, fd, len, |done| {
        // SAFETY: a managed descriptor is a socket, where `send` is `write`; `done < len`
        // bytes of the caller's buffer went already.
        unsafe { real::send(fd, buf.cast::<u8>().add(done).cast(), len - done, DONTWAIT) }
    })
}

#[unsafe(no_mangle)]
unsafe extern "C" fn writev(fd: c_int, iov: *const iovec, n: c_int) -> ssize_t {
    let route = calls::route(fd);
    if let Route::Real = route {
        // SAFETY: the caller's arguments.
        return unsafe { real::writev(fd, iov, n) };
    }
    let n = usize::try_from(n).unwrap_or(0);
    // SAFETY: the caller's `n` buffers.
    let (_, total) = unsafe { buffers(iov, n) };
    let m = msg(iov, n);
    // SAFETY: `m` describes the caller's buffers.
    calls::send_all(&route, fd, total, |done| unsafe {
        sendmsg_from(fd, &m, DONTWAIT, done)
    })
}

#[unsafe(no_mangle)]
unsafe extern "C" fn send(fd: c_int, buf: *const c_void, len: size_t, flags: c_int) -> ssize_t {
    let route = if flags & DONTWAIT != 0 {
        Route::Real
    } else {
        calls::route(fd)
    };
    if let Route::Real = route {
        // SAFETY: the caller's arguments.
        return unsafe { real::send(fd, buf, len, flags) };
    }
    calls::send_all(&route, fd, len, |done| {
        // SAFETY: `done < len` bytes of the caller's buffer went already.
        unsafe {
            real::send(
                fd,
                buf.cast::<u8>().add(done).cast(),
                len - done,
                flags | DONTWAIT,
            )
        }
    })
}

#[unsafe(no_mangle)]
unsafe extern "C" fn sendto(
    fd: c_int,
    buf: *const c_void,
    len: size_t,
    flags: c_int,
    addr: *const sockaddr,
    alen: socklen_t,
) -> ssize_t {
    let route = if flags & DONTWAIT != 0 {
        Route::Real
    } else {
        calls::route(fd)
    };
    if let Route::Real = route {
        // SAFETY: the caller's arguments.
        return unsafe { real::sendto(fd, buf, len, flags, addr, alen) };
    }
    calls::send_all(&route, fd, len, |done| {
        let rest = buf.cast::<u8>().wrapping_add(done).cast();
        // SAFETY: `done < len` bytes of the caller's buffer went already.
        unsafe { real::sendto(fd, rest, len - done, flags | DONTWAIT, addr, alen) }
    })
}

#[unsafe(no_mangle)]
unsafe extern "C" fn sendmsg(fd: c_int, m: *const msghdr, flags: c_int) -> ssize_t {
    let route = if flags & DONTWAIT != 0 || m.is_null() {
        Route::Real
    } else {
        calls::route(fd)
    };
    if let Route::Real = route {
        // SAFETY: the caller's arguments.
        return unsafe { real::sendmsg(fd, m, flags) };
    }
    // SAFETY: the caller's valid header.
    let m = unsafe { &*m };
    // SAFETY: the header's buffers.
    let (_, total) = unsafe { buffers(m.msg_iov, m.msg_iovlen) };
    // SAFETY: the caller's header and buffers.
    calls::send_all(&route, fd, total, |done| unsafe {
        sendmsg_from(fd, m, flags | DONTWAIT, done)
    })
}

#[unsafe(no_mangle)]
unsafe extern "C" fn accept(fd: c_int, addr: *mut sockaddr, alen: *mut socklen_t) -> c_int {
    // SAFETY: the caller's arguments; `accept` is `accept4` with no flags.
    calls::accept(fd, 0, |flags| unsafe {
        real::accept4(fd, addr, alen, flags)
    })
}

#[unsafe(no_mangle)]
unsafe extern "C" fn accept4(
    fd: c_int,
    addr: *mut sockaddr,
    alen: *mut socklen_t,
    flags: c_int,
) -> c_int {
    // SAFETY: the caller's arguments.
    calls::accept(fd, flags, |flags| unsafe {
        real::accept4(fd, addr, alen, flags)
    })
}

#[unsafe(no_mangle)]
unsafe extern "C" fn connect(fd: c_int, addr: *const sockaddr, alen: socklen_t) -> c_int {
    // SAFETY: the caller's arguments.
    calls::connect(fd, || unsafe { real::connect(fd, addr, alen) })
}

#[unsafe(no_mangle)]
unsafe extern "C" fn socket(domain: c_int, ty: c_int, proto: c_int) -> c_int {
    // SAFETY: plain integers.
    calls::socket(ty, |ty| unsafe { real::socket(domain, ty, proto) })
}

#[unsafe(no_mangle)]
unsafe extern "C" fn poll(fds: *mut pollfd, n: nfds_t, timeout: c_int) -> c_int {
    if super::is_enabled() && !fds.is_null() && n > 0 && n <= 1024 {
        // SAFETY: the caller's `n` valid `pollfd`s.
        let slice = unsafe { std::slice::from_raw_parts_mut(fds, n as usize) };
        if let Some(r) = calls::poll(slice, timeout) {
            return r;
        }
    } else if super::is_enabled() && n == 0 && timeout > 0 {
        // A poll of nothing is a sleep.
        if calls::sleep(Duration::from_millis(timeout.unsigned_abs().into())) {
            return 0;
        }
    }
    // SAFETY: the caller's arguments.
    unsafe { real::poll(fds, n, timeout) }
}

#[unsafe(no_mangle)]
unsafe extern "C" fn close(fd: c_int) -> c_int {
    // SAFETY: the caller's descriptor.
    calls::close(fd, || unsafe { real::close(fd) })
}

#[unsafe(no_mangle)]
unsafe extern "C" fn dup(fd: c_int) -> c_int {
    // SAFETY: the caller's descriptor.
    let r = unsafe { real::dup(fd) };
    if r >= 0 {
        calls::copy_state(fd, r);
    }
    r
}

#[unsafe(no_mangle)]
unsafe extern "C" fn dup2(old: c_int, new: c_int) -> c_int {
    // SAFETY: the caller's descriptors.
    calls::dup_onto(old, new, || unsafe { real::dup2(old, new) })
}

#[unsafe(no_mangle)]
unsafe extern "C" fn dup3(old: c_int, new: c_int, flags: c_int) -> c_int {
    // SAFETY: the caller's descriptors.
    calls::dup_onto(old, new, || unsafe { real::dup3(old, new, flags) })
}

// Variadic in C; on the Linux ABIs this supports (x86_64, aarch64) the one optional
// argument arrives in the register a fixed third argument would use.
#[unsafe(no_mangle)]
unsafe extern "C" fn fcntl(fd: c_int, cmd: c_int, arg: usize) -> c_int {
    match cmd {
        libc::F_GETFL => {
            // SAFETY: F_GETFL ignores the argument.
            calls::user_flags(fd, unsafe { real::fcntl(fd, cmd, arg) })
        }
        libc::F_SETFL => {
            // The flags are an int.
            let nonblocking = (arg as c_int) & libc::O_NONBLOCK != 0;
            if calls::set_mode(fd, nonblocking) {
                // The descriptor stays non-blocking for real; other flags change.
                // SAFETY: an int of flags for the caller's descriptor.
                return unsafe { real::fcntl(fd, cmd, arg | libc::O_NONBLOCK as usize) };
            }
            // SAFETY: the caller's arguments.
            let r = unsafe { real::fcntl(fd, cmd, arg) };
            if r == 0 {
                calls::after_mode_set(fd, nonblocking);
            }
            r
        }
        libc::F_DUPFD | libc::F_DUPFD_CLOEXEC => {
            // SAFETY: the caller's arguments.
            let r = unsafe { real::fcntl(fd, cmd, arg) };
            if r >= 0 {
                calls::copy_state(fd, r);
            }
            r
        }
        // SAFETY: the caller's arguments.
        _ => unsafe { real::fcntl(fd, cmd, arg) },
    }
}

#[unsafe(no_mangle)]
unsafe extern "C" fn ioctl(fd: c_int, request: c_ulong, arg: usize) -> c_int {
    if request == libc::FIONBIO && arg != 0 {
        // SAFETY: FIONBIO's argument points to an int.
        let nonblocking = unsafe { *(arg as *const c_int) } != 0;
        if calls::set_mode(fd, nonblocking) {
            return 0;
        }
        // SAFETY: the caller's arguments.
        let r = unsafe { real::ioctl(fd, request, arg) };
        if r == 0 {
            calls::after_mode_set(fd, nonblocking);
        }
        return r;
    }
    // SAFETY: the caller's arguments.
    unsafe { real::ioctl(fd, request, arg) }
}

#[unsafe(no_mangle)]
unsafe extern "C" fn setsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    val: *const c_void,
    len: socklen_t,
) -> c_int {
    // SAFETY: the caller's arguments.
    let r = unsafe { real::setsockopt(fd, level, name, val, len) };
    let timeout = name == libc::SO_RCVTIMEO || name == libc::SO_SNDTIMEO;
    if r == 0
        && level == libc::SOL_SOCKET
        && timeout
        && !val.is_null()
        && len as usize >= size_of::<libc::timeval>()
    {
        // SAFETY: the kernel accepted it as a `timeval`.
        let tv = unsafe { std::ptr::read_unaligned(val.cast::<libc::timeval>()) };
        calls::timeout_set(fd, name == libc::SO_SNDTIMEO, calls::timeval_us(&tv));
    }
    r
}

/// A valid relative `timespec` as a duration.
fn duration(ts: &timespec) -> Option<Duration> {
    let secs = u64::try_from(ts.tv_sec).ok()?;
    let nanos = u32::try_from(ts.tv_nsec)
        .ok()
        .filter(|n| *n < 1_000_000_000)?;
    Some(Duration::new(secs, nanos))
}

#[unsafe(no_mangle)]
unsafe extern "C" fn nanosleep(req: *const timespec, rem: *mut timespec) -> c_int {
    // SAFETY: the caller's request, if any.
    if let Some(d) = unsafe { req.as_ref() }.and_then(duration)
        && calls::sleep(d)
    {
        return 0;
    }
    // SAFETY: the caller's arguments.
    unsafe { real::nanosleep(req, rem) }
}

#[unsafe(no_mangle)]
unsafe extern "C" fn clock_nanosleep(
    clock: clockid_t,
    flags: c_int,
    req: *const timespec,
    rem: *mut timespec,
) -> c_int {
    // SAFETY: the caller's request, if any.
    if let Some(ts) = unsafe { req.as_ref() }
        && duration(ts).is_some()
    {
        let wanted = if flags & libc::TIMER_ABSTIME != 0 {
            let mut now = timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: a valid out-pointer; `clock_gettime` never blocks.
            if unsafe { libc::clock_gettime(clock, &mut now) } == 0 {
                let at = duration(ts);
                let now = duration(&now);
                at.zip(now).map(|(at, now)| at.saturating_sub(now))
            } else {
                None
            }
        } else {
            duration(ts)
        };
        if let Some(d) = wanted
            && calls::sleep(d)
        {
            return 0;
        }
    }
    // SAFETY: the caller's arguments.
    unsafe { real::clock_nanosleep(clock, flags, req, rem) }
}

#[unsafe(no_mangle)]
unsafe extern "C" fn usleep(us: libc::useconds_t) -> c_int {
    if calls::sleep(Duration::from_micros(us.into())) {
        return 0;
    }
    // SAFETY: a plain integer.
    unsafe { real::usleep(us) }
}

#[unsafe(no_mangle)]
unsafe extern "C" fn sleep(secs: c_uint) -> c_uint {
    if calls::sleep(Duration::from_secs(secs.into())) {
        return 0;
    }
    // SAFETY: a plain integer.
    unsafe { real::sleep(secs) }
}

#[unsafe(no_mangle)]
unsafe extern "C" fn getaddrinfo(
    node: *const c_char,
    service: *const c_char,
    hints: *const addrinfo,
    res: *mut *mut addrinfo,
) -> c_int {
    // Addresses cross to the pool thread as integers: the caller waits for it, so they
    // stay valid.
    let (n, s, h, r) = (
        node as usize,
        service as usize,
        hints as usize,
        res as usize,
    );
    let pooled = calls::resolve(move || {
        // SAFETY: the caller's arguments, unchanged, used while the caller waits.
        unsafe {
            real::getaddrinfo(
                n as *const c_char,
                s as *const c_char,
                h as *const addrinfo,
                r as *mut *mut addrinfo,
            )
        }
    });
    match pooled {
        Some(v) => v,
        // SAFETY: the caller's arguments.
        None => unsafe { real::getaddrinfo(node, service, hints, res) },
    }
}

#[unsafe(no_mangle)]
unsafe extern "C" fn posix_spawn_file_actions_adddup2(
    actions: *mut posix_spawn_file_actions_t,
    fd: c_int,
    new: c_int,
) -> c_int {
    calls::named_for_spawn(fd);
    // SAFETY: the caller's arguments.
    unsafe { real::posix_spawn_file_actions_adddup2(actions, fd, new) }
}

/// The calls that start a new program: every managed socket it inherits is handed over in
/// blocking mode first ([`calls::hand_over`]), then libc's own runs.
macro_rules! starts_a_program {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        #[unsafe(no_mangle)]
        unsafe extern "C" fn $name($($arg: $ty),*) -> c_int {
            calls::hand_over();
            // SAFETY: the caller's arguments.
            unsafe { real::$name($($arg),*) }
        }
    )*};
}

starts_a_program! {
    posix_spawn(
        pid: *mut pid_t,
        path: *const c_char,
        actions: *const posix_spawn_file_actions_t,
        attr: *const posix_spawnattr_t,
        argv: *const *mut c_char,
        envp: *const *mut c_char
    );
    posix_spawnp(
        pid: *mut pid_t,
        file: *const c_char,
        actions: *const posix_spawn_file_actions_t,
        attr: *const posix_spawnattr_t,
        argv: *const *mut c_char,
        envp: *const *mut c_char
    );
    execve(path: *const c_char, argv: *const *const c_char, envp: *const *const c_char);
    execv(path: *const c_char, argv: *const *const c_char);
    execvp(file: *const c_char, argv: *const *const c_char);
    execvpe(file: *const c_char, argv: *const *const c_char, envp: *const *const c_char);
}
