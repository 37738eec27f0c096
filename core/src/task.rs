//! Task handles and the errors a join can report.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::io;
use std::sync::Mutex;

/// A handle to a spawned task: awaiting it yields the task's output.
///
/// # Contract for implementers
///
/// * Awaiting the handle yields `Ok(output)` once the task has finished, `Err(e)` with
///   [`JoinError::is_panic`] if the task panicked (the runtime itself keeps running), and
///   `Err(e)` with [`JoinError::is_cancelled`] if the task was aborted or its runtime shut
///   down before it finished.
/// * Dropping the handle *detaches* the task: it runs on to completion and its output is
///   dropped.
/// * [`abort`](JoinHandle::abort) asks the task to stop: its future is dropped at its next
///   suspension point (at once if it is not running). Aborting a finished task has no
///   effect. A blocking task (`spawn_blocking`, `spawn_implicit`) that has already started
///   reports cancellation at once; where it runs on an OS thread (`spawn_blocking`, and
///   `spawn_implicit` on a backend without coroutines) it cannot be interrupted and runs to
///   its end, while on a coroutine an implicit task unwinds from its current or next
///   blocking-style call.
///
/// # Cancel safety
///
/// Awaiting a handle is cancel safe: dropping it (the await with it) detaches the task,
/// which runs on.
pub trait JoinHandle<T>:
    Future<Output = Result<T, JoinError>> + Send + Unpin + fmt::Debug + 'static
{
    /// Cancels the task at its next suspension point.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::{JoinHandle, Runtime};
    /// use std::time::Duration;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let rt2 = rt.clone();
    /// let handle = rt.spawn(async move { rt2.sleep(Duration::from_secs(60)).await });
    /// handle.abort();
    /// assert!(rt.block_on(handle).unwrap_err().is_cancelled());
    /// ```
    fn abort(&self);

    /// Returns `true` once the task has finished (completed, panicked or been cancelled).
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::{JoinHandle, Runtime};
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let handle = rt.spawn(async { 1 });
    /// while !handle.is_finished() {
    ///     std::thread::yield_now();
    /// }
    /// assert_eq!(rt.block_on(handle).unwrap(), 1);
    /// ```
    fn is_finished(&self) -> bool;
}

/// The error a [`JoinHandle`] yields when its task did not complete normally.
pub struct JoinError {
    repr: Repr,
}

enum Repr {
    Cancelled,
    // `Box<dyn Any + Send>` is not `Sync`; the mutex makes the error `Sync` without unsafe.
    Panic(Mutex<Box<dyn Any + Send + 'static>>),
}

impl JoinError {
    /// An error for a task that was cancelled (aborted, or its runtime shut down).
    /// Backends make it with [`crate::backend::cancelled`].
    pub(crate) fn cancelled() -> JoinError {
        JoinError {
            repr: Repr::Cancelled,
        }
    }

    /// An error for a task that panicked with `payload`. Backends make it with
    /// [`crate::backend::panicked`].
    pub(crate) fn panic(payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            repr: Repr::Panic(Mutex::new(payload)),
        }
    }

    /// Returns `true` if the task was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::{JoinHandle, Runtime};
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let handle = rt.spawn(std::future::pending::<()>());
    /// handle.abort();
    /// assert!(rt.block_on(handle).unwrap_err().is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// Returns `true` if the task panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::Runtime;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let err = rt.block_on(rt.spawn(async { panic!("boom") })).unwrap_err();
    /// assert!(err.is_panic());
    /// assert_eq!(err.to_string(), "task panicked: boom");
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// Consumes the error, returning the panic payload.
    ///
    /// # Panics
    ///
    /// Panics if the error is not a panic: check [`is_panic`](JoinError::is_panic) or use
    /// [`try_into_panic`](JoinError::try_into_panic).
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::Runtime;
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let err = rt.block_on(rt.spawn(async { panic!("boom") })).unwrap_err();
    /// let payload = err.into_panic();
    /// assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    /// // std::panic::resume_unwind(payload) would carry the panic on here.
    /// ```
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("`JoinError::into_panic` called on an error that is not a panic")
    }

    /// Consumes the error, returning the panic payload if the task panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyrt_core::{JoinHandle, Runtime};
    ///
    /// let rt = anyrt_tokio::Tokio::new();
    /// let handle = rt.spawn(std::future::pending::<()>());
    /// handle.abort();
    /// let err = rt.block_on(handle).unwrap_err();
    /// assert!(err.try_into_panic().unwrap_err().is_cancelled());
    /// ```
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(p) => Ok(p.into_inner().unwrap_or_else(|e| e.into_inner())),
            Repr::Cancelled => Err(self),
        }
    }

    /// The panic message, when the payload is a string (as `panic!` makes it).
    fn panic_message(&self) -> Option<String> {
        let Repr::Panic(p) = &self.repr else {
            return None;
        };
        let p = p.lock().unwrap_or_else(|e| e.into_inner());
        crate::backend::panic_message(&**p)
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("JoinError::Cancelled"),
            Repr::Panic(_) => match self.panic_message() {
                Some(m) => write!(f, "JoinError::Panic({m:?})"),
                None => f.write_str("JoinError::Panic(..)"),
            },
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("task was cancelled"),
            Repr::Panic(_) => match self.panic_message() {
                Some(m) => write!(f, "task panicked: {m}"),
                None => f.write_str("task panicked"),
            },
        }
    }
}

impl std::error::Error for JoinError {}

/// An [`io::Error`] of kind [`io::ErrorKind::Other`], as tokio makes it: not
/// `Interrupted`, which std's retry loops (`read_exact`, `write_all`) take for "try again".
impl From<JoinError> for io::Error {
    fn from(e: JoinError) -> io::Error {
        io::Error::other(e)
    }
}
