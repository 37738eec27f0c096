use anyrt_core::backend::{AsyncTaskHandle, TaskOrThread, ThreadHandle};

/// The [`anyrt_core::JoinHandle`] of the Smol backend: an executor task (also for
/// `spawn_blocking`, on the `blocking` pool) or an implicit task's OS thread.
///
/// Unlike smol's own `Task`, dropping it detaches the task instead of cancelling it.
pub type JoinHandle<T> = TaskOrThread<AsyncTaskHandle<T>, ThreadHandle<T>>;
