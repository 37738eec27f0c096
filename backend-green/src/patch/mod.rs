//! Unmodified blocking code on green threads: opt-in patching of libc's blocking socket
//! and sleep calls (gevent's monkey-patching, for Rust).
//!
//! With the `patch` feature the executable defines `recv`, `send`, `connect`, `accept4`,
//! `poll`, `close`, `clock_nanosleep`, `getaddrinfo` and the rest of the calls listed
//! below. The linker makes the executable's definitions the process's (no linker flags:
//! a definition in the executable preempts the C library's), so std's own calls, every
//! crate's and a C library's land here. Until [`enable`] is called they pass straight
//! through to libc (one relaxed load). After it, on a green coroutine:
//!
//! * a socket its user left in blocking mode behaves exactly as a blocking socket does for
//!   the caller, while a call that would block waits on may's event loop and suspends only
//!   the coroutine: `read`/`recv`/`recvfrom`/`recvmsg`/`readv`, `write`/`send`/`sendto`/
//!   `sendmsg`/`writev` (a blocking send on a stream socket writes everything), `accept`/
//!   `accept4`, `connect` (`EINPROGRESS` waits for the outcome), `poll` (one socket waits
//!   on the loop; several descriptors are polled with short sleeps in between);
//! * `SO_RCVTIMEO`/`SO_SNDTIMEO` are honoured (std's `set_read_timeout` works: `EAGAIN` at
//!   the deadline); `fcntl(F_GETFL)` and `ioctl(FIONBIO)` keep the user's view of
//!   `O_NONBLOCK` (the descriptor is non-blocking for real); `dup`, `dup2`, `dup3` and
//!   `F_DUPFD` copy it;
//! * `close` (and `dup2` onto a socket) wakes every coroutine waiting on the socket, which
//!   fails with `EBADF`, and deregisters it before the real close;
//! * `nanosleep`, `clock_nanosleep` (std's `thread::sleep`), `usleep` and `sleep` become
//!   coroutine sleeps; `getaddrinfo` runs on a blocking-pool thread while the coroutine
//!   waits;
//! * a socket handed to a child process (`posix_spawn`'s dup2 actions, or any descriptor
//!   without `FD_CLOEXEC` at `execve`/`posix_spawn`) is handed over in blocking mode, as its
//!   user set it.
//!
//! Everything else passes through untouched: calls on OS threads, descriptors that are not
//! sockets, sockets their user made non-blocking (anyrt's own, tokio's, may's), and calls
//! with `MSG_DONTWAIT`. A managed socket used from an OS thread keeps working: blocking is
//! emulated there with the real `poll`. An implicit thread that is cancelled
//! (`anyrt::implicit::Thread::cancel`) or aborted while it waits in a patched call gets
//! `ECANCELED` from it (a sleep returns early); the unwinding of an aborted task happens at
//! its next anyrt call, since it cannot cross a C function.
//!
//! # Only applications enable it
//!
//! The interposed symbols are process-wide, so only an application may turn the patch on,
//! never a library: a library cannot know what else runs in the process. Cargo features
//! unify, so a library must not even enable the `patch` feature.
//!
//! # Limits
//!
//! Interposition reaches calls that go through the dynamic C library's public symbols. It
//! cannot reach, and these still block the worker they run on (the worker-stall monitor
//! reports it):
//!
//! * futex-based locks and waits: `std::sync::{Mutex, Condvar, Barrier, mpsc}`,
//!   `thread::park`, parking_lot. Use `anyrt::implicit::sync`. A std lock held across a
//!   patched call can deadlock the workers: the call suspends the coroutine, another
//!   coroutine on the same worker blocks on the lock;
//! * raw system calls (`syscall(2)`, rustix's `linux_raw` backend, io_uring) and the C
//!   library's internal calls (its stdio, `system`, `popen`, and the resolver functions
//!   other than `getaddrinfo`: `gethostbyname`, `getnameinfo`);
//! * disk files, pipes and terminals (not sockets): use `spawn_blocking`;
//! * `select`, `ppoll`, `epoll_wait`, `recvmmsg`, `sendfile`, and glibc's `_chk` variants
//!   (`__read_chk`, from C code built with `_FORTIFY_SOURCE`);
//! * static executables (no dynamic C library to interpose on: [`enable`] fails), and a hook
//!   in a `cdylib` loaded into another program (its definitions come too late);
//! * a socket closed behind libc's back (`close_range`, a raw `close` syscall) leaves its
//!   number's state behind until a new socket gets the number from `socket` or `accept`.
//!
//! Code that ran on 8 MiB thread stacks now runs on the coroutine's
//! (`Builder::stack_size`), and every patched call is a point where the coroutine can move
//! to another worker: the crate's rule for thread-locals applies to it.
//!
//! ```no_run
//! use std::io::{Read, Write};
//!
//! anyrt_green::patch::enable()?;
//! let rt = anyrt_green::Green::new();
//! let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
//! let addr = listener.local_addr()?;
//! // Plain std code on green threads: each blocking call suspends only its coroutine.
//! let server = anyrt_core::Runtime::spawn_implicit(&rt, move || {
//!     let (mut s, _) = listener.accept().unwrap();
//!     let mut buf = [0; 5];
//!     s.read_exact(&mut buf).unwrap();
//!     s.write_all(&buf).unwrap();
//! });
//! let mut c = std::net::TcpStream::connect(addr)?;
//! c.write_all(b"hello")?;
//! let mut back = [0; 5];
//! c.read_exact(&mut back)?;
//! assert_eq!(&back, b"hello");
//! # Ok::<(), std::io::Error>(())
//! ```

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
compile_error!(
    "anyrt-green's `patch` feature interposes glibc's socket and sleep calls: it needs \
     Linux with glibc (target_env = \"gnu\"); build without it elsewhere"
);

