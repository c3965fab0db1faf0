//! IMPLEMENTATION.md, Snapshots and C9: the lending queries (`with`, `visit_running`,
//! `visit_completed`, `visit_failed`), labelled enqueues and `describe` allocate nothing, even for a
//! body error that allocates (`std::io::Error` with a message) and is not `Clone`.
#![cfg(feature = "smol")]

mod counting;

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use ephemeral::runtime::{ManualClock, Smol, Spawner, Timer};
use ephemeral::{Label, OpContext, Options, Outcome, WorkCoordinator};

type Worker = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Keeps the workers it is given without ever polling them: nothing waits on the
/// coordinator, so an enqueue wakes nobody (waking a task on a real executor may
/// allocate in the executor's own run queue, which is not the enqueue's cost).
#[derive(Clone, Default)]
struct Unpolled {
    held: std::sync::Arc<Mutex<Vec<Worker>>>,
    clock: ManualClock,
}

impl Spawner for Unpolled {
    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.held.lock().unwrap().push(Box::pin(future));
    }
}

impl Timer for Unpolled {
    type Sleep = <ManualClock as Timer>::Sleep;
    fn sleep(&self, duration: Duration) -> Self::Sleep {
        self.clock.sleep(duration)
    }
    fn now(&self) -> Duration {
        self.clock.now()
    }
}

#[test]
fn lending_queries_over_io_errors_allocate_nothing() {
    let coordinator = WorkCoordinator::new(
        Smol,
        Options::default().max_tracked(64),
        |n: u32, _: OpContext| async move {
            if n % 2 == 1 {
                Err(io::Error::other(format!("item {n}")))
            } else {
                Ok(())
            }
        },
    )
    .unwrap();
    let ids: Vec<_> = smol::block_on(async {
        let mut ids = Vec::new();
        for n in 0..32 {
            ids.push(
                coordinator
                    .enqueue_labelled(n, Label::new("job"))
                    .await
                    .unwrap(),
            );
        }
        coordinator.drain().await;
        ids
    });
    let (mut failed, mut completed, mut running, mut with_source) = (0, 0, 0, 0);
    let allocations = counting::allocations_during(|| {
        coordinator.visit_failed(|s| {
            failed += 1;
            if let Some(Outcome::Error(e)) = s.outcome {
                with_source +=
                    usize::from(e.kind() == io::ErrorKind::Other && e.get_ref().is_some());
            }
        });
        coordinator.visit_completed(|s| completed += usize::from(s.label.as_str() == "job"));
        coordinator.visit_running(|_| running += 1);
        for id in &ids {
            let kind = coordinator.with(*id, |s| {
                s.outcome.and_then(Outcome::error).map(io::Error::kind)
            });
            assert!(kind.is_some());
        }
    });
    assert_eq!((failed, completed, running, with_source), (16, 16, 0, 16));
    assert_eq!(allocations, 0, "a lending query allocated");
}

/// The builder's `describe` writes into the slot's fixed label: enqueueing through it
/// allocates nothing.
#[test]
fn describing_items_on_enqueue_allocates_nothing() {
    use core::fmt::Write;

    let coordinator =
        WorkCoordinator::builder(Unpolled::default(), Options::default().queue_capacity(256))
            .describe(|n: &u32, label: &mut Label| {
                let _ = write!(label, "order {n:>8} of a longer batch");
            })
            .build(|_: u32, _: OpContext| async {})
            .unwrap();
    coordinator.try_enqueue(0).unwrap();
    let allocations = counting::allocations_during(|| {
        for n in 1..128 {
            coordinator.try_enqueue(n).unwrap();
        }
    });
    assert_eq!(allocations, 0, "describing an item allocated");
    let mut truncated = 0;
    coordinator.visit(|s| truncated += usize::from(s.label.is_truncated()));
    assert_eq!(truncated, 128, "each label was cut to its capacity");
}
