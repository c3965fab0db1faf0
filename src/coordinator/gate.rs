//! The concurrency gate: how many bodies may run, changeable at run time.

use crate::sync::{AtomicU64, Ordering};
use crate::wakeup::Wakeup;

/// Admits at most `limit` holders at once; `limit` can be lowered or raised while held.
/// Coordinator workers hold a permit while they may take and run items; one above a
/// lowered limit gives it back before it starts anything ([`within_limit`](Self::within_limit)).
///
/// The limit and the number of holders share one word (`limit << 32 | running`), so an
/// admission checks `running < limit` against the limit in force at that instant: once
/// `set_limit(n)` returns, no admission succeeds while `n` or more are held (C6).
pub(crate) struct Gate {
    /// `limit << 32 | running`; CASed by `try_acquire` and `set_limit`, decremented by `release`.
    word: AtomicU64,
    /// Notified when a holder leaves or the limit rises.
    opened: Wakeup,
}

const RUNNING_MASK: u64 = u32::MAX as u64;

impl Gate {
    pub(crate) fn new(limit: u32) -> Self {
        Self {
            word: AtomicU64::new(u64::from(limit) << 32),
            opened: Wakeup::new(),
        }
    }

    pub(crate) fn limit(&self) -> usize {
        (self.word.load(Ordering::Acquire) >> 32) as usize
    }

    /// Whether the holders are no more than the limit (false after the limit was lowered
    /// below them, until enough give their permits back).
    pub(crate) fn within_limit(&self) -> bool {
        let w = self.word.load(Ordering::Acquire);
        (w & RUNNING_MASK) <= (w >> 32)
    }

    pub(crate) fn try_acquire(&self) -> bool {
        self.word
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
                ((w & RUNNING_MASK) < (w >> 32)).then_some(w + 1)
            })
            .is_ok()
    }

    /// Waits for admission; gives up (returning `false`) as soon as `abort()` holds.
    /// Whoever makes `abort()` true must call [`open_all`](Self::open_all).
    pub(crate) async fn acquire(&self, abort: impl Fn() -> bool) -> bool {
        self.opened
            .until(|| {
                if abort() {
                    Some(false)
                } else {
                    self.try_acquire().then_some(true)
                }
            })
            .await
    }

    pub(crate) fn release(&self) {
        self.word.fetch_sub(1, Ordering::AcqRel);
        self.opened.notify(1);
    }

    pub(crate) fn set_limit(&self, limit: u32) {
        let before = self
            .word
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
                Some((u64::from(limit) << 32) | (w & RUNNING_MASK))
            })
            .unwrap_or_else(|w| w);
        if u64::from(limit) > before >> 32 {
            self.open_all();
        }
    }

    /// Wakes every waiter to re-check (limit raised, or an abort condition set).
    pub(crate) fn open_all(&self) {
        self.opened.notify(usize::MAX);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn admits_up_to_the_limit_and_no_more() {
        let gate = Gate::new(2);
        assert!(gate.try_acquire());
        assert!(gate.try_acquire());
        assert!(!gate.try_acquire());
        gate.release();
        assert!(gate.try_acquire());
    }

    #[test]
    fn lowering_the_limit_refuses_admission_while_that_many_are_held() {
        let gate = Gate::new(4);
        for _ in 0..3 {
            assert!(gate.try_acquire());
        }
        gate.set_limit(2);
        assert!(!gate.try_acquire());
        gate.release();
        assert!(!gate.try_acquire(), "2 still held, limit 2");
        gate.release();
        assert!(gate.try_acquire());
        assert_eq!(gate.limit(), 2);
        assert!(gate.within_limit());
        gate.set_limit(1);
        assert!(!gate.within_limit(), "two held, limit one");
    }
}
