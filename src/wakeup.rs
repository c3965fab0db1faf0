//! An event that costs a fence and a load to notify when nobody waits.
//!
//! `event-listener` takes a lock on every `notify`, waiter or not, and the hot path
//! notifies several times per item while almost never having a waiter. A waiter count
//! in front of the event lets a notifier skip it. The handshake is Dekker's: the waiter
//! registers its listener, raises the count, fences, then re-checks its condition; the
//! notifier changes the condition, fences, then reads the count. With both fences
//! `SeqCst`, either the notifier sees the raised count and notifies the registered
//! listener, or the waiter's re-check sees the changed condition: a wake-up is never lost.

// Its `pub` items are public for `loom_api` (cfg(loom)), where `unreachable_pub` checks
// each is reached; in other builds only the crate reaches them.
#![cfg_attr(not(loom), allow(unreachable_pub))]

use event_listener::{Event, IntoNotification, listener};

use crate::sync::{AtomicUsize, Counted, Ordering, fence};

/// An `event-listener` event behind a count of its waiters, so that a notify with nobody
/// waiting costs a fence and a load.
pub struct Wakeup {
    event: Event,
    /// Waiters between registering and leaving; raised and lowered by waiters only.
    waiters: AtomicUsize,
}

impl Wakeup {
    /// A wake-up nobody waits on yet.
    pub fn new() -> Self {
        Self {
            event: Event::new(),
            waiters: AtomicUsize::new(0),
        }
    }

    /// Wakes up to `n` more waiters. Call it after changing what they wait for.
    ///
    /// The count is *additional*: `event-listener`'s plain `notify(n)` only makes sure
    /// `n` listeners are notified in total, so a burst of `notify(1)`s before the first
    /// woken waiter runs would wake just one waiter, and a burst of queued items would
    /// be taken one at a time by one worker while the others slept.
    pub fn notify(&self, n: usize) {
        fence(Ordering::SeqCst);
        // Acquire: a waiter counted here registered its listener before raising the
        // count (Release), so the notify below reaches it.
        if self.waiters.load(Ordering::Acquire) > 0 {
            self.event.notify(n.additional());
        }
    }

    /// Waiters between registering and leaving right now (a waiter counts itself while
    /// it re-checks after registering, and until its wait ends or is dropped).
    pub fn waiters(&self) -> usize {
        self.waiters.load(Ordering::Acquire)
    }

    /// Resolves with the first `Some` that `check` returns, sleeping between checks
    /// until notified.
    pub async fn until<R>(&self, mut check: impl FnMut() -> Option<R>) -> R {
        loop {
            if let Some(done) = check() {
                return done;
            }
            listener!(self.event => notified);
            let _waiting = Counted::enter(&self.waiters);
            fence(Ordering::SeqCst);
            if let Some(done) = check() {
                return done;
            }
            notified.await;
        }
    }
}
