//! Holding keys their gate defers, so that a deferred key holds no worker.
//!
//! A worker takes a key's item as usual and asks the gate (outside the lock: it is user
//! code). On `Defer(signal)` it hands the ticket back ([`Keys::hold_ticket`]): the item
//! returns to the head of its key's list and the key leaves `ready` for `parked`, so
//! `pop` passes over it and the worker takes another key's item. A held key is released
//! (put back in `ready`, its head item gated again) by the first `pop` or
//! [`next_release`](Keys::next_release) that finds its signal gone (retracted, or expired
//! by the sink's `max_age`) or its deferral bound passed. A retract notifies the sink's
//! `changed`, which idle workers of a holding queue listen on; expiry and the bound are
//! timed by a worker waiting in `release_due`, told of every new hold through `held`.
//!
//! No release is lost between the gate and the hold: the worker that held a key takes
//! its next item through `pop`, which releases every key whose signal is gone, and a
//! retract after that clears the bit before it notifies, so the `pop` of a worker it
//! wakes sees the key due (the `keyed_hold` loom model). The hold also checks, under the
//! lock, that the signal is still present, and hands the ticket back if it is not, so
//! a retract that came first costs no hold and release.
//!
//! The bound runs from `held_since`, set the first time the gate defers the key and
//! cleared when the gate next lets one of its items through (or the key is freed):
//! past it, the gate's `Defer` is answered with `Run` until the signal goes, as for a
//! held priority lane.

use super::*;
use crate::wakeup::Wakeup;

/// A keyed queue's gate and what holding needs of it.
pub(in crate::coordinator::keyed) struct Gating<K> {
    gate: KeyGate<K>,
    sink: SignalSink,
    /// Notified by each new hold, so a worker timing releases looks again.
    pub(super) held: Wakeup,
}

impl<K> Gating<K> {
    pub(super) fn new(gate: KeyGate<K>, sink: SignalSink) -> Self {
        Self {
            gate,
            sink,
            held: Wakeup::new(),
        }
    }

    /// The sink's clock, which signal ages and deferral bounds are measured on.
    pub(super) fn now(&self) -> Duration {
        self.sink.now()
    }

    /// Whether `signal` is present at `now` (raised, and not expired by `max_age`),
    /// without reading the clock (so it may be asked under the lock).
    fn present(&self, signal: Signal, now: Duration) -> bool {
        self.sink.table().is_raised(signal)
            && self
                .sink
                .expires_at(signal)
                .is_none_or(|expiry| now < expiry)
    }
}

impl<K: Hash + Eq> Keys<K> {
    /// The gate's decision for `ticket`'s item, whose key is `key`, with the deferral
    /// bound applied: `Defer` only within `max_defer` of the key's first deferral.
    pub(super) fn gate_ticket(&self, ticket: &KeyTicket, key: &K) -> Gate {
        let Some(gating) = &self.gating else {
            return Gate::Run;
        };
        let entry = ticket.entry as usize;
        match gating.gate.decide(key, &gating.sink) {
            Gate::Defer(signal) => {
                let now = gating.now();
                let within = self.table.with(|t| {
                    let e = &mut t.entries[entry];
                    let since = *e.held_since.get_or_insert_with(|| {
                        self.holding.fetch_add(1, Ordering::Relaxed);
                        now
                    });
                    now.saturating_sub(since) < self.max_defer
                });
                if within {
                    return Gate::Defer(signal);
                }
                Gate::Run
            }
            decided => {
                if self.holding.load(Ordering::Relaxed) > 0 {
                    self.table.with(|t| {
                        if t.entries[entry].held_since.take().is_some() {
                            self.holding.fetch_sub(1, Ordering::Relaxed);
                        }
                    });
                }
                decided
            }
        }
    }

