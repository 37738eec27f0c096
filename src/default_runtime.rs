use std::sync::OnceLock;

use crate::DefaultRuntime;

/// A handle to the shared default runtime, started on first use.
///
/// It runs until the process exits. Every call returns a clone of the same handle.
///
/// # Examples
///
/// ```
/// use anyrt::Runtime;
///
/// let rt = anyrt::runtime();
/// let answer = rt.block_on(rt.spawn(async { 6 * 7 })).unwrap();
/// assert_eq!(answer, 42);
/// ```
pub fn runtime() -> DefaultRuntime {
    static RUNTIME: OnceLock<DefaultRuntime> = OnceLock::new();
    RUNTIME.get_or_init(DefaultRuntime::new).clone()
}
