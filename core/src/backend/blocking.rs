//! What runtime-free blocking-style code needs from a backend whose implicit threads are
//! coroutines: how to park one ([`block_current`], for [`crate::implicit::sync`]), and a
//! coroutine-local slot for the implicit thread's cancellation token ([`cancel_point`], for
//! [`Thread::cancel`](crate::implicit::Thread::cancel)). Such a backend registers both when
//! a runtime is built; everywhere else the OS thread is parked and a thread-local is used.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::Waker;

use crate::structured::CancellationToken;

/// Blocks the current coroutine until `future` completes and returns `true`, or returns
/// `false` at once, without polling it, when the caller is not one of this backend's
/// coroutines.
pub type CoroutineBlockOn = fn(Pin<&mut (dyn Future<Output = ()> + '_)>) -> bool;

/// Calls `f` with the current coroutine's [`ImplicitSlot`] and returns `true`, or returns
/// `false` without calling it when the caller is not one of this backend's coroutines.
pub type CoroutineSlot = fn(&mut dyn FnMut(&ImplicitSlot)) -> bool;

/// Where an implicit thread keeps its cancellation token: a backend whose implicit threads
/// are coroutines declares one coroutine-local `ImplicitSlot` and registers access to it
/// with [`register_coroutine_slot`].
#[derive(Debug, Default)]
pub struct ImplicitSlot {
    token: RefCell<Option<CancellationToken>>,
}

impl ImplicitSlot {
    /// An empty slot.
    pub const fn new() -> ImplicitSlot {
        ImplicitSlot {
            token: RefCell::new(None),
        }
    }
}

/// Up to four backends' functions, registered once each; read with one atomic load apiece.
macro_rules! registry {
    ($name:ident, $ty:ty) => {
        static $name: [OnceLock<$ty>; 4] = [const { OnceLock::new() }; 4];
    };
}

registry!(BLOCK_ON, CoroutineBlockOn);
registry!(SLOTS, CoroutineSlot);

macro_rules! register {
    ($name:ident, $f:expr) => {{
        let f = $f;
        for slot in &$name {
            let mut set_here = false;
            let current = *slot.get_or_init(|| {
                set_here = true;
                f
            });
            if set_here || std::ptr::fn_addr_eq(current, f) {
                return;
            }
        }
        debug_assert!(false, "more than four coroutine backends registered");
    }};
}

/// Registers how this backend blocks one of its coroutines (idempotent). A backend whose
/// implicit threads are stackful coroutines calls it when a runtime is built, so that
/// [`crate::implicit::sync`]'s blocking calls park the coroutine and not the worker thread
/// under it.
///
/// ```
/// use std::future::Future;
/// use std::pin::Pin;
///
/// fn never_mine(_: Pin<&mut (dyn Future<Output = ()> + '_)>) -> bool {
///     false // a real backend checks whether the caller is one of its coroutines
/// }
/// anyrt_core::backend::register_coroutine_block_on(never_mine);
/// ```
pub fn register_coroutine_block_on(block_on: CoroutineBlockOn) {
    register!(BLOCK_ON, block_on)
}

/// Registers access to this backend's coroutine-local [`ImplicitSlot`] (idempotent), as
/// [`register_coroutine_block_on`] registers its parker.
///
/// ```
/// use anyrt_core::backend::ImplicitSlot;
///
/// fn never_mine(_: &mut dyn FnMut(&ImplicitSlot)) -> bool {
///     false // a real backend hands over its coroutine-local slot on its coroutines
/// }
/// anyrt_core::backend::register_coroutine_slot(never_mine);
/// ```
pub fn register_coroutine_slot(slot: CoroutineSlot) {
    register!(SLOTS, slot)
}

std::thread_local! {
    static THREAD_SLOT: ImplicitSlot = const { ImplicitSlot::new() };
}

/// Calls `f` with the current implicit thread's slot: a registered backend's coroutine's,
/// or the OS thread's.
fn with_slot<T>(mut f: impl FnMut(&ImplicitSlot) -> T) -> T {
    let mut out = None;
    for access in SLOTS.iter().map_while(OnceLock::get) {
        if access(&mut |slot| out = Some(f(slot))) {
            break;
        }
    }
    match out {
        Some(v) => v,
        None => THREAD_SLOT.with(|slot| f(slot)),
    }
}

/// Sets the current implicit thread's cancellation token, returning the previous one.
pub(crate) fn set_current_token(token: Option<CancellationToken>) -> Option<CancellationToken> {
    with_slot(|slot| slot.token.replace(token.clone()))
}

/// The current implicit thread's cancellation token, if it has one.
pub(crate) fn current_token() -> Option<CancellationToken> {
    with_slot(|slot| slot.token.borrow().clone())
}

/// For a backend's blocking-style wait (on its direct path): `None` when the current
/// implicit thread has no cancellation token (nothing to watch: `make_waker` is not
/// called); otherwise registers the waker `make_waker` returns, to be woken if the thread
/// is cancelled ([`Thread::cancel`](crate::implicit::Thread::cancel), or its group's
/// cancellation), and returns `Some(cancelled already)`. When cancelled, the call fails
/// with [`implicit::cancelled_error`](crate::implicit::cancelled_error) instead of waiting;
/// after a watched wait, ask [`is_cancelled`] again.
///
/// ```
/// let waker = std::task::Waker::noop();
/// assert_eq!(anyrt_core::backend::cancel_point(|| waker.clone()), None); // no token here
/// ```
pub fn cancel_point(make_waker: impl FnOnce() -> Waker) -> Option<bool> {
    let mut make_waker = Some(make_waker);
    with_slot(|slot| {
        let token = slot.token.borrow();
        let token = token.as_ref()?;
        let waker = make_waker.take()?();
        Some(token.register_waker(&waker))
    })
}

/// `future`, ended with [`implicit::cancelled_error`](crate::implicit::cancelled_error) if
/// the current implicit thread is (or gets) cancelled while it waits: how a backend makes
/// one of its own blocking-style waits answer [`Thread::cancel`](crate::implicit::Thread::cancel)
/// as anyrt's sockets do. A call that does not wait looks nothing up.
///
/// ```
/// use std::io;
///
/// let fut = anyrt_core::backend::interruptible(async { Ok::<_, io::Error>(7) });
/// assert_eq!(futures_lite::future::block_on(fut).unwrap(), 7);
/// ```
pub fn interruptible<T, F: Future<Output = io::Result<T>>>(
    future: F,
) -> impl Future<Output = io::Result<T>> {
    crate::implicit::interruptible(future)
}

/// Whether the current implicit thread has been cancelled.
///
/// ```
/// assert!(!anyrt_core::backend::is_cancelled());
/// ```
pub fn is_cancelled() -> bool {
    with_slot(|slot| {
        slot.token
            .borrow()
            .as_ref()
            .is_some_and(CancellationToken::is_cancelled)
    })
}

/// Runs `future` to completion on the current implicit thread: a registered backend's
/// coroutine is parked (only it), any other thread is parked.
///
/// # Panics
///
/// On a thread that is polling an async task (see
/// [`assert_may_block`](super::assert_may_block)): blocking there would stall its executor.
pub fn block_current<F: Future>(future: F) -> F::Output {
    let mut out = None;
    {
        let mut wrapped = std::pin::pin!(async {
            out = Some(future.await);
        });
        let parked = BLOCK_ON.iter().map_while(OnceLock::get).any(|block_on| {
            let dyn_future: Pin<&mut (dyn Future<Output = ()> + '_)> = wrapped.as_mut();
            block_on(dyn_future)
        });
        if !parked {
            super::assert_may_block("a blocking call of anyrt::implicit::sync");
            futures_lite::future::block_on(wrapped);
        }
    }
    match out {
        Some(v) => v,
        None => unreachable!("the future ran to completion"),
    }
}
