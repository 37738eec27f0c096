//! Support for the macros; not a public API.

use std::future::Future;
use std::process::Termination;
use std::time::Duration;

use anyrt_core::backend::testing;

use crate::Runtime;

/// The settings of `#[anyrt::test(...)]`.
#[derive(Debug, Default, Clone, Copy)]
pub struct TestConfig {
    /// Green's coroutine stack size for the test's tasks.
    pub green_stack_size: Option<usize>,
    /// may's worker count (process-wide).
    pub green_workers: Option<usize>,
    /// How long the test may run before it fails (60 s if `None`).
    pub timeout: Option<Duration>,
}

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
