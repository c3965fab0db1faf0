//! The result coordinator's store racing its waiters: a finisher keeps the result in the
//! store, publishes the operation terminal in the slab, lists the result and wakes the
//! slot's waiters, then settles it in the intake (the order `Core::settle` and the
//! window's reporter follow); a joiner asks the slab first and the store second, as
//! `ResultCoordinator::join` does; a consumer pops in finishing order until the intake is
//! closed and empty, as `next_result` does.
//!
//! Proved: a joiner that sees the operation finished always finds its result (never
//! "taken" or "unknown" for a result that exists), and is always woken; a consumer never
//! misses a result listed before the end, and learns of the end after the last one.
//!
//! Mutation caught (`scripts/mutants/store-list-no-notify.mutant`): `Store::list`
//! without waking the consumers: a consumer asleep while other items are in flight never
//! learns of the listed result, and loom reports the deadlock.
#![cfg(loom)]

use std::time::Duration;

use ephemeral::loom_api::{Finishing, Intake, Phase, Slab, Store, Wakeup, unreported};
use ephemeral::{OperationId, ResultError};
use loom::future::block_on;
use loom::sync::Arc;
use loom::thread;
use loom_tests::{Outcomes, explore};

const T: Duration = Duration::from_millis(1);

struct Coordinator {
    slab: Slab<u8, u32>,
    store: Store<u32, ()>,
    /// The slot's `finished` wake-up.
    finished: Wakeup,
    intake: Intake<concurrent_queue::ConcurrentQueue<OperationId>>,
}

/// A coordinator with `items` accepted operations (places reserved, counted in flight),
/// closed, each started: the finishes race what follows.
fn started(items: usize) -> (Arc<Coordinator>, Vec<(OperationId, Finishing)>) {
    let coordinator = Coordinator {
        slab: Slab::new(items),
        store: Store::new(items),
        finished: Wakeup::new(),
        intake: Intake::fifo(items),
    };
    let mut running = Vec::new();
    for n in 0..items {
        let id = coordinator.slab.insert(n as u8, Duration::ZERO).unwrap();
        assert!(coordinator.store.reserve());
        coordinator
            .intake
            .push_with(|queue| queue.push(id))
            .unwrap();
        let _ = coordinator.intake.take();
        let (claim, _) = coordinator.slab.claim(id).unwrap();
        coordinator.slab.mark_running(claim, T);
        running.push((id, coordinator.slab.begin_finish(id).unwrap()));
    }
    coordinator.intake.close();
    (Arc::new(coordinator), running)
}

/// The worker's finish: keep (the window's reporter), publish, list, wake, settle.
fn finish(c: &Coordinator, id: OperationId, finishing: Finishing, value: u32) {
    c.store.keep(id, Ok(value));
    c.slab.finish(
        finishing.into(),
        Phase::Completed,
        value,
        T,
        0,
        unreported(),
    );
    c.store.list(id);
    c.finished.notify(usize::MAX);
    c.intake.settle();
}

/// `join`: not yet while the slab shows it running; then the store's answer, or why
/// there is none.
fn join(c: &Coordinator, id: OperationId, seen: &Outcomes) -> Result<u32, ResultError<()>> {
    let mut checks = 0;
    let answer = block_on(c.finished.until(|| {
        checks += 1;
        let word = c.slab.word_at(0);
        if word.generation() == (id.as_u128() >> 32) as u32 && !word.is_finished() {
            return None;
        }
        Some(c.store.take(id).unwrap_or(Err(ResultError::Taken(id))))
    }));
    if checks > 2 {
        seen.saw("joiner woken");
    } else {
        seen.saw("finished before the join");
    }
    answer
}

/// `next_result`: the next listed result, or `None` once closed and nothing in flight.
/// Records whether it slept before its answer.
fn next(c: &Coordinator, seen: &Outcomes) -> Option<(OperationId, Result<u32, ResultError<()>>)> {
    let mut checks = 0;
    let mut look = || {
        checks += 1;
        match c.store.pop() {
            Some(popped) => Some(Some(popped)),
            None if c.intake.is_closed() && c.intake.in_flight() == 0 => Some(c.store.pop()),
            None => None,
        }
    };
    let answer = block_on(async {
        // `next_result` waits on both wake-ups; one `until` is enough to model the
        // listing's own wake-up, which is what must not be lost here.
        c.store.listed().until(&mut look).await
    });
    seen.saw(if checks > 2 {
        "consumer woken"
    } else {
        "listed before the consumer looked"
    });
    answer
}

#[test]
fn a_join_racing_the_finish_finds_the_result_and_is_woken() {
    explore(&["joiner woken", "finished before the join"], |seen| {
        let (c, mut running) = started(1);
        let (id, finishing) = running.pop().unwrap();
        let finisher = {
            let c = c.clone();
            thread::spawn(move || finish(&c, id, finishing, 42))
        };
        assert_eq!(join(&c, id, seen), Ok(42));
        finisher.join().unwrap();
        assert_eq!(c.store.reserved(), 0, "the take gave the place back");
    });
}

/// Two items in flight: a consumer waiting while the other is still in flight (so the
/// end cannot wake it) gets the first result from its listing alone, then the second,
/// then the end.
#[test]
fn a_consumer_gets_each_result_in_finishing_order_and_then_the_end() {
    explore(
        &["consumer woken", "listed before the consumer looked"],
        |seen| {
            let (c, mut running) = started(2);
            let (second, second_finishing) = running.pop().unwrap();
            let (first, first_finishing) = running.pop().unwrap();
            let finisher = {
                let c = c.clone();
                thread::spawn(move || finish(&c, first, first_finishing, 0))
            };
            assert_eq!(next(&c, seen), Some((first, Ok(0))));
            finisher.join().unwrap();
            finish(&c, second, second_finishing, 1);
            let quiet = Outcomes::default();
            assert_eq!(next(&c, &quiet), Some((second, Ok(1))));
            assert_eq!(next(&c, &quiet), None, "the end after the last result");
        },
    );
}
