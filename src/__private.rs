//! Support for the macros; not a public API.

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::process::{ExitCode, Termination};
use std::sync::mpsc;
use std::time::Duration;

use crate::Runtime;

/// The settings of `#[anyrt::test(...)]`.
#[derive(Debug, Default, Clone, Copy)]
pub struct TestConfig {
    /// Green's coroutine stack size for the test's tasks.
    pub green_stack_size: Option<usize>,
    /// may's worker count (process-wide).
    pub green_workers: Option<usize>,
    /// How long the test may run before it fails ([`DEFAULT_TIMEOUT`] if `None`).
    pub timeout: Option<Duration>,
}

/// How long an `#[anyrt::test]` may run unless it sets `timeout = "…"`: generous, since CI
/// machines are slow, yet a hung test fails instead of hanging the run.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// What the test macros need of a backend: a fresh runtime per test, stopped at its end.
pub trait TestRuntime: Runtime {
    /// A runtime for one test.
    fn for_test(config: &TestConfig) -> Self;
    /// Stops it (a no-op where the runtime is process-wide).
    fn stop(&self);
}

#[cfg(feature = "tokio")]
impl TestRuntime for crate::Tokio {
    fn for_test(_: &TestConfig) -> Self {
        crate::Tokio::builder()
            .workers(2)
            .build()
            .expect("failed to start a tokio runtime")
    }
    fn stop(&self) {
        self.shutdown();
    }
}

#[cfg(feature = "smol")]
impl TestRuntime for crate::Smol {
    fn for_test(_: &TestConfig) -> Self {
        crate::Smol::builder()
            .workers(2)
            .build()
            .expect("failed to start a smol runtime")
    }
    fn stop(&self) {
        self.shutdown();
    }
}

#[cfg(feature = "green")]
impl TestRuntime for crate::Green {
    fn for_test(config: &TestConfig) -> Self {
        let mut b = crate::Green::builder();
        if let Some(bytes) = config.green_stack_size {
            b = b.stack_size(bytes);
        }
        if let Some(n) = config.green_workers {
            b = b.workers(n);
        }
        match b.build() {
            Ok(rt) => rt,
            Err(e) => panic!("cannot start the green runtime for this test: {e}"),
        }
    }
    fn stop(&self) {
        // may's scheduler is process-wide and has no shutdown.
    }
}

struct StopOnDrop<'a, R: TestRuntime>(&'a R);

impl<R: TestRuntime> Drop for StopOnDrop<'_, R> {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// Runs an async test body with `rt.block_on`, then stops the runtime (also on panic).
pub fn run_async_test<R, F, Fut>(config: &TestConfig, body: F)
where
    R: TestRuntime,
    F: FnOnce(R) -> Fut + Send + 'static,
    Fut: Future<Output: Termination>,
{
    within_timeout::<R, _>(config, move |config| {
        let rt = R::for_test(config);
        let _stop = StopOnDrop(&rt);
        rt.block_on(body(rt.clone())).report()
    });
}

/// Runs a blocking-style test body as an implicit thread, then stops the runtime; a panic
/// in the body fails the test with the body's own message.
pub fn run_implicit_test<R, F, T>(config: &TestConfig, body: F)
where
    R: TestRuntime,
    F: FnOnce(R) -> T + Send + 'static,
    T: Termination + Send + 'static,
{
    within_timeout::<R, _>(config, move |config| {
        let rt = R::for_test(config);
        let _stop = StopOnDrop(&rt);
        let rt2 = rt.clone();
        match rt.block_on(rt.spawn_implicit(move || body(rt2))) {
            Ok(v) => v.report(),
            // Re-panic with the message on the test's thread: the implicit thread's own
            // report may have gone elsewhere (may's workers are not the test's threads).
            Err(e) if e.is_panic() => panic!("{e}"),
            Err(e) => panic!("the test's implicit thread did not finish: {e}"),
        }
    });
}

