//! The conformance suite (the `anyrt-conformance` crate) on every backend the facade has
//! enabled (`cargo test --all-features` names them `<backend>::<area>::<case>`), and the
//! facade's own `#[anyrt::test]` checks (`facade::<test>::<backend>`).

mod facade;

#[path = "../support/timing.rs"]
mod timing;

use timing::{PROMPT, ms};

/// The suite for one backend, started and stopped as `#[anyrt::test]` does.
macro_rules! suite_on {
    ($name:ident, $runtime:ty) => {
        mod $name {
            use anyrt::testing::{TestConfig, TestRuntime};

            anyrt_conformance::suite!(
                $runtime,
                <$runtime as TestRuntime>::for_test(&TestConfig::default()),
                <$runtime as TestRuntime>::stop
            );
        }
    };
}

anyrt::for_each_backend!(suite_on);