mod calls;
mod hooks;
mod real;
mod table;

use std::cell::Cell;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

/// Interception is on (set once by [`enable`], never cleared).
static ACTIVE: AtomicBool = AtomicBool::new(false);

std::thread_local! {
    /// Set while the patch itself runs code that calls libc (may's registration): those
    /// calls pass through. Never held across a suspension.
    static IN_PATCH: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with the patch's own libc calls passing through.
fn inside<R>(f: impl FnOnce() -> R) -> R {
    let was = IN_PATCH.with(|c| c.replace(true));
    let out = f();
    IN_PATCH.with(|c| c.set(was));
    out
}

fn in_patch() -> bool {
    IN_PATCH.with(Cell::get)
}

/// Turns the patch on for the whole process: from now on, blocking socket and sleep calls
/// made on green coroutines suspend only the coroutine (see the [module docs](self)).
/// Idempotent. [`Builder::patch`](crate::Builder::patch) calls it.
///
/// # Errors
///
/// `Unsupported` when interposition is not in effect in this process: a static build, or
/// a program in which these definitions are not the ones the process uses (the patch
/// compiled into a `cdylib`, say). Nothing is changed then.
///
/// ```no_run
/// anyrt_green::patch::enable()?;
/// assert!(anyrt_green::patch::is_enabled());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn enable() -> io::Result<()> {
    if ACTIVE.load(Ordering::SeqCst) {
        return Ok(());
    }
    if !hooks::in_effect() || !real::all_found() {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "anyrt-green patch: libc's socket and sleep calls cannot be interposed in this \
             process (a static build, or the patch is not in the executable)",
        ));
    }
    ACTIVE.store(true, Ordering::SeqCst);
    Ok(())
}

/// Whether [`enable`] has turned the patch on.
///
/// ```
/// // Off until an application enables it.
/// assert!(!anyrt_green::patch::is_enabled());
/// ```
pub fn is_enabled() -> bool {
    ACTIVE.load(Ordering::Relaxed)
}
