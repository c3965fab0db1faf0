//! Property tests: random sequences of pushes, pops, finishes (`done`), closes and
//! cancelling takes (`take_any`) on a real [`Keys`], against a reference model of the
//! rules in the module docs and in `KeyedWorkCoordinator`'s docs:
//!
//! * a push is refused when the queue is closed, when `queue_capacity` items wait, when
//!   `max_queued_per_key` of its key's items wait, or when its key is new and every key
//!   entry is in use (`queue_capacity + concurrency ceiling` of them);
//! * each key's items are taken oldest first, `pop` takes none of a key with
//!   `max_concurrency_per_key` items taken and not done, and finds an item whenever some
//!   key has one it may take; `take_any` also takes what that limit holds back;
//! * keys take turns in the order they became ready, each for at most
//!   `fair_scheduling_threshold` starts in a row, so a key that becomes ready behind `r`
//!   others starts within `r x fair_scheduling_threshold` starts;
//! * nothing accepted is lost or taken twice, and `pop` says `Closed` exactly when the
//!   queue is closed and nothing waits.
//!
//! One driver runs every sequence through both and notes each departure from the model
//! under the rule it breaks; each test checks its own rules, so its name says what a
//! failure breaks. The model follows what the scheduler actually did where the rules
//! leave a choice, so one departure does not cascade into others.

use alloc::collections::{BTreeMap, VecDeque};
use core::hash::{Hash, Hasher};
use std::collections::HashMap;

use proptest::prelude::*;

use super::*;

/// Keys the sequences use.
const KEYS: u8 = 6;

/// A key whose hash sees only `self.0 % 3`, so keys collide in the index: probe runs
/// are long, and freeing a key shifts others back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key(u8);

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self.0 % 3).hash(state);
    }
}

/// The options and keyed limits a sequence runs under (all valid).
#[derive(Clone, Debug)]
struct Setup {
    capacity: usize,
    concurrency: usize,
    ceiling: Option<usize>,
    per_key: usize,
    threshold: usize,
    share: Option<usize>,
}

impl Setup {
    fn options(&self) -> Options {
        let mut options = Options::default()
            .queue_capacity(self.capacity)
            .max_concurrency(self.concurrency);
        if let Some(ceiling) = self.ceiling {
            options = options.concurrency_ceiling(ceiling);
        }
        options
    }

    fn limits(&self) -> KeyLimits {
        KeyLimits {
            max_concurrency_per_key: self.per_key,
            fair_scheduling_threshold: self.threshold,
            max_queued_per_key: self.share,
        }
    }
}

fn setups() -> impl Strategy<Value = Setup> {
    (
        1..=8usize,
        1..=3usize,
        prop::option::of(0..=2usize),
        1..=3usize,
        1..=4usize,
        prop::option::of(1..=8usize),
    )
        .prop_map(
            |(capacity, concurrency, extra, per_key, threshold, share)| Setup {
                capacity,
                concurrency,
                ceiling: extra.map(|extra| concurrency + extra),
                per_key,
                threshold,
                share,
            },
        )
}

#[derive(Clone, Debug)]
enum Op {
    /// Push a new item of this key.
    Push(u8),
    /// A worker looks for an item.
    Pop,
    /// One of the taken items is done (an index into those not done yet, wrapped).
    Done(usize),
    /// `take_any`, as a cancel takes what waits.
    TakeAny,
    Close,
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        prop_oneof![
            12 => (0..KEYS).prop_map(Op::Push),
            10 => Just(Op::Pop),
            8 => (0..8usize).prop_map(Op::Done),
            1 => Just(Op::TakeAny),
            1 => Just(Op::Close),
        ],
        0..=64,
    )
}

/// How a run ends once its sequence is through.
#[derive(Clone, Copy, Debug)]
enum Ending {
    /// Everything taken is done, the queue closes, and workers pop until `Closed`.
    Workers,
    /// The queue closes and a cancel takes what waits with `take_any` (each done at
    /// once, as `Core::stop` does) while the taken items are still running; then they
    /// finish and a worker pops.
    Cancel,
}

fn endings() -> impl Strategy<Value = Ending> {
    prop_oneof![Just(Ending::Workers), Just(Ending::Cancel)]
}

