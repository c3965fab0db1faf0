//! The concurrency gate: how many bodies may run, changeable at run time.

use crate::sync::{AtomicU64, Ordering};
use crate::wakeup::Wakeup;

/// Admits at most `limit` holders at once; `limit` can be lowered or raised while held.
///
/// The limit and the number of holders share one word (`limit << 32 | running`), so an
/// admission checks `running < limit` against the limit in force at that instant: once
/// `set_limit(n)` returns, no admission succeeds while `n` or more are held (C6).
///
/// Public only for the loom models (through `loom_api`); the module is private.
pub struct Gate {
    /// `limit << 32 | running`; CASed by `try_acquire` and `set_limit`, decremented by `release`.
    word: AtomicU64,
    /// Notified when a holder leaves or the limit rises.
    opened: Wakeup,
}

const RUNNING_MASK: u64 = u32::MAX as u64;

impl Gate {
    /// A gate admitting `limit` holders, none held.
    pub fn new(limit: u32) -> Self {
        Self {
            word: AtomicU64::new(u64::from(limit) << 32),
            opened: Wakeup::new(),
        }
    }

    /// Holders now.
    pub fn running(&self) -> usize {
        (self.word.load(Ordering::Acquire) & RUNNING_MASK) as usize
    }

    /// The limit in force.
    pub fn limit(&self) -> usize {
        (self.word.load(Ordering::Acquire) >> 32) as usize
    }

    /// Admits one more holder if fewer than the limit hold it now.
    pub fn try_acquire(&self) -> bool {
        self.word
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
                ((w & RUNNING_MASK) < (w >> 32)).then_some(w + 1)
            })
            .is_ok()
    }

    /// Waits for admission; gives up (returning `false`) as soon as `abort()` holds.
    /// Whoever makes `abort()` true must call [`open_all`](Self::open_all).
    pub async fn acquire(&self, abort: impl Fn() -> bool) -> bool {
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

    /// One holder leaves; a waiter is woken to take its place.
    pub fn release(&self) {
        self.word.fetch_sub(1, Ordering::AcqRel);
        self.opened.notify(1);
    }

    /// Changes the limit; raising it wakes every waiter to re-check.
    pub fn set_limit(&self, limit: u32) {
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
    pub fn open_all(&self) {
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
        assert_eq!((gate.running(), gate.limit()), (2, 2));
    }
}
