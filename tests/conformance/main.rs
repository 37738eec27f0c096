//! The conformance suite: every test runs on every backend the facade has enabled
//! (`cargo test --all-features` names them `<test>::tokio`, `<test>::smol`, `<test>::green`).

mod implicit;
mod net_tcp;
mod net_udp;
mod rt_spawn;
mod rt_stack;
mod sync_channels;
mod time_sleep;

#[path = "../support/set_on_drop.rs"]
mod set_on_drop;

use std::time::Duration;

/// A generous bound for "this should be quick" on a loaded 2-core CI machine.
pub(crate) const PROMPT: Duration = Duration::from_secs(5);

pub(crate) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
