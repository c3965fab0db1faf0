//! The concurrency permits: how many bodies may run, changeable at run time.

// Its `pub` items are public for `loom_api` (cfg(loom)), where `unreachable_pub` checks
// each is reached; in other builds only the crate reaches them.
#![cfg_attr(not(loom), allow(unreachable_pub))]

use crate::bits::Field;
use crate::sync::{AtomicU64, AtomicUsize, Counted, Ordering, fence};
use crate::wakeup::Wakeup;

/// Admits at most `limit` holders at once; `limit` can be lowered or raised while held.
///
/// The limit and the number of holders share one word ([`LIMIT`] above [`HELD`]), so an
/// admission checks `held < limit` against the limit in force at that instant: once
/// `set_limit(n)` returns, no admission succeeds while `n` or more are held
/// (IMPLEMENTATION.md, C6).
///
/// Coordinator workers hold a permit while they may take and run items, across items.
/// A worker that already holds an item (deferred by a signal, or over a lowered limit)
/// and needs a permit waits *first*: it is counted in `first`, admissions of workers
/// with nothing taken wait while any such worker does, and a holder with nothing taken
/// gives its permit back as soon as one appears ([`may_take`](Self::may_take)). So
/// items start in the order they were taken, whatever the limit.
///
/// Public only for the loom models (through `loom_api`); the module is private.
pub struct Permits {
    /// [`LIMIT`] above [`HELD`]; CASed by `try_acquire` and `set_limit`, decremented by
    /// `release`.
    word: AtomicU64,
    /// Workers holding an item and waiting for a permit; raised and lowered by them.
    first: AtomicUsize,
    /// Notified for workers with nothing taken: a permit came back and nobody waits first,
    /// or the limit rose.
    opened: Wakeup,
    /// Notified for workers holding an item: a permit came back, or the limit rose.
    opened_first: Wakeup,
}

/// The permits word's permits held: at most the limit, unless the limit was lowered.
const HELD: Field<u64> = Field::new(0, 32);
/// The permits word's limit.
const LIMIT: Field<u64> = HELD.above(32);

impl Permits {
    /// A permits admitting `limit` holders, none held.
    pub fn new(limit: u32) -> Self {
        Self {
            word: AtomicU64::new(LIMIT.place(u64::from(limit))),
            first: AtomicUsize::new(0),
            opened: Wakeup::new(),
            opened_first: Wakeup::new(),
        }
    }

    /// The limit in force.
    pub fn limit(&self) -> usize {
        LIMIT.get(self.word.load(Ordering::Acquire)) as usize
    }

    /// Permits held now (for the models; the coordinator counts running bodies itself).
    #[cfg(any(loom, test))]
    pub fn held(&self) -> usize {
        HELD.get(self.word.load(Ordering::Acquire)) as usize
    }

    /// Whether a holder may take a new item: the holders are no more than the limit (it
    /// was not lowered below them) and no worker holding an item waits for a permit.
    pub fn may_take(&self) -> bool {
        let w = self.word.load(Ordering::Acquire);
        HELD.get(w) <= LIMIT.get(w) && self.first.load(Ordering::Acquire) == 0
    }

    /// Whether a holder may start the item it holds: the holders are no more than the
    /// limit.
    pub fn within_limit(&self) -> bool {
        let w = self.word.load(Ordering::Acquire);
        HELD.get(w) <= LIMIT.get(w)
    }

