//! Observing operations (IMPLEMENTATION.md, Snapshots): the lending queries show every
//! field of a `std::io::Error` body's operations, running and failed; snapshots say what
//! ran (its label) and for how long, on every executor.

use core::fmt::Write;
use core::time::Duration;
use std::io;

use ephemeral::runtime::{ManualClock, Runtime};
use ephemeral::{
    KeyedWorkCoordinator, Label, Lane, OpContext, Options, Outcome, PriorityWorkCoordinator,
    ResultCoordinator, State, WorkCoordinator,
};
use runtime_tests::{Executor, LIMIT, gate, on_every_executor, until, within};

/// `with`, `visit_running` and `visit_failed` lend each snapshot: an `io::Error`
/// (not `Clone`) is read whole, its kind, message and source included.
fn io_errors_are_observed_whole_without_clone<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let (open, shut) = gate();
        let coordinator = WorkCoordinator::new(
            rt,
            Options::default().max_concurrency(2),
            move |n: u32, _: OpContext| {
                let shut = shut.clone();
                async move {
                    if n == 0 {
                        let _ = shut.recv().await;
                        return Ok(());
                    }
                    let kind = if n.is_multiple_of(2) {
                        io::ErrorKind::TimedOut
                    } else {
                        io::ErrorKind::NotFound
                    };
                    Err(io::Error::new(kind, format!("item {n}")))
                }
            },
        )
        .unwrap();
        within(LIMIT, async {
            let held = coordinator.enqueue(0).await.unwrap();
            let mut ids = Vec::new();
            for n in 1..=3 {
                ids.push(coordinator.enqueue(n).await.unwrap());
            }
            let running_now = || {
                let mut n = 0;
                coordinator.visit_running(|_| n += 1);
                n
            };
            until(|| coordinator.totals().failed == 3 && running_now() == 1).await;

            let mut running = Vec::new();
            coordinator.visit_running(|s| {
                running.push((s.id, s.started_at.is_some(), s.outcome.is_none()))
            });
            assert_eq!(running, [(held, true, true)], "{}", E::NAME);

            let mut failed = Vec::new();
            coordinator.visit_failed(|s| {
                assert_eq!(s.state, State::Faulted);
                assert!(s.finished_at >= s.started_at);
                match s.outcome {
                    Some(Outcome::Error(e)) => failed.push((s.id, e.kind(), e.to_string())),
                    other => panic!("{}: unexpected outcome {other:?}", E::NAME),
                }
            });
            failed.sort_by_key(|(_, _, message)| message.clone());
            let expected: Vec<_> = ids
                .iter()
                .zip([
                    io::ErrorKind::NotFound,
                    io::ErrorKind::TimedOut,
                    io::ErrorKind::NotFound,
                ])
                .enumerate()
                .map(|(n, (id, kind))| (*id, kind, format!("item {}", n + 1)))
                .collect();
            assert_eq!(failed, expected, "{}", E::NAME);

            let kind = coordinator.with(ids[1], |s| {
                s.outcome.and_then(Outcome::error).map(io::Error::kind)
            });
            assert_eq!(kind, Some(Some(io::ErrorKind::TimedOut)), "{}", E::NAME);
            let mut completed = 0;
            coordinator.visit_completed(|_| completed += 1);
            assert_eq!(completed, 0, "{}: the held item still runs", E::NAME);

            open.close();
            coordinator.complete();
            coordinator.drain().await;
            assert_eq!(coordinator.with(held, |s| s.state), Some(State::Completed));
            coordinator.evict(ids[0]).unwrap();
            assert_eq!(
                coordinator.with(ids[0], |s| s.state),
                None,
                "{}: an evicted id lends nothing",
                E::NAME
            );
        })
        .await;
    });
}

/// A label given at enqueue is on every snapshot of the operation, running and failed
/// (a dead-letter list by URL, with the error kept as the body's own type); ages are
/// measured against the coordinator's clock.
fn snapshots_say_what_ran_and_for_how_long<E: Executor>(exec: E) {
    let clock = ManualClock::new();
    let rt = Runtime {
        spawner: exec.rt(),
        timer: clock.clone(),
    };
    exec.block_on(async move {
        let (open, shut) = gate();
        let coordinator = WorkCoordinator::new(
            rt,
            Options::default().max_concurrency(1),
            move |url: String, _: OpContext| {
                let shut = shut.clone();
                async move {
                    let _ = shut.recv().await;
                    if url.ends_with("/down") {
                        Err(io::Error::new(io::ErrorKind::ConnectionRefused, "refused"))
                    } else {
                        Ok(())
                    }
                }
            },
        )
        .unwrap();
        within(LIMIT, async {
            let urls = ["https://a.example/up", "https://b.example/down"];
            let mut ids = Vec::new();
            for url in urls {
                let mut label = Label::EMPTY;
                write!(label, "GET {url}").unwrap();
                ids.push(
                    coordinator
                        .enqueue_labelled(url.to_string(), label)
                        .await
                        .unwrap(),
                );
            }
            let unlabelled = coordinator
                .enqueue("https://c.example/down".into())
                .await
                .unwrap();
            let running_labels = || {
                let mut labels = Vec::new();
                coordinator.visit_running(|s| labels.push(s.label));
                labels
            };
            until(|| running_labels().len() == 1).await;
            clock.advance(Duration::from_secs(3));
            let now = coordinator.now();
            assert_eq!(
                running_labels(),
                [Label::new("GET https://a.example/up")],
                "{}",
                E::NAME
            );
            let (age, queued, ran) = coordinator
                .with(ids[1], |s| (s.age(now), s.queued_for(now), s.ran_for(now)))
                .unwrap();
            assert_eq!(
                (age, queued, ran),
                (Duration::from_secs(3), Duration::from_secs(3), None)
            );
            let ran = coordinator.with(ids[0], |s| s.ran_for(now)).unwrap();
            assert_eq!(
                ran,
                Some(Duration::from_secs(3)),
                "{}: a running body's time so far",
                E::NAME
            );

            open.close();
            coordinator.complete();
            coordinator.drain().await;
            clock.advance(Duration::from_secs(1));
            let now = coordinator.now();
            let mut dead_letters = Vec::new();
            coordinator.visit_failed(|s| {
                let kind = s.outcome.and_then(Outcome::error).map(io::Error::kind);
                dead_letters.push((s.id, s.label.as_str().to_string(), kind, s.age(now)));
            });
            dead_letters.sort_by_key(|(id, ..)| *id != ids[1]);
            assert_eq!(
                dead_letters,
                [
                    (
                        ids[1],
                        "GET https://b.example/down".into(),
                        Some(io::ErrorKind::ConnectionRefused),
                        Duration::from_secs(4)
                    ),
                    (
                        unlabelled,
                        String::new(),
                        Some(io::ErrorKind::ConnectionRefused),
                        Duration::from_secs(4)
                    ),
                ],
                "{}",
                E::NAME
            );
            let finished = coordinator
                .with(ids[0], |s| (s.ran_for(now), s.duration()))
                .unwrap();
            assert_eq!(
                finished,
                (Some(Duration::from_secs(3)), Some(Duration::from_secs(3))),
                "{}: a finished body's time stops at its end",
                E::NAME
            );
        })
        .await;
    });
}

