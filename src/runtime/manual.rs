//! A clock that moves only when told to, for deterministic tests of time-based behaviour.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use event_listener::{Event, EventListener};

use super::Timer;
use crate::sync::{Arc, AtomicU64, Ordering};
use crate::time::to_nanos;

/// A [`Timer`] whose time advances only through [`advance`](Self::advance).
///
/// Sleepers wake when an `advance` carries the clock past their deadline, not before and
/// not by polling. Clones share one clock.
///
/// ```
/// use core::time::Duration;
/// use ephemeral::runtime::{ManualClock, Timer};
///
/// let clock = ManualClock::new();
/// let sleep = clock.sleep(Duration::from_secs(60)); // due at 60 s on this clock
/// let sleeper = clock.clone();
/// let handle = std::thread::spawn(move || {
///     futures_lite::future::block_on(sleep);
///     sleeper.now()
/// });
/// clock.advance(Duration::from_secs(61));
/// assert_eq!(handle.join().unwrap(), Duration::from_secs(61));
/// ```
#[derive(Clone, Debug, Default)]
pub struct ManualClock {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Current time in nanoseconds; only `advance` writes it.
    now: AtomicU64,
    /// Notified after every `advance`.
    ticked: Event,
}

impl ManualClock {
    /// A clock reading zero.
    ///
    /// ```
    /// use ephemeral::runtime::{ManualClock, Timer};
    /// assert_eq!(ManualClock::new().now(), core::time::Duration::ZERO);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `by` and wakes every sleeper whose deadline has come.
    ///
    /// ```
    /// use core::time::Duration;
    /// use ephemeral::runtime::{ManualClock, Timer};
    ///
    /// let clock = ManualClock::new();
    /// clock.advance(Duration::from_millis(5));
    /// assert_eq!(clock.now(), Duration::from_millis(5));
    /// ```
    pub fn advance(&self, by: Duration) {
        let by = to_nanos(by);
        let _ = self
            .inner
            .now
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                Some(now.saturating_add(by))
            });
        self.inner.ticked.notify(usize::MAX);
    }
}

impl Timer for ManualClock {
    type Sleep = ManualSleep;

    fn sleep(&self, duration: Duration) -> ManualSleep {
        ManualSleep {
            clock: self.clone(),
            deadline: to_nanos(self.now().saturating_add(duration)),
            listener: None,
        }
    }

    fn now(&self) -> Duration {
        Duration::from_nanos(self.inner.now.load(Ordering::Acquire))
    }
}

/// The future [`ManualClock::sleep`] returns.
///
/// ```
/// use core::time::Duration;
/// use ephemeral::runtime::{ManualClock, Timer};
///
/// let clock = ManualClock::new();
/// let sleep = clock.sleep(Duration::ZERO);
/// futures_lite::future::block_on(sleep); // a zero sleep is already due
/// ```
#[derive(Debug)]
pub struct ManualSleep {
    clock: ManualClock,
    deadline: u64,
    listener: Option<EventListener>,
}

impl Future for ManualSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if self.clock.inner.now.load(Ordering::Acquire) >= self.deadline {
                self.listener = None;
                return Poll::Ready(());
            }
            match self.listener.as_mut() {
                // Listen first, then re-check the time, so an advance between the
                // check and the listen is not missed.
                None => self.listener = Some(self.clock.inner.ticked.listen()),
                Some(listener) => match Pin::new(listener).poll(cx) {
                    Poll::Ready(()) => self.listener = None,
                    Poll::Pending => return Poll::Pending,
                },
            }
        }
    }
}

#[cfg(all(test, not(loom), feature = "std"))]
mod tests {
    use super::*;
    use futures_lite::future;

    #[test]
    fn a_sleep_wakes_when_an_advance_reaches_its_deadline_and_not_before() {
        let clock = ManualClock::new();
        let mut sleep = core::pin::pin!(clock.sleep(Duration::from_millis(10)));
        assert!(future::block_on(future::poll_once(sleep.as_mut())).is_none());
        clock.advance(Duration::from_millis(9));
        assert!(future::block_on(future::poll_once(sleep.as_mut())).is_none());
        clock.advance(Duration::from_millis(1));
        assert!(future::block_on(future::poll_once(sleep.as_mut())).is_some());
    }

    #[test]
    fn an_advance_from_another_thread_wakes_a_parked_sleeper() {
        extern crate std;
        let clock = ManualClock::new();
        let sleep = clock.sleep(Duration::from_secs(1));
        let waiter = std::thread::spawn(move || future::block_on(sleep));
        while !waiter.is_finished() {
            clock.advance(Duration::from_millis(100));
            std::thread::yield_now();
        }
        waiter.join().unwrap();
        assert!(clock.now() >= Duration::from_secs(1));
    }
}