/// The rules a departure from the model breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rule {
    /// Push verdicts, `free_for` and `is_full`.
    Refusals,
    /// Every take is the oldest waiting item of its key.
    Oldest,
    /// `pop` takes nothing of a key at `max_concurrency_per_key`.
    BelowLimit,
    /// `pop` finds an item whenever a key has one it may take, `take_any` whenever one
    /// waits.
    FindsWork,
    /// Keys take turns in the order they became ready, `fair_scheduling_threshold`
    /// starts at most.
    Turns,
    /// A key ready behind `r` others starts within `r x fair_scheduling_threshold`.
    Bound,
    /// Each accepted item is taken once, nothing else is taken.
    ExactlyOnce,
    /// `Closed` exactly when closed and nothing waits; `close` and `is_closed`.
    Closed,
    /// `done` reports whether it made one of the key's items takeable.
    Wakes,
    /// `counts` and `active_keys`.
    Counts,
}

/// One key's items in the model.
#[derive(Default)]
struct Line {
    /// Waiting, oldest first.
    waiting: VecDeque<OperationId>,
    /// Taken and not done.
    taken: usize,
}

/// The reference model.
struct Model {
    capacity: usize,
    share: usize,
    per_key: usize,
    threshold: usize,
    entries: usize,
    closed: bool,
    /// Keys with a waiting or taken item.
    lines: BTreeMap<Key, Line>,
    /// Keys that may start an item, in the order they became ready; the front one has
    /// the turn, and has started `turn` items in it.
    ready: VecDeque<Key>,
    turn: usize,
}

impl Model {
    fn new(options: &Options, limits: &KeyLimits) -> Self {
        Self {
            capacity: options.queue_capacity,
            share: limits.queued_share(options.queue_capacity),
            per_key: limits.max_concurrency_per_key,
            threshold: limits.fair_scheduling_threshold,
            entries: options.queue_capacity + options.effective_concurrency_ceiling(),
            closed: false,
            lines: BTreeMap::new(),
            ready: VecDeque::new(),
            turn: 0,
        }
    }

    fn waiting(&self) -> usize {
        self.lines.values().map(|line| line.waiting.len()).sum()
    }

    fn waiting_of(&self, key: Key) -> usize {
        self.lines.get(&key).map_or(0, |line| line.waiting.len())
    }

    /// Whether `key` has a waiting item it may start now.
    fn takeable(&self, key: Key) -> bool {
        self.lines
            .get(&key)
            .is_some_and(|line| !line.waiting.is_empty() && line.taken < self.per_key)
    }

    fn takeable_keys(&self) -> Vec<Key> {
        self.lines
            .keys()
            .copied()
            .filter(|&key| self.takeable(key))
            .collect()
    }

    /// What a push of an item of `key` must come to.
    fn verdict(&self, key: Key) -> Verdict {
        if self.closed {
            Verdict::Closed
        } else if self.waiting() >= self.capacity
            || (!self.lines.contains_key(&key) && self.lines.len() >= self.entries)
            || self.waiting_of(key) >= self.share
        {
            Verdict::Full
        } else {
            Verdict::Queued
        }
    }

    /// How many more of `key`'s items fit now.
    fn free_for(&self, key: Key) -> usize {
        let room = self.capacity.saturating_sub(self.waiting());
        room.min(self.share.saturating_sub(self.waiting_of(key)))
    }

