//! Running one test body on a runtime, as `#[anyrt::test]` and the conformance suite do:
//! on a thread of its own, within a time limit, with the body's result reported as libtest
//! reports a test's.

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::process::{ExitCode, Termination};
use std::sync::mpsc;
use std::time::Duration;

use crate::Runtime;

/// How long a test may run unless it says otherwise: generous, since CI machines are slow,
/// yet a hung test fails instead of hanging the run.
pub const DEFAULT_TEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs an async test body: `make` starts the runtime, `body` runs with
/// `Runtime::block_on`, and `stop` stops the runtime at the end (also after a panic).
///
/// # Panics
///
/// As a failing test does: with the body's own panic, or a message if the body returned a
/// failure, or a message naming `backend` if the test is still running after `limit`.
///
/// ```
/// use anyrt_core::Runtime;
/// use anyrt_core::backend::testing::{DEFAULT_TEST_TIMEOUT, run_async_test};
///
/// /// One test of a suite, on any runtime `make` starts.
/// fn sleeps_briefly<R: Runtime>(make: fn() -> R) {
///     run_async_test("mine", DEFAULT_TEST_TIMEOUT, make, |_: &R| {}, |rt: R| async move {
///         rt.sleep(std::time::Duration::from_millis(1)).await;
///     });
/// }
/// ```
pub fn run_async_test<R, M, S, F, Fut>(backend: &str, limit: Duration, make: M, stop: S, body: F)
where
    R: Runtime,
    M: FnOnce() -> R + Send + 'static,
    S: FnOnce(&R) + Send + 'static,
    F: FnOnce(R) -> Fut + Send + 'static,
    Fut: Future<Output: Termination>,
{
    within(backend, limit, move || {
        let rt = make();
        let _stop = StopOnDrop(Some((rt.clone(), stop)));
        rt.block_on(body(rt.clone())).report()
    });
}

/// Runs a blocking-style test body as an implicit thread (`Runtime::spawn_implicit`) on
/// the runtime `make` starts, then `stop`s it; see [`run_async_test`]. A panic in the body
/// fails the test with the body's own message.
pub fn run_implicit_test<R, M, S, F, T>(backend: &str, limit: Duration, make: M, stop: S, body: F)
where
    R: Runtime,
    M: FnOnce() -> R + Send + 'static,
    S: FnOnce(&R) + Send + 'static,
    F: FnOnce(R) -> T + Send + 'static,
    T: Termination + Send + 'static,
{
    within(backend, limit, move || {
        let rt = make();
        let _stop = StopOnDrop(Some((rt.clone(), stop)));
        let rt2 = rt.clone();
        match rt.block_on(rt.spawn_implicit(move || body(rt2))) {
            Ok(v) => v.report(),
            // Re-panic with the message here: the implicit thread's own report may have
            // gone elsewhere (a coroutine's worker is not the test's thread).
            Err(e) if e.is_panic() => panic!("{e}"),
            Err(e) => panic!("the test's implicit thread did not finish: {e}"),
        }
    });
}

struct StopOnDrop<R, S: FnOnce(&R)>(Option<(R, S)>);

impl<R, S: FnOnce(&R)> Drop for StopOnDrop<R, S> {
    fn drop(&mut self) {
        if let Some((rt, stop)) = self.0.take() {
            stop(&rt);
        }
    }
}

/// Runs `test` on a thread of its own (named after the calling thread, which libtest
/// names after the test) and fails, naming `backend`, if it has not finished within
/// `limit`; the thread of a test that timed out is left behind. The result is turned into
/// an exit code on that thread, as libtest does (a test's error type need not be `Send`);
/// a panic carries on here with the same payload, so `#[should_panic(expected = …)]` sees
/// it.
fn within(backend: &str, limit: Duration, test: impl FnOnce() -> ExitCode + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    let mut thread = std::thread::Builder::new();
    if let Some(name) = std::thread::current().name() {
        thread = thread.name(name.to_owned());
    }
    if let Err(e) = thread.spawn(move || {
        let _ = tx.send(panic::catch_unwind(AssertUnwindSafe(test)));
    }) {
        panic!("cannot start the test's thread: {e}");
    }
    match rx.recv_timeout(limit) {
        Ok(Ok(code)) if code == ExitCode::SUCCESS => {}
        Ok(Ok(code)) => panic!(
            "the test returned a termination value with a non-zero status code ({code:?}) \
             which indicates a failure"
        ),
        Ok(Err(payload)) => panic::resume_unwind(payload),
        Err(_) => panic!(
            "the test timed out on the {backend} backend: still running after {limit:?} \
             (#[anyrt::test(timeout = \"…\")] sets the limit; the default is \
             {DEFAULT_TEST_TIMEOUT:?})"
        ),
    }
}