    /// Takes a permit if one is free now.
    pub fn try_acquire(&self) -> bool {
        self.word
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
                (HELD.get(w) < LIMIT.get(w)).then_some(w + HELD.unit())
            })
            .is_ok()
    }

    /// Waits for admission of a worker with nothing taken (after those waiting
    /// [first](Self::acquire_first)); gives up (returning `false`) as soon as `abort()`
    /// holds. Whoever makes `abort()` true must call [`open_all`](Self::open_all).
    pub async fn acquire(&self, abort: impl Fn() -> bool) -> bool {
        self.opened
            .until(|| {
                if abort() {
                    Some(false)
                } else {
                    (self.first.load(Ordering::Acquire) == 0 && self.try_acquire()).then_some(true)
                }
            })
            .await
    }

    /// Waits for admission of a worker that holds an item, ahead of the others; gives up
    /// as [`acquire`](Self::acquire) does. `yielding` is called once it is counted as
    /// waiting first, to make holders with nothing taken give their permits back.
    pub async fn acquire_first(&self, abort: impl Fn() -> bool, yielding: impl FnOnce()) -> bool {
        let admitted = {
            let _first = Counted::enter(&self.first);
            // Pairs with the fence in `release`: either that release sees us counted and
            // wakes us, or our first check below sees its permit (Dekker's handshake).
            fence(Ordering::SeqCst);
            yielding();
            self.opened_first
                .until(|| {
                    if abort() {
                        Some(false)
                    } else {
                        self.try_acquire().then_some(true)
                    }
                })
                .await
        };
        // Admissions of the others may have waited on us alone.
        self.opened.notify(1);
        admitted
    }

    /// Gives a permit back, waking a worker waiting first if there is one.
    pub fn release(&self) {
        self.word.fetch_sub(HELD.unit(), Ordering::AcqRel);
        // See `acquire_first`. Releases are rare: workers keep their permits across items.
        fence(Ordering::SeqCst);
        if self.first.load(Ordering::Acquire) > 0 {
            self.opened_first.notify(1);
        } else {
            self.opened.notify(1);
        }
    }

    /// Changes the limit; see the type's docs for when it takes effect.
    pub fn set_limit(&self, limit: u32) {
        let before = self
            .word
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
                Some(LIMIT.set(w, u64::from(limit)))
            })
            .unwrap_or_else(|w| w);
        if u64::from(limit) > LIMIT.get(before) {
            self.open_all();
        }
    }

    /// Wakes every waiter to re-check (limit raised, or an abort condition set).
    pub fn open_all(&self) {
        self.opened_first.notify(usize::MAX);
        self.opened.notify(usize::MAX);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn admits_up_to_the_limit_and_no_more() {
        let permits = Permits::new(2);
        assert!(permits.try_acquire());
        assert!(permits.try_acquire());
        assert!(!permits.try_acquire());
        permits.release();
        assert!(permits.try_acquire());
    }

    #[test]
    fn lowering_the_limit_refuses_admission_while_that_many_are_held() {
        let permits = Permits::new(4);
        for _ in 0..3 {
            assert!(permits.try_acquire());
        }
        permits.set_limit(2);
        assert!(!permits.try_acquire());
        permits.release();
        assert!(!permits.try_acquire(), "2 still held, limit 2");
        permits.release();
        assert!(permits.try_acquire());
        assert_eq!((permits.held(), permits.limit()), (2, 2));
        assert!(permits.within_limit());
        permits.set_limit(1);
        assert!(!permits.within_limit(), "two held, limit one");
    }

    #[test]
    fn a_worker_waiting_first_keeps_the_others_from_taking() {
        let permits = Permits::new(1);
        assert!(permits.try_acquire());
        assert!(permits.may_take());
        let waiting_first = core::pin::pin!(permits.acquire_first(|| false, || {}));
        let mut waiting_first = waiting_first;
        let waker = futures_lite::future::block_on(futures_lite::future::poll_fn(|cx| {
            core::task::Poll::Ready(cx.waker().clone())
        }));
        let mut cx = core::task::Context::from_waker(&waker);
        assert!(waiting_first.as_mut().poll(&mut cx).is_pending());
        assert!(
            !permits.may_take(),
            "a holder with nothing taken must yield"
        );
        let other = core::pin::pin!(permits.acquire(|| false));
        let mut other = other;
        permits.release();
        assert!(
            other.as_mut().poll(&mut cx).is_pending(),
            "the first waiter goes first"
        );
        assert_eq!(
            waiting_first.as_mut().poll(&mut cx),
            core::task::Poll::Ready(true)
        );
        assert!(permits.may_take());
    }
}
