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
use std::sync::{Arc, Mutex};

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
