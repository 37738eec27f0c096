use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_io::Timer;

/// The Smol backend's sleep future: an async-io timer.
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Sleep {
    timer: Timer,
    done: bool,
}

impl Sleep {
    pub(crate) fn after(duration: Duration) -> Sleep {
        match Instant::now().checked_add(duration) {
            Some(deadline) => Sleep::until(deadline),
            // Beyond what `Instant` can hold: never fires.
            None => Sleep {
                timer: Timer::never(),
                done: false,
            },
        }
    }

    pub(crate) fn until(deadline: Instant) -> Sleep {
        Sleep {
            timer: Timer::at(deadline),
            done: false,
        }
    }

    /// Moves the deadline in place (async-io's `Timer::set_at`); a completed sleep waits
    /// again.
    pub fn reset(&mut self, deadline: Instant) {
        self.timer.set_at(deadline);
        self.done = false;
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.done {
            return Poll::Ready(());
        }
        let r = Pin::new(&mut self.timer).poll(cx).map(drop);
        self.done = r.is_ready();
        r
    }
}

/// Complete once it has returned `Ready`, so it works in `futures::select!`.
impl anyrt_core::time::FusedFuture for Sleep {
    fn is_terminated(&self) -> bool {
        self.done
    }
}
