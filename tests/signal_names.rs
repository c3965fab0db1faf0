//! Signal names are reclaimed once nobody uses them (IMPLEMENTATION.md, Signal table):
//! per-host or per-tenant names cycle through a small table, an old handle never answers
//! for the name that took its slot, and a table whose names are all in use refuses and
//! counts. Needs `smol` for the coordinator tests.
#![cfg(feature = "smol")]

use ephemeral::signal::{SignalSink, TableError};
use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};

#[test]
fn a_coordinator_cycles_ten_thousand_per_host_names_through_a_table_of_64() {
    smol::block_on(async {
        let options = Options::default()
            .signal_names(64)
            .max_tracked(16)
            .max_concurrency(4);
        let coordinator =
            WorkCoordinator::new(Smol, options, |host: u32, ctx: OpContext| async move {
                let name = format!("ratelimited.host-{host}");
                let signal = ctx.emit(&name).expect("a slot for the new name");
                assert_eq!(ctx.sink().name(signal).unwrap(), name.as_str());
                if host.is_multiple_of(3) {
                    // Left raised; an operator clears the one left 30 hosts ago.
                    ctx.sink()
                        .retract(format!("ratelimited.host-{}", host.wrapping_sub(30)));
                } else {
                    assert!(ctx.retract(&name));
                }
            })
            .unwrap();
        for host in 0..10_000 {
            coordinator.enqueue(host).await.unwrap();
        }
        coordinator.complete();
        coordinator.drain().await;
        let sink = coordinator.signals();
        assert_eq!(coordinator.totals().completed, 10_000);
        assert_eq!(sink.full_refusals(), 0);
        assert!(
            sink.table().reclaimed() > 9_000,
            "{}",
            sink.table().reclaimed()
        );
        assert_eq!(sink.table().capacity(), 64);
        // The window's operations still name their signals.
        for snapshot in coordinator.completed() {
            for signal in snapshot.signals.iter() {
                assert!(sink.name(*signal).is_some(), "a marked name was reclaimed");
            }
        }
    });
}

#[test]
fn an_old_handle_never_answers_for_the_name_that_took_its_slot() {
    let sink = SignalSink::builder().names(2).build();
    let kept = sink.raise("kept").unwrap();
    let old = sink.signal("host-a").unwrap();
    sink.raise(old).unwrap();
    sink.retract(old);
    let new = sink.raise("host-b").unwrap();
    assert_eq!(new.index(), old.index(), "host-a's slot was reused");
    assert_eq!(sink.name(old), None);
    assert!(!sink.is_raised(old) && sink.is_raised(new));
    assert_eq!(sink.raise(old), Err(TableError::UnknownHandle));
    assert!(!sink.retract(old));
    assert!(sink.is_raised(new), "the stale retract touched host-b");
    assert_eq!(
        sink.count(old),
        1,
        "the history keeps host-a's raise under its old handle"
    );
    assert_eq!(sink.count(new), 1);
    assert_eq!(
        sink.count_matching("host-*"),
        1,
        "a reclaimed name's events match no pattern"
    );
    assert!(sink.is_raised(kept));
}

#[test]
fn names_in_use_are_kept_and_a_full_table_is_counted() {
    smol::block_on(async {
        let sink = SignalSink::builder().names(3).build();
        // One name a gate names, one marked on an operation in the window, one raised.
        let options = Options::default()
            .signals(sink.clone())
            .cancel_on("gate")
            .max_tracked(4);
        let coordinator =
            WorkCoordinator::new(Smol, options, |n: u32, ctx: OpContext| async move {
                let name = format!("op-{n}");
                match ctx.emit(&name) {
                    Some(_) => assert!(ctx.retract(&name)),
                    None => assert!(ctx.signal(&name).is_err()),
                }
            })
            .unwrap();
        sink.raise("gate").unwrap();
        sink.retract("gate");
        sink.raise("up").unwrap();
        // Gate is idle, but the cancel_on mask pins it once a check has matched it.
        coordinator.enqueue(0).await.unwrap();
        coordinator.complete();
        coordinator.drain().await;
        assert!(sink.name(sink.signal("gate").unwrap()).is_some());
        assert_eq!(sink.raise("another"), Ok(sink.signal("another").unwrap()));
        // "another" is raised now too: every slot is in use.
        assert_eq!(
            sink.raise("one.more"),
            Err(TableError::Full { capacity: 3 })
        );
        assert!(sink.full_refusals() >= 1);
    });
}
