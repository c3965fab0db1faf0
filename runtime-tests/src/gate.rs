//! Gates that hold bodies until the test lets them go.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use smol::channel::{Receiver, Sender};

use crate::until;

/// A gate for bodies: each waits on the receiver, and the test opens it one body at a
/// time (by sending) or all at once (by closing it).
pub fn gate() -> (Sender<()>, Receiver<()>) {
    smol::channel::unbounded()
}

/// Frees bodies blocked on a [`gate`] one at a time, so that exactly one worker is free
/// at each step and the order bodies start in is the scheduler's.
///
/// The bodies that block count themselves in `blocked` (once each, before they wait);
/// every worker is kept busy by such a body between steps.
pub struct OneAtATime<'a> {
    release: &'a Sender<()>,
    blocked: &'a AtomicUsize,
    workers: usize,
    freed: usize,
}

impl<'a> OneAtATime<'a> {
    /// Waits until all `workers` are blocked at the gate (the caller bounds the wait).
    pub async fn at_rest(
        release: &'a Sender<()>,
        blocked: &'a AtomicUsize,
        workers: usize,
    ) -> Self {
        until(|| blocked.load(SeqCst) == workers).await;
        Self {
            release,
            blocked,
            workers,
            freed: 0,
        }
    }

    /// Frees one blocked body and waits until its worker is blocked again, in the body
    /// of the next item it took.
    pub async fn free_one(&mut self) {
        self.release.send(()).await.unwrap();
        self.freed += 1;
        let at_rest = self.workers + self.freed;
        until(|| self.blocked.load(SeqCst) == at_rest).await;
    }

    /// How many bodies were freed so far.
    pub fn freed(&self) -> usize {
        self.freed
    }
}
