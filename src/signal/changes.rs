//! An async stream of a sink's signal changes, beside the synchronous `subscribe`.
//!
//! A stream is a pair of taps in the sink's listener sets (one called on raises, one on
//! retracts that cleared a present signal), each pushing into the stream's own bounded
//! queue (`concurrent-queue`, allocated once) and waking its consumer. A full queue drops
//! its oldest change and counts it; the consumer is told how many it missed by a
//! [`SignalChange::Lagged`] item before the next change, as a `tokio::sync::broadcast`
//! receiver is. Nothing allocates per change.

use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use atomic_waker::AtomicWaker;
use concurrent_queue::ConcurrentQueue;
use futures_lite::Stream;

use super::{Signal, SignalEvent, SignalMask, Subscription};
use crate::sync::{Arc, AtomicU64, Ordering};

/// One change a [`SignalChanges`] stream yields.
///
/// ```
/// use ephemeral::signal::{SignalChange, SignalSink};
/// use futures_lite::StreamExt;
///
/// let sink = SignalSink::new();
/// let mut changes = sink.changes(8).unwrap();
/// let s = sink.raise("busy").unwrap();
/// sink.retract("busy");
/// futures_lite::future::block_on(async {
///     assert!(matches!(changes.next().await, Some(SignalChange::Raised(e)) if e.signal == s));
///     assert!(matches!(changes.next().await, Some(SignalChange::Retracted { signal, .. }) if signal == s));
/// });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignalChange {
    /// A raise, as the history records it.
    Raised(SignalEvent),
    /// A retract that made a present signal absent (also by `clear`).
    Retracted {
        /// The signal retracted.
        signal: Signal,
        /// When, on the sink's clock.
        at: Duration,
    },
    /// The consumer fell behind: this many changes were dropped (the oldest first) since
    /// the last item.
    Lagged(u64),
}

/// What both taps of a stream share with it.
pub(crate) struct Tap {
    queue: ConcurrentQueue<SignalChange>,
    /// Changes dropped since the consumer last heard; any pusher adds, the consumer swaps.
    lagged: AtomicU64,
    waker: AtomicWaker,
    /// Only changes of signals it names, if set.
    filter: Option<SignalMask>,
}

impl Tap {
    pub(crate) fn new(capacity: usize, filter: Option<SignalMask>) -> Self {
        Self {
            queue: ConcurrentQueue::bounded(capacity.max(1)),
            lagged: AtomicU64::new(0),
            waker: AtomicWaker::new(),
            filter,
        }
    }

    /// Offers a change of `signal`; never waits and never allocates.
    pub(crate) fn offer(&self, signal: Signal, change: SignalChange) {
        if self
            .filter
            .as_ref()
            .is_some_and(|mask| !mask.contains(signal))
        {
            return;
        }
        if let Ok(Some(_)) = self.queue.force_push(change) {
            self.lagged.fetch_add(1, Ordering::Relaxed);
        }
        self.waker.wake();
    }

    fn take(&self) -> Option<SignalChange> {
        match self.lagged.swap(0, Ordering::Relaxed) {
            0 => self.queue.pop().ok(),
            n => Some(SignalChange::Lagged(n)),
        }
    }
}

/// A stream of a sink's changes: every raise and every retract that made a signal
/// absent, in the order each stream's queue received them. Made by
/// [`SignalSink::changes`](super::SignalSink::changes) and
/// [`changes_matching`](super::SignalSink::changes_matching); it holds one listener place
/// of the sink until dropped, and never ends while it lives.
///
/// Memory is bounded: the stream buffers at most its capacity of changes. When the
/// consumer lags, the oldest buffered change is dropped for each new one, and the next
/// item is [`SignalChange::Lagged`] with how many were dropped.
///
/// ```
/// use ephemeral::signal::{SignalChange, SignalSink};
/// use futures_lite::StreamExt;
///
/// let sink = SignalSink::new();
/// let mut changes = sink.changes(2).unwrap();
/// for name in ["a", "b", "c"] {
///     sink.raise(name).unwrap();
/// }
/// futures_lite::future::block_on(async {
///     assert_eq!(changes.next().await, Some(SignalChange::Lagged(1)));
///     let Some(SignalChange::Raised(event)) = changes.next().await else { panic!() };
///     assert_eq!(sink.name(event.signal).unwrap(), "b");
/// });
/// ```
#[must_use = "a stream does nothing unless polled, and dropping it unsubscribes"]
pub struct SignalChanges {
    tap: Arc<Tap>,
    _raises: Subscription,
    _retracts: Subscription,
}

impl SignalChanges {
    pub(crate) fn new(tap: Arc<Tap>, raises: Subscription, retracts: Subscription) -> Self {
        Self {
            tap,
            _raises: raises,
            _retracts: retracts,
        }
    }