/// The builder's `describe` labels the items of every kind of coordinator, however they
/// were enqueued (one by one, in bulk, waiting or not); a label given at enqueue wins.
fn describe_labels_every_coordinators_items<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let describe = |n: &u32, label: &mut Label| {
            let _ = write!(label, "item {n}");
        };
        within(LIMIT, async {
            let work = WorkCoordinator::builder(rt.clone(), Options::default())
                .describe(describe)
                .build(|_: u32, _: OpContext| async {})
                .unwrap();
            work.enqueue_many([1, 2]).await.unwrap();
            work.try_enqueue(3).unwrap();
            work.enqueue_labelled(4, Label::new("given")).await.unwrap();
            work.drain().await;
            let mut labels = Vec::new();
            work.visit_completed(|s| labels.push(s.label.as_str().to_string()));
            labels.sort();
            assert_eq!(
                labels,
                ["given", "item 1", "item 2", "item 3"],
                "{}",
                E::NAME
            );

            let keyed =
                KeyedWorkCoordinator::builder(rt.clone(), |n: &u32| n % 2, Options::default())
                    .describe(describe)
                    .build(|_: u32, _: OpContext| async {})
                    .unwrap();
            keyed.enqueue(5).await.unwrap();
            keyed.drain().await;
            let mut seen = Vec::new();
            keyed.visit_keyed(|key, s| seen.push((key.copied(), s.label)));
            assert_eq!(seen, [(Some(1), Label::new("item 5"))], "{}", E::NAME);

            let results = ResultCoordinator::builder(rt.clone(), Options::default())
                .describe(describe)
                .build(|n: u32, _: OpContext| async move { Ok::<_, ()>(n) })
                .unwrap();
            let id = results.enqueue(6).await.unwrap();
            results.drain().await;
            assert_eq!(results.with(id, |s| s.label), Some(Label::new("item 6")));

            let lanes = PriorityWorkCoordinator::builder(
                rt.clone(),
                [Lane::new("only")],
                Options::default(),
            )
            .describe(describe)
            .build(|_: u32, _: OpContext| async {})
            .unwrap();
            let id = lanes.enqueue(7, lanes.lane("only").unwrap()).await.unwrap();
            lanes.drain().await;
            assert_eq!(
                lanes.with(id, |s| s.label),
                Some(Label::new("item 7")),
                "{}",
                E::NAME
            );
        })
        .await;
    });
}

/// A `describe` that panics is contained: the item is accepted and runs, labelled with
/// what was written before the panic, and the panic is counted.
fn a_panicking_describe_neither_loses_the_item_nor_wedges_enqueue<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let coordinator = WorkCoordinator::builder(rt, Options::default())
            .describe(|n: &u32, label: &mut Label| {
                let _ = write!(label, "item {n}");
                if *n == 1 {
                    panic!("describe failed");
                }
            })
            .build(|_: u32, _: OpContext| async {})
            .unwrap();
        within(LIMIT, async {
            let ids = [
                coordinator.enqueue(1).await.unwrap(),
                coordinator.enqueue(2).await.unwrap(),
            ];
            coordinator.drain().await;
            let labels = ids.map(|id| coordinator.with(id, |s| (s.state, s.label)));
            assert_eq!(
                labels,
                [
                    Some((State::Completed, Label::new("item 1"))),
                    Some((State::Completed, Label::new("item 2"))),
                ],
                "{}",
                E::NAME
            );
            assert_eq!(coordinator.totals().contained_panics, 1, "{}", E::NAME);
        })
        .await;
    });
}

on_every_executor!(
    io_errors_are_observed_whole_without_clone,
    snapshots_say_what_ran_and_for_how_long,
    describe_labels_every_coordinators_items,
    a_panicking_describe_neither_loses_the_item_nor_wedges_enqueue,
);