    /// Takes `ticket` back and holds its key for `signal`, unless `signal` has gone
    /// meanwhile (the ticket comes back, to be gated again).
    pub(super) fn hold_ticket(&self, ticket: KeyTicket, signal: Signal) -> Result<(), KeyTicket> {
        let Some(gating) = &self.gating else {
            return Err(ticket);
        };
        let now = gating.now();
        let held = self.table.with(|t| {
            if !gating.present(signal, now) {
                return false;
            }
            let entry = ticket.entry;
            let e = &mut t.entries[entry as usize];
            // Back at the head of its key's list: it is the key's oldest waiting item.
            t.next[ticket.id.index() as usize] = e.head;
            e.head = Some(ticket.id);
            if e.tail.is_none() {
                e.tail = Some(ticket.id);
            }
            e.waiting += 1;
            e.running -= 1;
            let newly = e.parked.is_none();
            if newly {
                e.parked = Some(signal);
            }
            let was_ready = core::mem::take(&mut e.in_ready);
            e.streak = 0;
            if was_ready {
                t.ready.retain(|&ready| ready != entry);
            }
            if newly {
                // Within capacity: each entry is parked at most once.
                t.parked.push(entry);
            }
            // Under the lock, as every other write of it.
            let waiting = self.waiting.load(Ordering::Relaxed);
            self.waiting.store(waiting + 1, Ordering::Relaxed);
            true
        });
        if !held {
            return Err(ticket);
        }
        gating.held.notify(usize::MAX);
        Ok(())
    }

    /// Releases every held key that is due at `now`: its signal gone, its bound passed,
    /// or nothing of it left waiting. Returns whether it released any.
    pub(super) fn release_held(&self, t: &mut Table<K>, now: Duration) -> bool {
        let Some(gating) = &self.gating else {
            return false;
        };
        let mut released = false;
        let mut i = 0;
        while i < t.parked.len() {
            let entry = t.parked[i];
            let e = &t.entries[entry as usize];
            let due = e.waiting == 0
                || e.parked.is_none_or(|signal| !gating.present(signal, now))
                || e.held_since
                    .is_none_or(|since| now.saturating_sub(since) >= self.max_defer);
            if !due {
                i += 1;
                continue;
            }
            t.parked.swap_remove(i);
            let e = &mut t.entries[entry as usize];
            e.parked = None;
            if e.waiting > 0 {
                // Every item waiting in a held key was held back.
                self.released.fetch_add(e.waiting as u64, Ordering::Relaxed);
                if !e.in_ready && e.running < self.per_key {
                    t.make_ready(entry);
                    released = true;
                }
            }
        }
        released
    }

    /// The earliest time still to come at which a held key is due (its bound, or its
    /// signal's expiry: nothing else would tell a sleeping worker). Keys already due
    /// are released here, and the time is then now, so a waiting worker looks at once;
    /// returning a past time otherwise would make an idle or paused worker spin.
    pub(super) fn next_release(&self) -> Option<Duration> {
        let gating = self.gating.as_ref()?;
        let now = gating.now();
        self.table.with(|t| {
            if self.release_held(t, now) {
                return Some(now);
            }
            t.parked
                .iter()
                .filter_map(|&entry| {
                    let e = &t.entries[entry as usize];
                    let bound = e.held_since?.saturating_add(self.max_defer);
                    let expiry = e.parked.and_then(|signal| gating.sink.expires_at(signal));
                    Some(expiry.map_or(bound, |expiry| expiry.min(bound)))
                })
                .min()
        })
    }

    /// What a held key's release by a retract wakes (the sink's `changed`), for the
    /// models, which wait on it as a worker of a holding queue does.
    #[cfg(loom)]
    pub fn released_by(&self) -> Option<&Wakeup> {
        self.gating.as_ref().map(|gating| gating.sink.changed())
    }