/// Runs `test` on a thread of its own (named after the test) and fails the test, naming
/// the backend, if it has not finished within the configured timeout. The thread of a test
/// that timed out is left behind; the test binary ends without it.
///
/// The body's result is turned into an exit code on its own thread, as libtest does (a
/// test's error type need not be `Send`); a panic carries on on the test's thread with the
/// same payload, so `#[should_panic(expected = …)]` sees it.
fn within_timeout<R, F>(config: &TestConfig, test: F)
where
    R: TestRuntime,
    F: FnOnce(&TestConfig) -> ExitCode + Send + 'static,
{
    let config = *config;
    let limit = config.timeout.unwrap_or(DEFAULT_TIMEOUT);
    let (tx, rx) = mpsc::channel();
    let mut thread = std::thread::Builder::new();
    if let Some(name) = std::thread::current().name() {
        thread = thread.name(name.to_owned());
    }
    if let Err(e) = thread.spawn(move || {
        let _ = tx.send(panic::catch_unwind(AssertUnwindSafe(|| test(&config))));
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
        Err(_) => {
            let backend = std::any::type_name::<R>()
                .rsplit("::")
                .next()
                .unwrap_or("?");
            panic!(
                "the test timed out on the {backend} backend: still running after {limit:?} \
                 (#[anyrt::test(timeout = \"…\")] sets the limit; the default is {DEFAULT_TIMEOUT:?})"
            )
        }
    }
}

/// Stamps one `#[test]` for backend type `$ty`, named `$test`.
#[doc(hidden)]
#[macro_export]
macro_rules! __anyrt_test_on {
    ($test:ident, $ty:ident, $name:ident, async, ($cfg:expr), ($($attr:tt)*)) => {
        #[test]
        $($attr)*
        fn $test() {
            $crate::__private::run_async_test($cfg, super::$name::<$crate::$ty>)
        }
    };
    ($test:ident, $ty:ident, $name:ident, implicit, ($cfg:expr), ($($attr:tt)*)) => {
        #[test]
        $($attr)*
        fn $test() {
            $crate::__private::run_implicit_test($cfg, super::$name::<$crate::$ty>)
        }
    };
}

// One macro per backend, defined twice: it stamps a test when the facade has the backend's
// feature and expands to nothing otherwise. The facade's features decide, not the crate
// that uses `#[anyrt::test]`.

#[cfg(feature = "tokio")]
#[doc(hidden)]
#[macro_export]
macro_rules! __anyrt_test_tokio {
    ($($t:tt)*) => { $crate::__anyrt_test_on!(tokio, Tokio, $($t)*); };
}
#[cfg(not(feature = "tokio"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __anyrt_test_tokio {
    ($($t:tt)*) => {};
}

#[cfg(feature = "smol")]
#[doc(hidden)]
#[macro_export]
macro_rules! __anyrt_test_smol {
    ($($t:tt)*) => { $crate::__anyrt_test_on!(smol, Smol, $($t)*); };
}
#[cfg(not(feature = "smol"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __anyrt_test_smol {
    ($($t:tt)*) => {};
}

#[cfg(feature = "green")]
#[doc(hidden)]
#[macro_export]
macro_rules! __anyrt_test_green {
    ($($t:tt)*) => { $crate::__anyrt_test_on!(green, Green, $($t)*); };
}
#[cfg(not(feature = "green"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __anyrt_test_green {
    ($($t:tt)*) => {};
}

/// Expanded once by every `#[anyrt::test]`: nothing when the facade has a backend, a
/// compile error naming the features otherwise (the test would be stamped for no backend,
/// and `cargo test` would report it as passed without running it).
#[cfg(any(feature = "tokio", feature = "smol", feature = "green"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __anyrt_test_needs_a_backend {
    () => {};
}
#[cfg(not(any(feature = "tokio", feature = "smol", feature = "green")))]
#[doc(hidden)]
#[macro_export]
macro_rules! __anyrt_test_needs_a_backend {
    () => {
        ::core::compile_error!(
            "#[anyrt::test] needs a backend to run the test on, and anyrt has none enabled: \
             enable anyrt's `tokio`, `smol` or `green` feature (or `full`) for the tests, \
             e.g. in Cargo.toml: [dev-dependencies] anyrt = { version = \"0.1\", \
             features = [\"tokio\"] }"
        );
    };
}

/// The body of `#[anyrt::main]`.
#[cfg(any(feature = "tokio", feature = "smol", feature = "green"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __anyrt_main {
    ($fut:expr) => {
        $crate::Runtime::block_on(&$crate::runtime(), $fut)
    };
}
#[cfg(not(any(feature = "tokio", feature = "smol", feature = "green")))]
#[doc(hidden)]
#[macro_export]
macro_rules! __anyrt_main {
    ($fut:expr) => {
        ::core::compile_error!(
            "#[anyrt::main] needs a backend: enable the `tokio`, `smol` or `green` feature of anyrt"
        )
    };
}
