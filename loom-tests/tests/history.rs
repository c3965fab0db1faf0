//! The signal history ring: seqlock cells racing pushers, a visitor and `retain`.
//!
//! The checks: a visit racing pushes yields events whole, in ticket order, and our own
//! finished push unless two newer ones displaced it; `retain` racing a push into the
//! same cell removes the held event it rejects and never the pushed one. The models
//! check that the visit saw a racing push, saw none, skipped a push that had its ticket
//! but had not published, and missed our push displaced meanwhile, and that a push was
//! lapped by a newer one before it wrote; and that `retain` met the cell before the
//! push, after it, mid-write, and lost its removal to the push (offering the cell again).
#![cfg(loom)]

use core::time::Duration;
use std::cell::RefCell;
use std::sync::Mutex;

use ephemeral::loom_api::History;
use ephemeral::signal::{Signal, SignalEvent, SignalTable};
use loom::sync::Arc;
use loom::thread;
use loom_tests::explore;

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
    let sides = [
        "the visit saw a racing push",
        "the visit saw none of the racing pushes",
        "the visit skipped a push not yet published",
        "our push displaced before the visit read it",
        "a push lapped by a newer one before it wrote",
    ];
    explore(&sides, move |seen| {
        let signals = signals();
        let history = Arc::new(History::new(2));
        // The tickets in the order their pushes returned, outside loom's model: it only
        // says which side of the race the execution took.
        let returned = std::sync::Arc::new(Mutex::new(Vec::new()));
        let push = {
            let (history, returned) = (history.clone(), returned.clone());
            move |n| {
                let ticket = history.push_ticketed(event(&signals, n));
                returned.lock().unwrap().push(ticket);
                (n, ticket)
            }
        };
        let pushers: Vec<_> = [1, 2]
            .into_iter()
            .map(|n| {
                let push = push.clone();
                thread::spawn(move || push(n))
            })
            .collect();
        let mut tickets = vec![push(3)];
        let visited = held(&history, &signals);
        assert!(visited.len() <= 2, "{visited:?} from a ring of 2");
        tickets.extend(pushers.into_iter().map(|p| p.join().unwrap()));
        let ticket_of = |n: u64| tickets.iter().find(|&&(m, _)| m == n).unwrap().1;

        // The concurrent visit: oldest first by ticket, no duplicates.
        assert!(
            visited
                .windows(2)
                .all(|w| ticket_of(w[0]) < ticket_of(w[1])),
            "{visited:?} out of ticket order ({tickets:?})"
        );
        // Our own push finished before the visit; it is yielded unless displaced, which
        // takes two newer pushes, which a concurrent visit may or may not see.
        assert!(
            visited.contains(&3) || ticket_of(3) == 0,
            "{visited:?} lost our push"
        );

        if visited.iter().any(|&n| n != 3) {
            seen.saw(sides[0]);
        } else if visited == [3] {
            seen.saw(sides[1]);
        }
        // With the last ticket ours, the visit started after all three pushes took theirs,
        // so ticket 1 was in its range (and its cell is written once): missing it, the
        // visit skipped a push that had its ticket and had not published.
        if ticket_of(3) == 2 && visited == [3] {
            seen.saw(sides[2]);
        }
        if !visited.contains(&3) {
            seen.saw(sides[3]);
        }
        // Ticket 2 shares ticket 0's cell and waits while ticket 0 writes it, so returning
        // first, it took the cell before ticket 0 wrote, and ticket 0 left it alone.
        let order = returned.lock().unwrap().clone();
        let at = |t| order.iter().position(|&r| r == t).unwrap();
        if at(2) < at(0) {
            seen.saw(sides[4]);
        }

        // Quiescent: exactly the two newest by ticket, oldest first.
        tickets.sort_by_key(|&(_, t)| t);
        let newest: Vec<u64> = tickets[1..].iter().map(|&(n, _)| n).collect();
        assert_eq!(held(&history, &signals), newest, "tickets {tickets:?}");
    });
}

#[test]
fn retain_racing_a_push_removes_only_what_it_rejects() {
    let sides = [
        "retain offered only the held event",
        "retain offered only the racing push",
        "retain lost the cell to the push and offered it again",
        "retain found the cell mid-write",
    ];
    explore(&sides, move |seen| {
        let signals = signals();
        // Capacity 1: the push and `retain` race on the same cell.
        let history = Arc::new(History::new(1));
        history.push(event(&signals, 1));
        let pusher = {
            let history = history.clone();
            thread::spawn(move || history.push(event(&signals, 2)))
        };
        // Reject odd events: the held 1 must go, the concurrent 2 must stay.
        let offered = RefCell::new(Vec::new());
        history.retain(|e| {
            let n = number(&signals, e);
            offered.borrow_mut().push(n);
            n.is_multiple_of(2)
        });
        seen.saw(match offered.into_inner()[..] {
            [1] => sides[0],
            [2] => sides[1],
            [1, 2] => sides[2],
            [] => sides[3],
            ref other => panic!("retain offered {other:?}"),
        });
        let kept = held(&history, &signals);
        assert!(kept.is_empty() || kept == [2], "{kept:?}");
        pusher.join().unwrap();
        assert_eq!(held(&history, &signals), [2]);
    });
}
