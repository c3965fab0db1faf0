//! Runs async signal handlers on the spawner without blocking the raiser: a bounded
//! queue of events and a fixed number of handler tasks.
//!
//! The queue is the coordinators' [`Intake`]: offering an event never waits; when the
//! queue is full the *oldest* waiting event is dropped (and counted) to make room, so a
//! slow handler sees the most recent events. `max_concurrent` tasks are spawned once;
//! each takes the next event and runs the handler's future inline, so at most
//! `max_concurrent` handlers run at once and dispatching an event allocates nothing.
//! Idle tasks sleep on the intake's wake-up; nothing polls.

// Its `pub` items are public for `loom_api` (cfg(loom)), where `unreachable_pub` checks
// each is reached; in other builds only the crate reaches them.
#![cfg_attr(not(loom), allow(unreachable_pub))]

use core::future::Future;

use crate::signal::SignalEvent;
use concurrent_queue::ConcurrentQueue;

use super::guard::Guarded;
use super::intake::Intake;
use crate::runtime::Spawner;
use crate::sync::{Arc, AtomicU64, AtomicUsize, Ordering};

/// Marks a taken event handled when dropped, whichever way its handler ended.
struct Handled<'a>(&'a Dispatch);

impl Drop for Handled<'_> {
    fn drop(&mut self) {
        self.0.handled();
    }
}

/// Counts one handler task alive; the last one dropped (its executor shut down) closes
/// the queue and drops what is left in it, counted, so `idle` never waits for handlers
/// that are gone.
struct Live(Arc<Dispatch>);

impl Drop for Live {
    fn drop(&mut self) {
        let dispatch = &self.0;
        if dispatch.live.fetch_sub(1, Ordering::AcqRel) == 1 {
            dispatch.close();
            while dispatch.queue.take().is_some() {
                dispatch.dropped.fetch_add(1, Ordering::Relaxed);
                dispatch.handled();
            }
        }
    }
}

/// Async signal handlers' bounded event queue, which drops its oldest event when full,
/// and the count of the handler tasks that run the handlers on it.
pub struct Dispatch {
    queue: Intake<ConcurrentQueue<SignalEvent>>,
    /// Events dropped to make room, or left when every handler task was dropped;
    /// incremented by offerers and by the last handler task.
    dropped: AtomicU64,
    /// Handler tasks not yet dropped; raised by `spawn_handlers`, lowered by `Live`.
    live: AtomicUsize,
}

impl Dispatch {
    /// A dispatch holding at most `max_queued` waiting events.
    pub fn new(max_queued: usize) -> Self {
        Self {
            queue: Intake::fifo(max_queued),
            dropped: AtomicU64::new(0),
            live: AtomicUsize::new(0),
        }
    }

    /// Queues `event` for a handler, dropping the oldest waiting one if full. Events
    /// offered after [`close`](Self::close) are ignored.
    pub fn offer(&self, event: SignalEvent) {
        if let Ok(Some(_oldest)) = self.queue.force_push(event) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Events dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The next event, waiting while none is queued; `None` once closed and empty.
    pub async fn next(&self) -> Option<SignalEvent> {
        self.queue.next(|| false).await
    }

    /// One event taken by [`next`](Self::next) has been handled.
    pub fn handled(&self) {
        self.queue.settle();
    }

    /// Accepts no more events; the handler tasks finish what is queued, then end.
    pub fn close(&self) {
        self.queue.close();
    }

    /// Waits until every queued event has been handled.
    pub async fn idle(&self) {
        self.queue.drain().await;
    }

    /// Spawns `max_concurrent` tasks running `handler` on queued events. A handler that
    /// panics (caught under `std`) loses only its own event. If the executor drops every
    /// task, what is still queued is dropped and counted, and [`idle`](Self::idle)
    /// returns.
    pub fn spawn_handlers<S, H, Fut>(
        dispatch: &Arc<Self>,
        spawner: &S,
        max_concurrent: usize,
        handler: H,
    ) where
        S: Spawner,
        H: Fn(SignalEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send,
    {
        let handler = Arc::new(handler);
        dispatch.live.fetch_add(max_concurrent, Ordering::AcqRel);
        for _ in 0..max_concurrent {
            // Made outside the future, so it counts down even if the future is dropped
            // before its first poll.
            let live = Live(dispatch.clone());
            let handler = handler.clone();
            spawner.spawn(async move {
                let dispatch = &live.0;
                while let Some(event) = dispatch.next().await {
                    let _handled = Handled(dispatch);
                    // Called inside the guard, so a handler that panics before returning
                    // its future is caught too; the outcome is the handler's business.
                    let _ = Guarded::new(async { handler(event).await }, None, 0).await;
                }
            });
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::signal::Signal;
    use core::time::Duration;

    fn event(n: u64) -> SignalEvent {
        SignalEvent {
            signal: Signal::new(0, 0),
            operation_id: None,
            key: Some(n),
            at: Duration::ZERO,
        }
    }

    #[test]
    fn overflow_drops_the_oldest_waiting_events_and_counts_them() {
        let dispatch = Dispatch::new(2);
        for n in 0..5 {
            dispatch.offer(event(n));
        }
        assert_eq!(dispatch.dropped(), 3);
        dispatch.close();
        let kept: alloc::vec::Vec<_> = core::iter::from_fn(|| {
            let e = futures_lite::future::block_on(dispatch.next())?;
            dispatch.handled();
            Some(e.key)
        })
        .collect();
        assert_eq!(kept, [Some(3), Some(4)]);
        futures_lite::future::block_on(dispatch.idle());
    }
}
