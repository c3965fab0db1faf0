//! What the shared core asks of a coordinator's queue beyond ordering: how to push an
//! operation, which operation a taken ticket names, and the queue's own hooks into the
//! worker loop (a key freed, a lane's cancel signal, a lane held back).
//!
//! The plain FIFO answers all of them trivially; `keyed/scheduler.rs` and `priority/lanes.rs` hold the
//! two other implementations.

// Its `pub` items are public for `loom_api` (cfg(loom)), where `unreachable_pub` checks
// each is reached; in other builds only the crate reaches them.
#![cfg_attr(not(loom), allow(unreachable_pub))]

use core::future::Future;

use concurrent_queue::{ConcurrentQueue, PushError};

use super::admission::Gate;
use super::intake::Queue;
use crate::operation::OperationId;
use crate::runtime::Timer;
use crate::signal::Signal;

/// A coordinator's queue as the shared core drives it: push an operation, name the
/// operation a taken ticket stands for, and the queue's own hooks into the worker loop.
pub trait Schedule: Queue + Send + Sync + 'static {
    /// What each operation is filed under, kept in its window slot (`()` for none).
    type Key: Send + Sync + 'static;
    /// Whether [`push`](Self::push) needs the key; the core then reads it back from the
    /// operation's slot instead of cloning it.
    const READS_KEY: bool;
    /// Whether items can become takeable without a push (a held lane released by a
    /// signal change or its deferral bound); workers then also wait on those.
    const HOLDS: bool;

    /// Whether this queue may hold items back now ([`HOLDS`](Self::HOLDS), narrowed for
    /// a queue that holds only when configured to: a keyed queue with no gate); workers
    /// of one that does not wait on pushes alone.
    fn holds(&self) -> bool {
        Self::HOLDS
    }

    /// Queues operation `id`; `key` is `Some` when [`READS_KEY`](Self::READS_KEY).
    fn push(&self, id: OperationId, key: Option<&Self::Key>) -> Result<(), PushError<OperationId>>;

    /// How many more items filed under `key` fit now. Enqueuers waiting for room are
    /// served before newcomers, so a newcomer is accepted only while this exceeds the
    /// number waiting.
    fn free_for(&self, key: &Self::Key) -> usize;

    /// The operation a taken ticket names.
    fn id(taken: &Self::Taken) -> OperationId;

    /// The ticket's operation is terminal. Returns whether that made a waiting item
    /// takeable (the core then wakes a worker).
    fn done(&self, taken: Self::Taken) -> bool {
        let _ = taken;
        false
    }

    /// A signal that cancels the ticket's item before it starts (a lane's `cancel_on`).
    fn cancels(&self, taken: &Self::Taken) -> Option<Signal> {
        let _ = taken;
        None
    }

    /// Whether the queue has a gate of its own ([`gate`](Self::gate)); the core then
    /// reads each taken item's key from its slot to ask it.
    fn gates(&self) -> bool {
        false
    }

    /// The queue's own gate for a taken item about to start, given its key (a keyed
    /// coordinator's per-key gate; it may run user code, which the core contains).
    /// `Defer` means the item goes back to the queue through [`hold`](Self::hold)
    /// instead of keeping a worker waiting.
    fn gate(&self, taken: &Self::Taken, key: &Self::Key) -> Gate {
        let _ = (taken, key);
        Gate::Run
    }

    /// Takes back a ticket whose [`gate`](Self::gate) said `Defer(signal)`, and holds
    /// it (with its key's later items) until `signal` goes or the deferral bound
    /// passes. Hands the ticket back if `signal` has gone meanwhile (gate it again).
    fn hold(&self, taken: Self::Taken, signal: Signal) -> Result<(), Self::Taken> {
        let _ = signal;
        Err(taken)
    }

    /// Resolves when an item held back by the queue is due for release. Never resolves
    /// for queues that hold nothing back.
    fn release_due<'a, Tm: Timer>(&'a self, timer: &'a Tm) -> impl Future<Output = ()> + Send + 'a {
        let _ = timer;
        core::future::pending()
    }

    /// Items held back by the queue right now.
    fn held(&self) -> usize {
        0
    }

    /// Items that were held back and then released, since construction.
    fn released(&self) -> u64 {
        0
    }
}

/// The work coordinator's queue: operations in enqueue order.
pub(crate) type Fifo = ConcurrentQueue<OperationId>;

impl Schedule for Fifo {
    type Key = ();
    const READS_KEY: bool = false;
    const HOLDS: bool = false;

    fn push(&self, id: OperationId, _: Option<&()>) -> Result<(), PushError<OperationId>> {
        ConcurrentQueue::push(self, id)
    }

    fn free_for(&self, _: &()) -> usize {
        // Built bounded, so the capacity is always known.
        self.capacity()
            .unwrap_or(usize::MAX)
            .saturating_sub(self.len())
    }

    fn id(taken: &OperationId) -> OperationId {
        *taken
    }
}
