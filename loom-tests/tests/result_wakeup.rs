//! `ResultCoordinator::wait_for_result` racing the operation's completion: a waiter
//! sleeps on the slot's `finished` [`Wakeup`] until its check answers (the slot's
//! outcome, read through the slab); the completer publishes the terminal phase (the
//! exclusive `RUNNING -> FINISHING` in `Slab::begin_finish`, then `Slab::finish`, which
//! `Window::finish` does) and only then notifies, as `Core::settle` does. A lost wake-up
//! leaves a waiter blocked, and loom reports the deadlock. Modelled with one waiter, and
//! with two waiters on the same slot.
//!
//! Mutation caught (`scripts/mutants/wakeup-notify-no-fence.mutant`): `Wakeup::notify`
//! without its `SeqCst` fence, so the notifier's read of the waiter count is not ordered
//! after its change of the condition (half of Dekker's handshake gone): loom finds the
//! waiter's re-check and the notifier's count both reading the old values, and reports
//! the deadlock.
#![cfg(loom)]

use std::time::Duration;

use ephemeral::OperationId;
use ephemeral::loom_api::{Phase, Slab, Wakeup, unreported};
use loom::future::block_on;
use loom::sync::Arc;
use loom::thread;
use loom_tests::{Outcomes, explore};

const T: Duration = Duration::from_millis(1);

struct Slot {
    slab: Slab<u8, u32>,
    /// The slot's `finished` wake-up (`Core::finished[index]`).
    finished: Wakeup,
}

fn slot() -> (Arc<Slot>, OperationId) {
    let slab = Slab::<u8, u32>::new(1);
    let id = slab.insert(1, Duration::ZERO).unwrap();
    (
        Arc::new(Slot {
            slab,
            finished: Wakeup::new(),
        }),
        id,
    )
}

/// The worker: takes and starts the operation (`Window::start`), publishes its end
/// (`Window::finish`), then wakes whoever waits on the slot (`Core::settle`).
fn complete(slot: &Slot, id: OperationId) {
    let (claim, input) = slot.slab.claim(id).unwrap();
    assert_eq!(input, 1);
    slot.slab.mark_running(claim, T);
    let finishing = slot.slab.begin_finish(id).unwrap();
    slot.slab
        .finish(finishing.into(), Phase::Completed, 42, T, 0, unreported());
    slot.finished.notify(usize::MAX);
}

/// `wait_for_result`: the outcome once the slot is terminal; `None` (sleep) before.
/// Records `woken` if it slept: `until` checks once before listening and once after,
/// so a third check follows a wake-up.
fn wait_for_result(slot: &Slot, id: OperationId, seen: &Outcomes) -> u32 {
    let (index, generation) = (id.as_u128() as u32, (id.as_u128() >> 32) as u32);
    let mut checks = 0;
    let outcome = block_on(slot.finished.until(|| {
        checks += 1;
        slot.slab
            .read(index, Some(generation), |view| view.outcome.copied())
            .expect("the operation is never evicted here")
    }));
    if checks > 2 {
        seen.saw("woken");
    }
    outcome
}

#[test]
fn a_completion_racing_wait_for_result_never_loses_the_wake_up() {
    explore(&["woken"], |seen| {
        let (slot, id) = slot();
        let completer = {
            let slot = slot.clone();
            thread::spawn(move || complete(&slot, id))
        };
        assert_eq!(wait_for_result(&slot, id, seen), 42);
        completer.join().unwrap();
    });
}

/// [`complete`] from a started operation, for the two-waiter model: the start is made
/// before the race (it is the one-waiter model's), so only the publication and the
/// notify race the waiters.
fn publish(slot: &Slot, finishing: ephemeral::loom_api::Finishing) {
    slot.slab
        .finish(finishing.into(), Phase::Completed, 42, T, 0, unreported());
    slot.finished.notify(usize::MAX);
}

/// A cheaper waiter for the two-waiter model: its check is one load of the slot's state
/// word (whose terminal phase `finish` publishes) instead of a reader joining and leaving
/// the slot, which the one-waiter model covers; the outcome is read once at the end.
/// Records `woken` if it slept, as [`wait_for_result`] does.
fn wait_for_end(slot: &Slot, id: OperationId, seen: &Outcomes, woken: &'static str) {
    let (index, generation) = (id.as_u128() as u32, (id.as_u128() >> 32) as u32);
    let mut checks = 0;
    block_on(slot.finished.until(|| {
        checks += 1;
        let word = slot.slab.word_at(index as usize);
        assert_eq!(word.generation(), generation, "never evicted here");
        word.is_finished().then_some(())
    }));
    if checks > 2 {
        seen.saw(woken);
    }
}

#[test]
fn two_waiters_on_one_slot_are_both_woken() {
    explore(&["this waiter woken", "the other waiter woken"], |seen| {
        let (slot, id) = slot();
        let (claim, _) = slot.slab.claim(id).unwrap();
        slot.slab.mark_running(claim, T);
        let finishing = slot.slab.begin_finish(id).unwrap();
        let completer = {
            let slot = slot.clone();
            thread::spawn(move || publish(&slot, finishing))
        };
        let other = {
            let (slot, seen) = (slot.clone(), seen.clone());
            thread::spawn(move || wait_for_end(&slot, id, &seen, "the other waiter woken"))
        };
        wait_for_end(&slot, id, seen, "this waiter woken");
        other.join().unwrap();
        completer.join().unwrap();
        let (index, generation) = (id.as_u128() as u32, (id.as_u128() >> 32) as u32);
        let outcome = slot
            .slab
            .read(index, Some(generation), |view| view.outcome.copied());
        assert_eq!(outcome, Some(Some(42)));
    });
}
