//! What the models in `tests/` share; everything here runs under `--cfg loom`.
//!
//! loom's search can skip interleavings without saying so: a thread whose access to an
//! atomic is a load followed by its own write hides an earlier load by another thread
//! from the race detection, and the order where that other thread comes second is never
//! tried (tokio-rs/loom#166, #392). A model that only asserts inside each execution would
//! then pass while exploring one side of the race it exists for. So each model records
//! the outcomes its executions reached, and checks afterwards that every outcome it
//! races for was reached at least once.
#![cfg(loom)]

use std::collections::BTreeSet;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::Wake;

/// The outcomes reached across all executions of one model.
#[derive(Clone, Default)]
pub struct Outcomes(Arc<Mutex<BTreeSet<&'static str>>>);

impl Outcomes {
    /// This execution reached `outcome`.
    pub fn saw(&self, outcome: &'static str) {
        self.0.lock().unwrap().insert(outcome);
    }
}

/// Runs `model` under loom's default settings (the bound from `LOOM_MAX_PREEMPTIONS`),
/// then asserts that its executions reached every outcome in `expected`.
pub fn explore(expected: &[&'static str], model: impl Fn(&Outcomes) + Send + Sync + 'static) {
    explore_with(loom::model::Builder::new(), expected, model);
}

/// [`explore`] with a configured builder.
pub fn explore_with(
    builder: loom::model::Builder,
    expected: &[&'static str],
    model: impl Fn(&Outcomes) + Send + Sync + 'static,
) {
    let outcomes = Outcomes::default();
    let recorder = outcomes.clone();
    builder.check(move || model(&recorder));
    let reached = outcomes.0.lock().unwrap();
    for outcome in expected {
        assert!(
            reached.contains(outcome),
            "no execution reached `{outcome}` (reached: {reached:?}): the race is not explored"
        );
    }
}

/// `loom::future::block_on`, also saying whether `future` had to wait: it returned
/// `Pending` at least once, so it finished only after being woken. For waits with no
/// check of the model's own to count (the idiom where there is one: `until` checks once
/// before listening and once after, so a third check follows a wake-up).
pub fn block_on_waited<F: Future>(future: F) -> (F::Output, bool) {
    let mut future = pin!(future);
    let mut polls = 0;
    let output = loom::future::block_on(poll_fn(|cx| {
        polls += 1;
        future.as_mut().poll(cx)
    }));
    (output, polls > 1)
}

/// A flag outside loom's model, telling which side of a race an execution took: loom
/// neither schedules around it nor orders anything by it. loom runs one thread at a time,
/// so a thread that finds it set runs after the setter set it in this execution's
/// schedule.
#[derive(Clone, Default)]
pub struct Flag(Arc<AtomicBool>);

impl Flag {
    pub fn set(&self) {
        self.0.store(true, SeqCst);
    }

    pub fn is_set(&self) -> bool {
        self.0.load(SeqCst)
    }
}

/// A waker for futures a model polls by hand, recording whether it was woken. Like
/// [`Flag`] it sits outside loom's model (plain std atomics), so reading it orders
/// nothing: it tells what the wake-ups did in this execution. Make a waker with
/// `Waker::from(Arc::new(Woken::default()))`, keeping a clone of the `Arc` to read.
#[derive(Default)]
pub struct Woken(AtomicBool);

impl Woken {
    /// Whether a waker made from it was woken.
    pub fn was_woken(&self) -> bool {
        self.0.load(SeqCst)
    }
}

impl Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.0.store(true, SeqCst);
    }
}
