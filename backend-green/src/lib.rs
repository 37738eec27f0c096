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
//! Every task runs on a coroutine stack of [`DEFAULT_STACK_SIZE`] (1 MiB) unless
//! [`Builder::stack_size`] says otherwise (per handle: handles with different sizes can
//! coexist). The stack is address space reserved up front; only the pages a task touches
//! are memory, so an idle task keeps about 9 KiB resident whatever the size. 1 MiB runs a
//! 1 000-deep async recursion, a 64 KiB array passed by value to an `async fn`, or a 64 KiB
//! buffer on the stack of blocking-style code, in debug builds. Async state machines over
//! 1 KiB live on the heap, boxed by the spawner.
//!
//! A task that needs more hits the guard page below its stack: nothing is corrupted, and
//! the process aborts with a message that starts with `anyrt-green:` and names the
//! setting to raise, as a std thread's overflow does (may itself would abandon the
//! coroutine and leave its `JoinHandle` waiting forever). In tests,
//! `#[anyrt::test(green_stack_size = BYTES)]` raises it for one test.
//!
//! Each stack is a memory mapping plus a guard page. Linux's default `vm.max_map_count`
//! (65 530) caps a process at about 32 000 green threads; raise it
//! (`sysctl -w vm.max_map_count=262144`) to run more. A spawn beyond the limit fails:
//! its `JoinHandle` reports a `JoinError` whose message names the sysctl.
//!
//! # What blocks a worker
//!
//! A green task's blocking-style calls suspend only its coroutine when they go through
//! anyrt: `anyrt::implicit` (sockets, `sleep`, `block_on`, `join`), and async code awaited
//! with `implicit::block_on`. Everything else that blocks an OS thread blocks the may
//! worker it runs on, and with it every green task queued there: `std::sync::Mutex`,
//! `Condvar`, `Barrier`, `mpsc` and `std::thread::sleep`, `std::net` and `std::fs` I/O,
//! and the sync APIs of crates built on them. Use async-lock, async-channel and
//! event-listener (from blocking-style code through `implicit::block_on`), or
//! `spawn_blocking`. When every worker has been stuck in one such call for a second, a
//! monitor thread writes one line to stderr that starts with `anyrt-green:` and says the
//! workers are blocked (or busy, for a computation that never yields), again at most every
//! five seconds while it lasts.
//!
//! # Aborting
//!
//! [`JoinHandle::abort`](anyrt_core::JoinHandle::abort) stops an async task at its next
//! suspension point, as on every backend. On Green it also reaches blocking-style code: an
//! implicit task (or blocking-style code inside an async task) that is aborted unwinds
//! from its current or next blocking-style call (the payload is not a panic: no message is
//! printed), so the call does not run on and whatever the thread owns is dropped. Code that
//! runs while the thread is already unwinding (a destructor) is left to finish.
//!
//! # Start-up
//!
//! [`Builder::build`] starts may's scheduler: it returns the OS error if the descriptors
//! may needs cannot be had (a later `build` tries again), where may itself would panic
//! inside the first spawn. [`Green::new`] cannot return an error; its spawns report it.
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
//! * A task woken during its own poll (`yield_now`, a future that wakes itself) goes to the
//!   back of its worker's run queue before it polls again, and every 64th time in a row it
//!   leaves the queues for a moment, so that the worker also serves its sockets and the
//!   tasks woken from other threads.
//!
//! A task that completes without waiting allocates nothing but its join state.
//!
//! Dropping a socket closes it at once, even while a task's loop or a helper coroutine
//! still refers to it: the peer reads the end of the stream and the port is free. The
//! memory of its may registration is freed a second later: may's scheduler can still read
//! it for a moment after the socket's last waiter has been resumed on another worker.
//! A timer entry never keeps a task alive: a task that ends is dropped, output and all,
//! when it ends.
//!
//! # Runtime lifetime
//!
//! may's scheduler is process-wide: [`Green::new`] configures it once and joins it
//! afterwards, and it has no shutdown. Green tasks never keep the process alive: when
//! `main` returns the process exits, pending green tasks with it.

#![deny(unsafe_code)]

mod monitor;
mod net;
// The signal handler that reports a stack overflow: FFI and raw pointers by nature.
#[allow(unsafe_code)]
mod overflow;
// The interposed libc functions: FFI by nature.
#[cfg(feature = "patch")]
#[allow(unsafe_code)]
pub mod patch;
mod poll_loop;
// All raw-pointer code of the sockets: releasing may's registration, closing early.
#[allow(unsafe_code)]
mod raw;
mod runtime;
mod source;
mod spawn;
mod start;
mod time;
#[cfg(unix)]
mod unix;

pub use net::{TcpListener, TcpStream, UdpSocket};
pub use runtime::{Builder, DEFAULT_STACK_SIZE, Green};
pub use spawn::{GreenHandle, JoinHandle};
pub use time::Sleep;
#[cfg(unix)]
pub use unix::{UnixDatagram, UnixListener, UnixStream};
