//! The raw-pointer and descriptor code of the green sockets, in one place: releasing a
//! socket's may registration while may may still read its memory, and closing a
//! descriptor at once while may still holds its number.

use std::collections::VecDeque;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use may::io::{CoIo, WaitIo, WaitIoWaker};

use crate::poll_loop::lock;

/// Deregisters `boxed` from may's epoll and returns the socket, still open, for the caller
/// to close or keep; the memory may may still read waits out a grace period.
///
/// may's `wait_io` hands the scheduler a reference to the `IoData` inside the `CoIo`, and
/// the scheduler reads through it *after* it has published the waiting coroutine: another
/// worker can resume that coroutine, which can drop the socket, before the first worker is
/// done (a crash seen in the churn test: the reference read a zeroed `IoData`). So the
/// registration goes now, and the memory stays as it was for a grace period: the `CoIo` is
/// moved out of its box without touching the box, and the box, and may's event data, are
/// released later by the graveyard.
pub(crate) fn release<T: AsRawFd>(boxed: Box<CoIo<T>>) -> T {
    let event = boxed.waker();
    let raw = Box::into_raw(boxed);
    // SAFETY: `raw` comes from `Box::into_raw` and holds an initialised `CoIo<T>`; the
    // value is read out exactly once here and never dropped in place: the graveyard frees
    // the allocation as `MaybeUninit<CoIo<T>>`, which drops nothing.
    let io = unsafe { std::ptr::read(raw) };
    // Deregistered from may's epoll before the caller closes the descriptor: a number
    // reused by a new socket in between would lose its registration to a late
    // `EPOLL_CTL_DEL`. `into_inner` drops the registration and hands back the socket.
    let socket = io.into_inner();
    // SAFETY: `raw` came from `Box::<CoIo<T>>::into_raw`, its value was moved out just
    // above, and only this grave frees it.
    bury(unsafe { Grave::new(raw, event) });
    socket
}

/// Closes the descriptor `fd` now, while the number stays taken: it is pointed at a
/// placeholder with `dup2` (unless another descriptor still refers to the socket, the port
/// is free, the peer reads EOF, the kernel drops it from may's epoll), so no new socket can
/// get the number before may's late deregistration and close. Without a placeholder, the
/// connection is at least shut down if `or_shut_down` (which ends it for every descriptor
/// of the socket).
///
/// The caller owns `fd` and closes it later; nothing reads or writes it any more.
pub(crate) fn close_now(fd: RawFd, or_shut_down: bool) {
    let placeholder = crate::start::placeholder_fd();
    // SAFETY: `fd` is the caller's own open descriptor (closed later: by then it names the
    // placeholder's duplicate), which no other thread uses any more. `dup2` atomically
    // replaces what the number refers to; `shutdown` only ends the connection.
    unsafe {
        if placeholder.is_some_and(|p| libc::dup2(p, fd) >= 0) {
            return;
        }
        if or_shut_down {
            libc::shutdown(fd, libc::SHUT_RDWR);
        }
    }
}

/// Longer than any stall of a worker between may publishing a waiting coroutine and
/// finishing with its `IoData` (a preempted thread waits a scheduler slice or a few).
const GRACE: Duration = Duration::from_secs(1);

/// A closed socket's `CoIo` allocation (its value moved out) and may's event data.
struct Grave {
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
    /// The grave of a `CoIo<T>` allocation and its event data.
    ///
    /// # Safety
    ///
    /// `raw` comes from `Box::<CoIo<T>>::into_raw`, its value was moved out, and nothing
    /// else frees it.
    unsafe fn new<T: std::os::fd::AsRawFd>(raw: *mut CoIo<T>, event: WaitIoWaker) -> Grave {
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
fn bury(grave: Grave) {
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
