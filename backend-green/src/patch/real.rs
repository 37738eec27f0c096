//! libc's own definitions of the functions the patch interposes, found with
//! `dlsym(RTLD_NEXT, name)` (the next definition after the executable's: libc's) and cached.
//!
//! Each wrapper has the C signature of the function it calls; the variadic `fcntl` and
//! `ioctl` are called through C-variadic pointers with their one optional argument.

use std::ffi::{CStr, c_void};
use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, Ordering::Relaxed};

use libc::{
    addrinfo, c_char, c_int, c_uint, clockid_t, iovec, msghdr, nfds_t, pid_t, pollfd,
    posix_spawn_file_actions_t, posix_spawnattr_t, size_t, sockaddr, socklen_t, ssize_t, timespec,
};

/// The address of libc's `name`, looked up once.
fn address(cache: &AtomicPtr<c_void>, name: &CStr) -> *mut c_void {
    let cached = cache.load(Relaxed);
    if !cached.is_null() {
        return cached;
    }
    // SAFETY: `name` is NUL-terminated; `RTLD_NEXT` asks for the definition after the
    // calling object's, which for the executable is the C library's.
    let found = unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr()) };
    if found.is_null() {
        // Without the real function nothing can be passed through: no way to go on.
        // SAFETY: `abort` has no preconditions.
        unsafe { libc::abort() }
    }
    cache.store(found, Relaxed);
    found
}

/// Whether every function the patch calls through can be found (it cannot in a static
/// build, where there is no dynamic C library to find).
pub(super) fn all_found() -> bool {
    NAMES.iter().chain([&c"fcntl", &c"ioctl"]).all(|name| {
        // SAFETY: as in `address`.
        !unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr()) }.is_null()
    })
}

macro_rules! real {
    ($($name:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty;)*) => {
        const NAMES: &[&CStr] = &[$(
            // SAFETY: the literal has exactly one NUL, at its end.
            unsafe { CStr::from_bytes_with_nul_unchecked(concat!(stringify!($name), "\0").as_bytes()) }
        ),*];
        $(
            /// libc's own function of this name.
            ///
            /// # Safety
            ///
            /// That of the C function.
            pub(super) unsafe fn $name($($arg: $ty),*) -> $ret {
                static CACHE: AtomicPtr<c_void> = AtomicPtr::new(null_mut());
                // SAFETY: the literal has exactly one NUL, at its end.
                let name = unsafe {
                    CStr::from_bytes_with_nul_unchecked(concat!(stringify!($name), "\0").as_bytes())
                };
                let f = address(&CACHE, name);
                // SAFETY: `f` is libc's definition of this symbol, whose C signature is the
                // one declared here.
                let f: unsafe extern "C" fn($($ty),*) -> $ret = unsafe { std::mem::transmute(f) };
                // SAFETY: the caller's arguments, under the C function's contract.
                unsafe { f($($arg),*) }
            }
        )*
    };
}

real! {
    read(fd: c_int, buf: *mut c_void, len: size_t) -> ssize_t;
    write(fd: c_int, buf: *const c_void, len: size_t) -> ssize_t;
    readv(fd: c_int, iov: *const iovec, n: c_int) -> ssize_t;
    writev(fd: c_int, iov: *const iovec, n: c_int) -> ssize_t;
    recv(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int) -> ssize_t;
    send(fd: c_int, buf: *const c_void, len: size_t, flags: c_int) -> ssize_t;
    recvfrom(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int, addr: *mut sockaddr, alen: *mut socklen_t) -> ssize_t;
    sendto(fd: c_int, buf: *const c_void, len: size_t, flags: c_int, addr: *const sockaddr, alen: socklen_t) -> ssize_t;
    recvmsg(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t;
    sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t;
    accept4(fd: c_int, addr: *mut sockaddr, alen: *mut socklen_t, flags: c_int) -> c_int;
    connect(fd: c_int, addr: *const sockaddr, alen: socklen_t) -> c_int;
    socket(domain: c_int, ty: c_int, proto: c_int) -> c_int;
    poll(fds: *mut pollfd, n: nfds_t, timeout: c_int) -> c_int;
    close(fd: c_int) -> c_int;
    dup(fd: c_int) -> c_int;
    dup2(old: c_int, new: c_int) -> c_int;
    dup3(old: c_int, new: c_int, flags: c_int) -> c_int;
    setsockopt(fd: c_int, level: c_int, name: c_int, val: *const c_void, len: socklen_t) -> c_int;
    nanosleep(req: *const timespec, rem: *mut timespec) -> c_int;
    clock_nanosleep(clock: clockid_t, flags: c_int, req: *const timespec, rem: *mut timespec) -> c_int;
    usleep(us: libc::useconds_t) -> c_int;
    sleep(secs: c_uint) -> c_uint;
    getaddrinfo(node: *const c_char, service: *const c_char, hints: *const addrinfo, res: *mut *mut addrinfo) -> c_int;
    posix_spawn(pid: *mut pid_t, path: *const c_char, actions: *const posix_spawn_file_actions_t, attr: *const posix_spawnattr_t, argv: *const *mut c_char, envp: *const *mut c_char) -> c_int;
    posix_spawnp(pid: *mut pid_t, file: *const c_char, actions: *const posix_spawn_file_actions_t, attr: *const posix_spawnattr_t, argv: *const *mut c_char, envp: *const *mut c_char) -> c_int;
    posix_spawn_file_actions_adddup2(actions: *mut posix_spawn_file_actions_t, fd: c_int, new: c_int) -> c_int;
    execve(path: *const c_char, argv: *const *const c_char, envp: *const *const c_char) -> c_int;
    execv(path: *const c_char, argv: *const *const c_char) -> c_int;
    execvp(file: *const c_char, argv: *const *const c_char) -> c_int;
    execvpe(file: *const c_char, argv: *const *const c_char, envp: *const *const c_char) -> c_int;
}

/// libc's `fcntl` with its one optional argument (an `int` or a pointer).
///
/// # Safety
///
/// That of `fcntl(2)` for `cmd`.
pub(super) unsafe fn fcntl(fd: c_int, cmd: c_int, arg: usize) -> c_int {
    static CACHE: AtomicPtr<c_void> = AtomicPtr::new(null_mut());
    let f = address(&CACHE, c"fcntl");
    // SAFETY: libc's `fcntl`, declared with its C signature.
    let f: unsafe extern "C" fn(c_int, c_int, ...) -> c_int = unsafe { std::mem::transmute(f) };
    // SAFETY: per this function's contract.
    unsafe { f(fd, cmd, arg) }
}

/// libc's `ioctl` with its one optional argument.
///
/// # Safety
///
/// That of `ioctl(2)` for `request`.
pub(super) unsafe fn ioctl(fd: c_int, request: libc::c_ulong, arg: usize) -> c_int {
    static CACHE: AtomicPtr<c_void> = AtomicPtr::new(null_mut());
    let f = address(&CACHE, c"ioctl");
    // SAFETY: libc's `ioctl`, declared with its C signature.
    let f: unsafe extern "C" fn(c_int, libc::c_ulong, ...) -> c_int =
        unsafe { std::mem::transmute(f) };
    // SAFETY: per this function's contract.
    unsafe { f(fd, request, arg) }
}
