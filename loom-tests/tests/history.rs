//! The signal history ring: seqlock cells racing pushers, a visitor and `retain`.
#![cfg(loom)]

use core::time::Duration;

use ephemeral::loom_api::History;
use ephemeral::signal::{Signal, SignalEvent, SignalTable};
use loom::sync::Arc;
use loom::thread;

/// A self-checking event: signal, key and time all derive from `n`, so a torn read shows.
fn event(signals: &[Signal; 2], n: u64) -> SignalEvent {
    SignalEvent {
        signal: signals[(n % 2) as usize],
        operation_id: None,
        key: Some(n),
        at: Duration::from_nanos(n),
    }
}

/// The `n` an event was made from, after checking it is whole.
fn number(signals: &[Signal; 2], event: &SignalEvent) -> u64 {
    let n = event.at.as_nanos() as u64;
    assert_eq!(*event, self::event(signals, n), "torn event");
    n
}

fn signals() -> [Signal; 2] {
    let table = SignalTable::new(2);
    [table.intern("even").unwrap(), table.intern("odd").unwrap()]
}

fn held(history: &History, signals: &[Signal; 2]) -> Vec<u64> {
    let mut out = Vec::new();
    history.visit(|e| out.push(number(signals, e)));
    out
}

#[test]
fn racing_pushes_and_a_visit_keep_the_newest_in_order_and_never_tear() {
    loom::model(|| {
        let signals = signals();
        let history = Arc::new(History::new(2));
        let pushers: Vec<_> = [1, 2]
            .into_iter()
            .map(|n| {
                let history = history.clone();
                thread::spawn(move || (n, history.push_ticketed(event(&signals, n))))
            })
            .collect();
        let mut tickets = vec![(3, history.push_ticketed(event(&signals, 3)))];
        let seen = held(&history, &signals);
        assert!(seen.len() <= 2, "{seen:?} from a ring of 2");
        tickets.extend(pushers.into_iter().map(|p| p.join().unwrap()));
        let ticket_of = |n: u64| tickets.iter().find(|&&(m, _)| m == n).unwrap().1;

        // The concurrent visit: oldest first by ticket, no duplicates.
        assert!(
            seen.windows(2).all(|w| ticket_of(w[0]) < ticket_of(w[1])),
            "{seen:?} out of ticket order ({tickets:?})"
        );
        // Our own push finished before the visit; it is yielded unless displaced, which
        // takes two newer pushes, which a concurrent visit may or may not see.
        assert!(
            seen.contains(&3) || ticket_of(3) == 0,
            "{seen:?} lost our push"
        );

        // Quiescent: exactly the two newest by ticket, oldest first.
        tickets.sort_by_key(|&(_, t)| t);
        let newest: Vec<u64> = tickets[1..].iter().map(|&(n, _)| n).collect();
        assert_eq!(held(&history, &signals), newest, "tickets {tickets:?}");
    });
}

#[test]
fn retain_racing_a_push_removes_only_what_it_rejects() {
    loom::model(|| {
        let signals = signals();
        // Capacity 1: the push and `retain` race on the same cell.
        let history = Arc::new(History::new(1));
        history.push(event(&signals, 1));
        let pusher = {
            let history = history.clone();
            thread::spawn(move || history.push(event(&signals, 2)))
        };
        // Reject odd events: the held 1 must go, the concurrent 2 must stay.
        history.retain(|e| number(&signals, e).is_multiple_of(2));
        let seen = held(&history, &signals);
        assert!(seen.is_empty() || seen == [2], "{seen:?}");
        pusher.join().unwrap();
        assert_eq!(held(&history, &signals), [2]);
    });
}