    /// Changes dropped because the consumer lagged and not yet reported.
    ///
    /// ```
    /// let sink = ephemeral::signal::SignalSink::new();
    /// let changes = sink.changes(1).unwrap();
    /// sink.raise("a").unwrap();
    /// sink.raise("a").unwrap();
    /// assert_eq!(changes.lagged(), 1);
    /// ```
    pub fn lagged(&self) -> u64 {
        self.tap.lagged.load(Ordering::Relaxed)
    }
}

impl Stream for SignalChanges {
    type Item = SignalChange;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SignalChange>> {
        if let Some(change) = self.tap.take() {
            return Poll::Ready(Some(change));
        }
        self.tap.waker.register(cx.waker());
        // Again after registering: a push in between woke nobody we would hear.
        match self.tap.take() {
            Some(change) => Poll::Ready(Some(change)),
            None => Poll::Pending,
        }
    }
}

impl core::fmt::Debug for SignalChanges {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SignalChanges")
            .field("buffered", &self.tap.queue.len())
            .field("lagged", &self.lagged())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use alloc::vec::Vec;

    use futures_lite::StreamExt;
    use futures_lite::future::block_on;

    use super::*;
    use crate::signal::{SignalSink, SubscribeError};

    fn drain(changes: &mut SignalChanges) -> Vec<SignalChange> {
        let mut out = Vec::new();
        while let Some(change) = block_on(futures_lite::future::poll_once(changes.next())).flatten()
        {
            out.push(change);
        }
        out
    }

    #[test]
    fn a_lagging_stream_drops_the_oldest_and_says_how_many_before_the_rest() {
        let sink = SignalSink::new();
        let mut changes = sink.changes(3).unwrap();
        let signals: Vec<_> = (0..10)
            .map(|i| sink.raise(alloc::format!("s{i}").as_str()).unwrap())
            .collect();
        assert_eq!(changes.lagged(), 7);
        let seen = drain(&mut changes);
        assert_eq!(seen[0], SignalChange::Lagged(7));
        let kept: Vec<_> = seen[1..]
            .iter()
            .map(|c| match c {
                SignalChange::Raised(e) => e.signal,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(kept, signals[7..]);
        assert_eq!(changes.lagged(), 0);
        sink.raise("s9").unwrap();
        assert!(
            matches!(drain(&mut changes)[..], [SignalChange::Raised(_)]),
            "no lag reported twice"
        );
    }

    #[test]
    fn a_filtered_stream_sees_raises_and_retracts_of_matching_signals_only() {
        let sink = SignalSink::new();
        let mut changes = sink.changes_matching("error.*", 8).unwrap();
        let e = sink.raise("error.io").unwrap();
        sink.raise("ok").unwrap();
        sink.retract("ok");
        assert!(!sink.retract("error.never"), "never raised: no change");
        sink.retract(e);
        sink.retract(e);
        sink.raise("error.db").unwrap();
        sink.clear();
        let seen: Vec<_> = drain(&mut changes)
            .into_iter()
            .map(|c| match c {
                SignalChange::Raised(event) => (true, sink.name(event.signal).unwrap()),
                SignalChange::Retracted { signal, .. } => (false, sink.name(signal).unwrap()),
                SignalChange::Lagged(n) => panic!("lagged {n}"),
            })
            .collect();
        let names: Vec<_> = seen
            .iter()
            .map(|(raised, n)| (*raised, n.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                (true, "error.io"),
                (false, "error.io"),
                (true, "error.db"),
                (false, "error.db")
            ]
        );
    }

    #[test]
    fn a_stream_takes_a_listener_place_until_dropped() {
        let sink = SignalSink::builder().listeners(1).build();
        let changes = sink.changes(1).unwrap();
        assert!(matches!(
            sink.changes(1),
            Err(SubscribeError::NoPlaceForChanges)
        ));
        assert!(sink.subscribe(|_| {}).is_err());
        drop(changes);
        let again = sink.changes(1);
        assert!(again.is_ok(), "both places came back");
    }

    #[test]
    fn a_waiting_consumer_is_woken_by_a_raise_on_another_thread() {
        extern crate std;
        let sink = SignalSink::new();
        let mut changes = sink.changes(4).unwrap();
        let raiser = {
            let sink = sink.clone();
            std::thread::spawn(move || {
                std::thread::sleep(core::time::Duration::from_millis(20));
                sink.raise("late").unwrap()
            })
        };
        let change = block_on(changes.next());
        let late = raiser.join().unwrap();
        assert!(matches!(change, Some(SignalChange::Raised(e)) if e.signal == late));
    }
}
