//! What the patch knows of each descriptor: one [`Slot`] per descriptor number, in chunks
//! that are made on first use and never freed, so a `&'static Slot` stays valid and a
//! lookup is two loads and no lock.

use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::source::Source;

/// The descriptor has been looked at: the other bits are meaningful.
pub(super) const KNOWN: u32 = 1;
/// It is a socket.
pub(super) const SOCK: u32 = 1 << 1;
/// A stream socket: a blocking send writes everything.
pub(super) const STREAM: u32 = 1 << 2;
/// Its user made it non-blocking: every call passes through.
pub(super) const USER_NB: u32 = 1 << 3;
/// The patch set `O_NONBLOCK` on it and emulates blocking calls (unless `USER_NB`).
pub(super) const MANAGED: u32 = 1 << 4;
/// It is being closed: calls on it fail with `EBADF`, waiters are woken.
pub(super) const CLOSING: u32 = 1 << 5;
/// It has a registration with may (`Slot::source`).
pub(super) const REGISTERED: u32 = 1 << 6;
/// Handed to a child process in blocking mode: `O_NONBLOCK` is off for real (reads and
/// writes pass `MSG_DONTWAIT`, so they do not care; accept and connect set it again).
pub(super) const REAL_BLOCKING: u32 = 1 << 7;
/// Named in a `posix_spawn` dup2 action: handed over at the next spawn.
pub(super) const HANDOVER: u32 = 1 << 8;

/// The bits a duplicate descriptor shares with its original (the open file description's).
pub(super) const SHARED_BITS: u32 = KNOWN | SOCK | STREAM | USER_NB | MANAGED | REAL_BLOCKING;

/// A descriptor number the patch waits on with may: it never closes the descriptor itself,
/// unless its user closed the number while a waiter still held the registration (then the
/// number was pointed at a placeholder, which this closes once may lets go).
#[derive(Debug)]
pub(super) struct PatchFd {
    pub(super) fd: RawFd,
    pub(super) close_on_drop: AtomicBool,
}

impl AsRawFd for PatchFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd
    }
}

impl Drop for PatchFd {
    fn drop(&mut self) {
        if self.close_on_drop.load(SeqCst) {
            // SAFETY: the number is the placeholder duplicate this value owns (see above).
            unsafe { super::real::close(self.fd) };
        }
    }
}

/// One descriptor's state.
#[derive(Debug)]
pub(super) struct Slot {
    pub(super) state: AtomicU32,
    /// Emulated calls in progress on it (a close waits for them to leave).
    pub(super) busy: AtomicU32,
    /// `SO_RCVTIMEO` and `SO_SNDTIMEO` in microseconds, 0 for none.
    pub(super) recv_timeout: AtomicU64,
    pub(super) send_timeout: AtomicU64,
    pub(super) source: Mutex<Option<Arc<Source<PatchFd>>>>,
}

impl Slot {
    const fn new() -> Slot {
        Slot {
            state: AtomicU32::new(0),
            busy: AtomicU32::new(0),
            recv_timeout: AtomicU64::new(0),
            send_timeout: AtomicU64::new(0),
            source: Mutex::new(None),
        }
    }

    pub(super) fn state(&self) -> u32 {
        self.state.load(SeqCst)
    }

    /// The timeout of a blocking call in direction `write`.
    pub(super) fn timeout(&self, write: bool) -> Option<Duration> {
        let us = if write {
            &self.send_timeout
        } else {
            &self.recv_timeout
        }
        .load(SeqCst);
        (us > 0).then(|| Duration::from_micros(us))
    }

    /// Forgets what it knew (a new descriptor got the number). A registration left over from
    /// a descriptor closed behind the patch's back is leaked, not deregistered: the kernel
    /// dropped it from epoll with its file, and a late removal could hit the new one.
    pub(super) fn reset(&self, state: u32) {
        let stale = crate::poll_loop::lock(&self.source).take();
        if let Some(stale) = stale {
            std::mem::forget(stale);
        }
        self.recv_timeout.store(0, SeqCst);
        self.send_timeout.store(0, SeqCst);
        self.state.store(state, SeqCst);
    }
}

const CHUNK: usize = 4096;
const CHUNKS: usize = 256;

static TABLE: [OnceLock<Box<[Slot]>>; CHUNKS] = [const { OnceLock::new() }; CHUNKS];

fn index(fd: RawFd) -> Option<(usize, usize)> {
    let fd = usize::try_from(fd).ok()?;
    let (hi, lo) = (fd / CHUNK, fd % CHUNK);
    (hi < CHUNKS).then_some((hi, lo))
}

/// The slot of `fd` if its chunk exists (descriptors the patch never saw have none).
pub(super) fn get(fd: RawFd) -> Option<&'static Slot> {
    let (hi, lo) = index(fd)?;
    TABLE[hi].get().map(|chunk| &chunk[lo])
}

/// The slot of `fd`, making its chunk; `None` beyond the table (2^20 descriptors), where
/// every call passes through.
pub(super) fn get_or_make(fd: RawFd) -> Option<&'static Slot> {
    let (hi, lo) = index(fd)?;
    let chunk = TABLE[hi].get_or_init(|| (0..CHUNK).map(|_| Slot::new()).collect());
    Some(&chunk[lo])
}

/// Every slot with a state, with its descriptor number.
pub(super) fn each_known(mut f: impl FnMut(RawFd, &'static Slot)) {
    for (hi, chunk) in TABLE.iter().enumerate() {
        let Some(chunk) = chunk.get() else { continue };
        for (lo, slot) in chunk.iter().enumerate() {
            if slot.state() != 0 {
                // Below 2^20: fits.
                f((hi * CHUNK + lo) as RawFd, slot);
            }
        }
    }
}
