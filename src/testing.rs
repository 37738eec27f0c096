//! Running test bodies on anyrt's backends: what `#[anyrt::test]` expands to, usable by
//! hand too.
//!
//! ```
//! # #[cfg(feature = "tokio")] {
//! use anyrt::Runtime;
//! use anyrt::testing::{TestConfig, run_async_test};
//!
//! // What `#[anyrt::test] async fn adds(rt: R)` stamps for Tokio.
//! run_async_test::<anyrt::Tokio, _, _>(&TestConfig::default(), |rt| async move {
//!     assert_eq!(rt.spawn(async { 1 + 1 }).await.unwrap(), 2);
//! });
//! # }
//! ```

use std::future::Future;
use std::process::Termination;
use std::time::Duration;

use anyrt_core::backend::testing;

use crate::Runtime;

/// The settings of `#[anyrt::test(...)]`; every one optional.
#[derive(Debug, Default, Clone, Copy)]
pub struct TestConfig {
    /// Green's coroutine stack size for the test's tasks.
    pub green_stack_size: Option<usize>,
    /// may's worker count (process-wide).
    pub green_workers: Option<usize>,
    /// How long the test may run before it fails (60 s if `None`).
    pub timeout: Option<Duration>,
}

/// What the test runner needs of a backend: a fresh runtime per test, stopped at its end.
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

/// The backend's name in a test failure: the runtime type's own name.
fn backend_name<R>() -> &'static str {
    std::any::type_name::<R>()
        .rsplit("::")
        .next()
        .unwrap_or("?")
}

/// Runs an async test body with `rt.block_on`, then stops the runtime (also on panic);
/// see [`anyrt_core::backend::testing::run_async_test`].
pub fn run_async_test<R, F, Fut>(config: &TestConfig, body: F)
where
    R: TestRuntime,
    F: FnOnce(R) -> Fut + Send + 'static,
    Fut: Future<Output: Termination>,
{
    let config = *config;
    testing::run_async_test(
        backend_name::<R>(),
        config.timeout.unwrap_or(testing::DEFAULT_TEST_TIMEOUT),
        move || R::for_test(&config),
        R::stop,
        body,
    );
}

/// Runs a blocking-style test body as an implicit thread, then stops the runtime; see
/// [`anyrt_core::backend::testing::run_implicit_test`].
pub fn run_implicit_test<R, F, T>(config: &TestConfig, body: F)
where
    R: TestRuntime,
    F: FnOnce(R) -> T + Send + 'static,
    T: Termination + Send + 'static,
{
    let config = *config;
    testing::run_implicit_test(
        backend_name::<R>(),
        config.timeout.unwrap_or(testing::DEFAULT_TEST_TIMEOUT),
        move || R::for_test(&config),
        R::stop,
        body,
    );
}
