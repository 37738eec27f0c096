//! How runtime-free blocking-style code ([`crate::implicit::sync`]) blocks the current
//! implicit thread: a backend whose implicit threads are coroutines registers how it parks
//! one; everywhere else the OS thread is parked.

use std::future::Future;
use std::pin::Pin;
use std::sync::RwLock;

/// Blocks the current coroutine until `future` completes and returns `true`, or returns
/// `false` at once, without polling it, when the caller is not one of this backend's
/// coroutines.
pub type CoroutineBlockOn = fn(Pin<&mut (dyn Future<Output = ()> + '_)>) -> bool;

static COROUTINE_BLOCK_ON: RwLock<Vec<CoroutineBlockOn>> = RwLock::new(Vec::new());

/// Registers how this backend blocks one of its coroutines (idempotent: registering the
/// same function again does nothing). A backend whose implicit threads are stackful
/// coroutines calls it when a runtime is built, so that [`crate::implicit::sync`]'s
/// blocking calls park the coroutine and not the worker thread under it.
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
    let mut hooks = COROUTINE_BLOCK_ON
        .write()
        .unwrap_or_else(|e| e.into_inner());
    if !hooks.iter().any(|h| std::ptr::fn_addr_eq(*h, block_on)) {
        hooks.push(block_on);
    }
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
        let hooks = COROUTINE_BLOCK_ON
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let parked = hooks.iter().any(|block_on| {
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
