extern crate std;

use alloc::format;
use alloc::vec::Vec;

use super::*;

#[test]
fn presence_bits_are_independent_across_words() {
    let table = SignalTable::new(130);
    let signals: Vec<_> = (0..130)
        .map(|i| table.intern(&format!("s{i}")).unwrap())
        .collect();
    for s in signals.iter().step_by(3) {
        table.raise(*s, Duration::ZERO);
    }
    for (i, s) in signals.iter().enumerate() {
        assert_eq!(table.is_raised(*s), i % 3 == 0, "signal {i}");
    }
    table.retract(signals[129]);
    assert!(!table.is_raised(signals[129]) && table.is_raised(signals[126]));
}

#[test]
fn a_handle_from_a_bigger_table_is_ignored_not_a_panic() {
    let big = SignalTable::new(10);
    for i in 0..10 {
        big.intern(&format!("n{i}")).unwrap();
    }
    let foreign = big.lookup("n9").unwrap();
    let small = SignalTable::new(2);
    small.raise(foreign, Duration::ZERO);
    assert!(!small.is_raised(foreign));
    assert_eq!(small.name(foreign), None);
    assert_eq!(small.raised_at(foreign), None);
}

#[test]
fn an_idle_name_is_reclaimed_and_its_old_handle_never_names_the_new_one() {
    let table = SignalTable::new(2);
    let kept = table.intern("kept").unwrap();
    table.raise(kept, Duration::ZERO);
    let old = table.intern("host-1").unwrap();
    let new = table.intern("host-2").unwrap();
    assert_eq!(old.index(), new.index(), "the idle slot was reused");
    assert_ne!(old, new);
    assert_eq!(table.reclaimed(), 1);
    assert_eq!(table.name(old), None);
    assert_eq!(table.lookup("host-1"), None);
    table.raise(new, Duration::from_secs(1));
    assert!(table.is_raised(new) && !table.is_raised(old));
    assert_eq!(table.raised_at(old), None);
    table.raise(old, Duration::ZERO);
    table.retract(old);
    assert!(table.is_raised(new), "a stale retract cleared the new name");
    assert_eq!(table.raised_at(new), Some(Duration::from_secs(1)));
    assert!(table.is_raised(kept), "a raised name is never reclaimed");
}

#[test]
fn a_pinned_name_is_kept_and_a_full_table_is_counted() {
    let table = SignalTable::new(1);
    let a = table.intern("a").unwrap();
    assert!(table.pin(a));
    assert_eq!(table.intern("b"), Err(TableError::Full { capacity: 1 }));
    assert_eq!(table.full_refusals(), 1);
    table.unpin(a);
    let b = table.intern("b").unwrap();
    assert!(!table.pin(a), "a stale handle cannot be pinned");
    assert_eq!(table.name(b).unwrap(), "b");
}

#[test]
fn the_oldest_idle_name_goes_first() {
    let table = SignalTable::new(3);
    let names: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|n| table.intern(n).unwrap())
        .collect();
    table.raise(names[0], Duration::ZERO);
    table.intern("d").unwrap();
    assert!(table.lookup("b").is_none(), "b was the oldest idle name");
    assert!(table.lookup("a").is_some() && table.lookup("c").is_some());
}

#[test]
fn names_past_the_limit_are_refused_and_never_found() {
    let table = SignalTable::with_name_bytes(2, 3);
    assert_eq!(
        table.intern("abcd"),
        Err(TableError::NameTooLong { max: 3 })
    );
    assert_eq!(table.lookup("abcd"), None);
    assert_eq!(table.intern("").unwrap_err(), TableError::EmptyName);
    assert!(table.intern("abc").is_ok());
}

/// Under miri this checks the publication and reclaim protocols on real threads.
#[test]
fn concurrent_interning_gives_one_handle_per_name() {
    let table = alloc::sync::Arc::new(SignalTable::new(8));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let table = table.clone();
            std::thread::spawn(move || ["a", "b", "c", "a"].map(|name| table.intern(name).unwrap()))
        })
        .collect();
    let seen: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(seen[0], seen[1]);
    assert_eq!(table.len(), 3);
    for name in ["a", "b", "c"] {
        let s = table.lookup(name).unwrap();
        assert_eq!(table.name(s).unwrap(), name);
    }
}

#[test]
fn racing_reclaims_never_let_a_handle_raise_another_name() {
    let table = alloc::sync::Arc::new(SignalTable::new(2));
    let rounds = if cfg!(miri) { 20 } else { 2000 };
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let table = table.clone();
            std::thread::spawn(move || {
                for r in 0..rounds {
                    let name = format!("t{t}-{r}");
                    let Ok(s) = table.intern(&name) else { continue };
                    table.raise(s, Duration::ZERO);
                    if table.is_raised(s) {
                        assert_eq!(table.name(s).as_deref(), Some(name.as_str()));
                    }
                    table.retract(s);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    for i in 0..2 {
        assert_eq!(table.presence(0) & (1 << i), 0, "a bit left behind");
    }
}
