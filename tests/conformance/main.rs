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

/// The suite on `AnyRuntime` over one backend: a runtime chosen at run time is a backend
/// like the others.
macro_rules! suite_on_any {
    ($name:ident, $runtime:ty) => {
        mod $name {
            use anyrt::AnyRuntime;
            use anyrt::testing::{TestConfig, TestRuntime};

            anyrt_conformance::suite!(
                AnyRuntime,
                AnyRuntime::new(<$runtime as TestRuntime>::for_test(&TestConfig::default())),
                |rt: &AnyRuntime| {
                    if let Some(inner) = rt.downcast_ref::<$runtime>() {
                        <$runtime as TestRuntime>::stop(inner);
                    }
                }
            );
        }
    };
}

mod any {
    anyrt::for_each_backend!(suite_on_any);
}
