//! Time bounds shared by the test binaries (included with `#[path]`).

#![allow(dead_code)]

use std::time::Duration;

/// A generous bound for "this should be quick" on a loaded 2-core CI machine.
pub(crate) const PROMPT: Duration = Duration::from_secs(10);

/// `n` milliseconds.
pub(crate) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