    /// Items waiting in held keys.
    pub(super) fn held_items(&self) -> usize {
        if self.gating.is_none() {
            return 0;
        }
        self.table.with(|t| {
            t.parked
                .iter()
                .map(|&entry| t.entries[entry as usize].waiting)
                .sum()
        })
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::runtime::ManualClock;
    use core::fmt::Write;

    fn id(n: u32) -> OperationId {
        OperationId::new(0, n, 1)
    }

    fn gated(clock: &ManualClock) -> (Keys<u32>, SignalSink) {
        let sink = SignalSink::builder().clock(clock.clone()).build();
        let options = Options::default()
            .queue_capacity(16)
            .max_concurrency(4)
            .max_defer(Duration::from_secs(1))
            .signals(sink.clone());
        let mut gate = KeyGate::default();
        gate.add_named("open.{key}", false, |key: &u32, name| write!(name, "{key}"));
        let keys = Keys::new(&options, &KeyLimits::default(), 32).gated(gate, sink.clone());
        (keys, sink)
    }

    fn push(keys: &Keys<u32>, n: u32, key: u32) {
        Schedule::push(keys, id(n), Some(&key)).unwrap();
    }

    /// Takes the next item as a worker does: through the gate, holding deferred ones.
    fn take(keys: &Keys<u32>, key_of: impl Fn(u32) -> u32) -> Option<KeyTicket> {
        loop {
            let ticket = keys.pop().ok()?;
            match keys.gate(&ticket, &key_of(ticket.id.index())) {
                Gate::Defer(signal) => {
                    if let Err(back) = keys.hold(ticket, signal) {
                        return Some(back);
                    }
                }
                _ => return Some(ticket),
            }
        }
    }

    #[test]
    fn a_held_key_is_passed_over_and_released_in_order_when_its_signal_goes() {
        let clock = ManualClock::new();
        let (keys, sink) = gated(&clock);
        let key_of = |n: u32| if n < 2 { 1 } else { 2 };
        push(&keys, 0, 1);
        push(&keys, 1, 1);
        push(&keys, 2, 2);
        sink.raise("open.1").unwrap();
        let other = take(&keys, key_of).unwrap();
        assert_eq!(other.id, id(2), "key 1 is held; key 2 is not behind it");
        assert!(take(&keys, key_of).is_none());
        assert_eq!((keys.held(), keys.counts(&1)), (2, (2, 0)));
        sink.retract("open.1");
        let first = take(&keys, key_of).unwrap();
        assert_eq!(first.id, id(0), "the held item kept its place");
        assert_eq!((keys.held(), keys.released()), (0, 2));
        keys.done(first);
        assert_eq!(take(&keys, key_of).unwrap().id, id(1));
    }

    #[test]
    fn past_its_bound_a_held_key_runs_while_the_signal_stays() {
        let clock = ManualClock::new();
        let (keys, sink) = gated(&clock);
        push(&keys, 0, 1);
        sink.raise("open.1").unwrap();
        assert!(take(&keys, |_| 1).is_none());
        assert_eq!(keys.next_release(), Some(Duration::from_secs(1)));
        clock.advance(Duration::from_secs(1));
        let ticket = take(&keys, |_| 1).unwrap();
        assert_eq!(ticket.id, id(0));
        assert!(sink.is_raised("open.1"));
    }

    #[test]
    fn a_hold_after_the_retract_hands_the_ticket_back() {
        let clock = ManualClock::new();
        let (keys, sink) = gated(&clock);
        push(&keys, 0, 1);
        let open = sink.raise("open.1").unwrap();
        let ticket = keys.pop().unwrap();
        assert_eq!(keys.gate(&ticket, &1), Gate::Defer(open));
        sink.retract(open);
        let back = keys.hold(ticket, open).unwrap_err();
        assert_eq!(back.id, id(0));
        assert_eq!(keys.gate(&back, &1), Gate::Run);
        keys.done(back);
        assert_eq!((keys.active_keys(), keys.held()), (0, 0));
    }

    #[test]
    fn cancelling_a_held_keys_items_frees_the_key() {
        let clock = ManualClock::new();
        let (keys, sink) = gated(&clock);
        push(&keys, 0, 1);
        push(&keys, 1, 1);
        sink.raise("open.1").unwrap();
        assert!(take(&keys, |_| 1).is_none());
        let a = keys.take_any().unwrap();
        let b = keys.take_any().unwrap();
        keys.done(a);
        keys.done(b);
        assert_eq!((keys.active_keys(), keys.held()), (0, 0));
        assert!(keys.table.with(|t| t.parked.is_empty()));
    }
}
