//! The green-thread backend of [anyrt](https://docs.rs/anyrt), on the
//! [may](https://docs.rs/may) stackful-coroutine runtime.
//!
//! [`Green`] runs the same `async` code as the Tokio and Smol backends, each task on a may
//! coroutine: a poll loop drives the future and, while it is pending, parks the coroutine
//! (never the worker thread) or waits on the task's socket directly in may's event loop.
//! Blocking-style code ([`anyrt_core::Runtime::spawn_implicit`], `anyrt::implicit`) runs
//! on coroutines too, so a hundred thousand "threads" cost a hundred thousand small stacks.
//!
//! ```
//! use anyrt_core::Runtime;
//! use anyrt_green::Green;
//!
//! let rt = Green::new();
//! let task = rt.spawn(async { 1 + 1 });
//! assert_eq!(rt.block_on(task).unwrap(), 2);
//! ```
//!
//! # The rule for thread-locals in green tasks
//!
//! A green task may move to another worker thread whenever it waits: at every `.await`
//! that is pending, and at every blocking-style call of implicit code. So inside a green
//! task, never hold a borrow of a thread-local (`LocalKey::with`, a `RefCell` borrow of a
//! thread-local, a reference obtained from one) across an `.await` or a blocking-style
//! call, and never expect a thread-local to keep its value from one side of such a point
//! to the other: read it, use it, let go. Per-task state belongs in the task (its future
//! or closure), not in a thread-local. Libraries that cache per-thread state between calls
//! (most allocators, `rand`'s thread RNG) are fine: they never hold a borrow across a
//! suspension point.
//!
//! # Stacks
//!
//! Every task runs on a coroutine stack of [`DEFAULT_STACK_SIZE`] (64 KiB) unless
//! [`Builder::stack_size`] says otherwise. Async state machines over 1 KiB live on the heap,
//! boxed by the spawner (smaller ones are pinned on the stack), so the stack holds little
//! more than what one poll (or one blocking-style call chain) needs.
//!
//! A task that needs more hits the guard page below its stack: nothing is corrupted, and
//! may prints `coroutine in thread '…' has overflowed its stack` and abandons that
//! coroutine; the process and the other tasks carry on. With may 0.3 the overflowed task's
//! `JoinHandle` never completes (may gives anyrt no way to learn of the overflow), so treat
//! the message as a bug report: raise [`Builder::stack_size`], or box large buffers.
//!
//! Each stack is a memory mapping plus a guard page. Linux's default `vm.max_map_count`
//! (65 530) caps a process at about 32 000 green threads; raise it
//! (`sysctl -w vm.max_map_count=262144`) to run more.
//!
//! # How a task waits
//!
//! * A pending task waits on its (first) socket directly with may's `wait_io`, like a raw
//!   may socket call; any other socket it waits for is watched by that socket's helper
//!   coroutine, and a task waiting on no socket parks.
//! * Timers belong to the task; while it waits, one entry on anyrt-green's timer thread
//!   wakes it for its earliest deadline. Due entries of coroutines are handed, a batch at
//!   a time, to a dispatcher coroutine, whose wake-ups are cheap pushes onto a worker's
//!   own run queue.
//! * Blocking-style reads and writes (`anyrt::implicit::TcpStream` without a timeout) skip
//!   the poll loop: the syscall, and on `WouldBlock` may's `wait_io`, as may's own sockets
//!   do.
//!
//! A task that completes without waiting allocates nothing but its join state.
//!
//! Dropping a socket deregisters and closes it at once. The memory of its may
//! registration is freed a second later: may's scheduler can still read it for a moment
//! after the socket's last waiter has been resumed on another worker.
//!
//! # Runtime lifetime
//!
//! may's scheduler is process-wide: [`Green::new`] configures it once and joins it
//! afterwards, and it has no shutdown. Green tasks never keep the process alive: when
//! `main` returns the process exits, pending green tasks with it.

mod monitor;
mod net;
mod overflow;
mod runtime;
mod spawn;
mod start;
mod task;
mod time;

pub use net::{TcpListener, TcpStream, UdpSocket};
pub use runtime::{Builder, DEFAULT_STACK_SIZE, Green};
pub use spawn::{GreenHandle, JoinHandle};
pub use time::Sleep;
