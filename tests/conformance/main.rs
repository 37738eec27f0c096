//! The conformance suite (the `anyrt-conformance` crate) on every backend the facade has
//! enabled (`cargo test --all-features` names them `<backend>::<area>::<case>`), and the
//! facade's own `#[anyrt::test]` checks (`facade::<test>::<backend>`).

mod facade;

use std::time::Duration;

/// A generous bound for "this should be quick" on a loaded 2-core CI machine.
pub(crate) const PROMPT: Duration = Duration::from_secs(5);

pub(crate) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[cfg(feature = "tokio")]
mod tokio {
    use anyrt::Tokio;

    anyrt_conformance::suite!(
        Tokio,
        Tokio::builder().workers(2).build().unwrap(),
        Tokio::shutdown
    );
}

#[cfg(feature = "smol")]
mod smol {
    use anyrt::Smol;

    anyrt_conformance::suite!(
        Smol,
        Smol::builder().workers(2).build().unwrap(),
        Smol::shutdown
    );
}

#[cfg(feature = "green")]
mod green {
    use anyrt::Green;

    anyrt_conformance::suite!(Green, Green::new());
}