    /// `key` started an item through the turns: it keeps the turn while it may start
    /// more, for `threshold` starts at most, then goes to the back.
    fn started_in_turn(&mut self, key: Key) {
        if self.ready.front() == Some(&key) {
            self.turn += 1;
            if !self.takeable(key) {
                self.ready.pop_front();
                self.turn = 0;
            } else if self.turn >= self.threshold {
                self.ready.pop_front();
                self.ready.push_back(key);
                self.turn = 0;
            }
        } else {
            // The scheduler departed from the turns (noted as `Turns`): follow it.
            self.ready.retain(|&k| k != key);
            if self.takeable(key) {
                self.ready.push_back(key);
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Queued,
    Full,
    Closed,
}

fn verdict_of(result: &Result<(), PushError<OperationId>>) -> Verdict {
    match result {
        Ok(()) => Verdict::Queued,
        Err(PushError::Full(_)) => Verdict::Full,
        Err(PushError::Closed(_)) => Verdict::Closed,
    }
}

/// A departure from the model: the rule, the step, what happened.
struct Departure {
    rule: Rule,
    step: usize,
    what: String,
}

/// One sequence run through a real scheduler and the model side by side.
struct Run {
    keys: Keys<Key>,
    model: Model,
    /// Free window slots, and each slot's current generation.
    slots: Vec<u32>,
    generations: Vec<u32>,
    /// Taken items not done yet.
    tickets: Vec<(KeyTicket, Key)>,
    /// Every accepted item's key, and how many times it was taken.
    accepted: HashMap<OperationId, (Key, usize)>,
    /// Per takeable key with a pending bound: starts of other keys since it became
    /// ready (or last started), and how many it may see.
    bounds: BTreeMap<Key, (usize, usize)>,
    departures: Vec<Departure>,
    step: usize,
}

const SLOTS: u32 = 64;

impl Run {
    fn new(setup: &Setup) -> Self {
        let (options, limits) = (setup.options(), setup.limits());
        assert_eq!(options.validate(), Ok(()), "{setup:?}");
        assert_eq!(limits.validate(), Ok(()), "{setup:?}");
        Self {
            keys: Keys::new(&options, &limits, SLOTS as usize),
            model: Model::new(&options, &limits),
            slots: (0..SLOTS).rev().collect(),
            generations: (0..SLOTS).map(|_| 1).collect(),
            tickets: Vec::new(),
            accepted: HashMap::new(),
            bounds: BTreeMap::new(),
            departures: Vec::new(),
            step: 0,
        }
    }

    fn depart(&mut self, rule: Rule, what: String) {
        self.departures.push(Departure {
            rule,
            step: self.step,
            what,
        });
    }

    /// Runs `ops`, then `ending`, and returns the departures.
    fn run(mut self, ops: &[Op], ending: Ending) -> Vec<Departure> {
        for op in ops {
            self.apply(op);
        }
        match ending {
            Ending::Workers => {
                while !self.tickets.is_empty() {
                    self.apply(&Op::Done(0));
                }
                self.apply(&Op::Close);
                // Each pop is done at once; one more finds the queue closed and empty.
                for _ in 0..=self.model.waiting() {
                    if !self.apply(&Op::Pop) {
                        break;
                    }
                    let last = self.tickets.len() - 1;
                    self.apply(&Op::Done(last));
                }
            }
            Ending::Cancel => {
                self.apply(&Op::Close);
                for _ in 0..=self.model.waiting() {
                    if !self.apply(&Op::TakeAny) {
                        break;
                    }
                    let last = self.tickets.len() - 1;
                    self.apply(&Op::Done(last));
                }
                while !self.tickets.is_empty() {
                    self.apply(&Op::Done(0));
                }
                self.apply(&Op::Pop);
            }
        }
        let lost: Vec<_> = self
            .accepted
            .iter()
            .filter(|(_, (_, taken))| *taken == 0)
            .map(|(id, (key, _))| (*key, id.index()))
            .collect();
        if !lost.is_empty() {
            self.depart(
                Rule::ExactlyOnce,
                format!("accepted and never taken (key, slot): {lost:?}"),
            );
        }
        self.departures
    }

    /// Runs one step and compares what the scheduler then reports; whether it took an
    /// item.
    fn apply(&mut self, op: &Op) -> bool {
        self.step += 1;
        let took = match *op {
            Op::Push(key) => {
                self.push(Key(key));
                false
            }
            Op::Pop => self.pop(),
            Op::Done(i) => {
                self.done(i);
                false
            }
            Op::TakeAny => self.take_any(),
            Op::Close => {
                let first = self.keys.close();
                if first == self.model.closed {
                    self.depart(
                        Rule::Closed,
                        format!("close returned {first} with closed = {}", self.model.closed),
                    );
                }
                self.model.closed = true;
                false
            }
        };
        self.observe();
        took
    }

    fn push(&mut self, key: Key) {
        let Some(slot) = self.slots.pop() else {
            return;
        };
        let id = OperationId::new(0, slot, self.generations[slot as usize]);
        let expected = self.model.verdict(key);
        let result = Schedule::push(&self.keys, id, Some(&key));
        let verdict = verdict_of(&result);
        if verdict != expected {
            self.depart(
                Rule::Refusals,
                format!(
                    "push of key {key:?} came to {verdict:?}, not {expected:?} (waiting {}, of \
                     key {}, live keys {})",
                    self.model.waiting(),
                    self.model.waiting_of(key),
                    self.model.lines.len()
                ),
            );
        }
        if let Err(PushError::Full(back) | PushError::Closed(back)) = result {
            if back != id {
                self.depart(
                    Rule::Refusals,
                    format!("a refused push handed back {back:?}"),
                );
            }
            self.slots.push(slot);
            return;
        }
        let was_takeable = self.model.takeable(key);
        self.model
            .lines
            .entry(key)
            .or_default()
            .waiting
            .push_back(id);
        self.accepted.insert(id, (key, 0));
        if !was_takeable && self.model.takeable(key) {
            self.model.ready.push_back(key);
            self.became_ready(key);
        }
    }

    /// A worker's pop; whether it took an item.
    fn pop(&mut self) -> bool {
        let takeable = self.model.takeable_keys();
        match Queue::pop(&self.keys) {
            Ok(ticket) => {
                self.took(ticket, true);
                true
            }
            Err(error) => {
                if !takeable.is_empty() {
                    self.depart(
                        Rule::FindsWork,
                        format!("pop found {error:?} while keys {takeable:?} had items to start"),
                    );
                }
                let closed_and_empty = self.model.closed && self.model.waiting() == 0;
                if (error == PopError::Closed) != closed_and_empty {
                    self.depart(
                        Rule::Closed,
                        format!(
                            "pop answered {error:?} with closed = {} and {} waiting",
                            self.model.closed,
                            self.model.waiting()
                        ),
                    );
                }
                false
            }
        }
    }

    /// A cancel's `take_any`; whether it took an item.
    fn take_any(&mut self) -> bool {
        let in_turn = !self.model.takeable_keys().is_empty();
        match Queue::take_any(&self.keys) {
            Some(ticket) => {
                self.took(ticket, in_turn);
                true
            }
            None => {
                let waiting = self.model.waiting();
                if waiting > 0 {
                    self.depart(
                        Rule::FindsWork,
                        format!("take_any found nothing while {waiting} items wait"),
                    );
                }
                false
            }
        }
    }

    /// The scheduler handed out `ticket`: through the turns (a pop, or a `take_any`
    /// while some key may start), or held back by its key's limit (`take_any` only).
    fn took(&mut self, ticket: KeyTicket, in_turn: bool) {
        let id = <Keys<Key> as Schedule>::id(&ticket);
        let Some(&(key, times)) = self.accepted.get(&id) else {
            self.depart(Rule::ExactlyOnce, format!("took {id:?}, never accepted"));
            return;
        };
        if times > 0 {
            self.depart(
                Rule::ExactlyOnce,
                format!("took slot {} of key {key:?} again", id.index()),
            );
            return;
        }
        self.accepted.insert(id, (key, 1));
        let per_key = self.model.per_key;
        let line = self
            .model
            .lines
            .get_mut(&key)
            .expect("an accepted item waits");
        let Some(place) = line.waiting.iter().position(|&w| w == id) else {
            unreachable!("an accepted item not yet taken waits in its key's line")
        };
        let oldest = line.waiting[0];
        let taken_before = line.taken;
        line.waiting.remove(place);
        line.taken += 1;
        self.tickets.push((ticket, key));
        if place != 0 {
            self.depart(
                Rule::Oldest,
                format!(
                    "took slot {} of key {key:?}, whose oldest waiting item is slot {}",
                    id.index(),
                    oldest.index()
                ),
            );
        }
        if !in_turn {
            return;
        }
        if taken_before >= per_key {
            self.depart(
                Rule::BelowLimit,
                format!("pop took an item of key {key:?}, which had {taken_before} taken"),
            );
        }
        let front = self.model.ready.front().copied();
        if front != Some(key) {
            self.depart(
                Rule::Turns,
                format!(
                    "key {key:?} started while key {front:?} had the turn (ready: {:?}, turn \
                     {})",
                    self.model.ready, self.model.turn
                ),
            );
        }
        self.model.started_in_turn(key);
        // The documented bound, from the takeable keys alone.
        self.bounds.remove(&key);
        let mut broken = Vec::new();
        for (other, (seen, bound)) in &mut self.bounds {
            *seen += 1;
            if *seen > *bound {
                broken.push((*other, *bound));
            }
        }
        for (other, bound) in broken {
            self.bounds.remove(&other);
            self.depart(
                Rule::Bound,
                format!("key {other:?} has waited more than {bound} starts of other keys"),
            );
        }
        if self.model.takeable(key) {
            self.became_ready(key);
        }
    }

    /// `key` may start an item, behind the other keys that may: it starts within
    /// `threshold` starts of each.
    fn became_ready(&mut self, key: Key) {
        let others = self
            .model
            .takeable_keys()
            .into_iter()
            .filter(|&k| k != key)
            .count();
        self.bounds.insert(key, (0, others * self.model.threshold));
    }

    fn done(&mut self, i: usize) {
        if self.tickets.is_empty() {
            return;
        }
        let (ticket, key) = self.tickets.remove(i % self.tickets.len());
        let before = self.model.takeable(key);
        let line = self
            .model
            .lines
            .get_mut(&key)
            .expect("a taken item's key is live");
        line.taken -= 1;
        let idle = line.waiting.is_empty() && line.taken == 0;
        let after = self.model.takeable(key);
        let reported = Schedule::done(&self.keys, ticket);
        let made_takeable = !before && after;
        if reported != made_takeable {
            self.depart(
                Rule::Wakes,
                format!(
                    "done on key {key:?} reported {reported}, but it made an item takeable: \
                     {made_takeable}"
                ),
            );
        }
        if made_takeable {
            self.model.ready.push_back(key);
            self.became_ready(key);
        }
        if idle {
            self.model.lines.remove(&key);
        }
        let slot = <Keys<Key> as Schedule>::id(&ticket).index();
        self.generations[slot as usize] += 1;
        self.slots.push(slot);
    }

    /// Compares what the scheduler reports with the model after each step.
    fn observe(&mut self) {
        for key in (0..KEYS).map(Key) {
            let expected = self
                .model
                .lines
                .get(&key)
                .map_or((0, 0), |line| (line.waiting.len(), line.taken));
            let counts = self.keys.counts(&key);
            if counts != expected {
                self.depart(
                    Rule::Counts,
                    format!("counts of key {key:?} are {counts:?}, not {expected:?}"),
                );
            }
            let free = self.keys.free_for(&key);
            let room = self.model.free_for(key);
            if free != room {
                self.depart(
                    Rule::Refusals,
                    format!("free_for key {key:?} is {free}, not {room}"),
                );
            }
        }
        let active = self.keys.active_keys();
        if active != self.model.lines.len() {
            self.depart(
                Rule::Counts,
                format!("{active} active keys, not {}", self.model.lines.len()),
            );
        }
        let full = self.model.waiting() >= self.model.capacity;
        if self.keys.is_full() != full {
            self.depart(Rule::Refusals, format!("is_full is not {full}"));
        }
        if self.keys.is_closed() != self.model.closed {
            self.depart(
                Rule::Closed,
                format!("is_closed is not {}", self.model.closed),
            );
        }
    }
}

/// Runs one case and fails it on a departure under `rules`.
fn check(setup: &Setup, ops: &[Op], ending: Ending, rules: &[Rule]) -> Result<(), TestCaseError> {
    let departures = Run::new(setup).run(ops, ending);
    let broken: Vec<String> = departures
        .iter()
        .filter(|d| rules.contains(&d.rule))
        .map(|d| format!("step {}, {:?}: {}", d.step, d.rule, d.what))
        .collect();
    prop_assert!(broken.is_empty(), "{broken:#?}");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_push_is_refused_exactly_when_closed_full_over_its_keys_share_or_out_of_key_entries(
        setup in setups(), ops in ops(), ending in endings()
    ) {
        check(&setup, &ops, ending, &[Rule::Refusals])?;
    }

    #[test]
    fn every_take_is_the_oldest_waiting_item_of_its_key(
        setup in setups(), ops in ops(), ending in endings()
    ) {
        check(&setup, &ops, ending, &[Rule::Oldest])?;
    }

    #[test]
    fn pop_stays_within_the_per_key_limit_and_finds_every_item_that_may_start(
        setup in setups(), ops in ops(), ending in endings()
    ) {
        check(&setup, &ops, ending, &[Rule::BelowLimit, Rule::FindsWork])?;
    }

    #[test]
    fn keys_take_turns_in_the_order_they_became_ready_for_at_most_threshold_starts(
        setup in setups(), ops in ops(), ending in endings()
    ) {
        check(&setup, &ops, ending, &[Rule::Turns])?;
    }

    #[test]
    fn a_key_ready_behind_r_others_starts_within_r_times_threshold_starts(
        setup in setups(), ops in ops(), ending in endings()
    ) {
        check(&setup, &ops, ending, &[Rule::Bound])?;
    }

    #[test]
    fn every_accepted_item_is_taken_once_and_closed_means_closed_and_empty(
        setup in setups(), ops in ops(), ending in endings()
    ) {
        check(&setup, &ops, ending, &[Rule::ExactlyOnce, Rule::Closed])?;
    }

    #[test]
    fn done_reports_a_newly_takeable_item_and_counts_follow_the_items(
        setup in setups(), ops in ops(), ending in endings()
    ) {
        check(&setup, &ops, ending, &[Rule::Wakes, Rule::Counts])?;
    }
}
