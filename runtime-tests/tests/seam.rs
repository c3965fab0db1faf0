//! The runtime seam: every adapter spawns detached work and sleeps on its own timer.

use core::time::Duration;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ephemeral::runtime::{Spawner, Timer};
use runtime_tests::{AsyncStdExec, Executor, SingleThreadExec, SmolExec, TokioExec, gate, within};

fn spawned_tasks_run_and_sleeps_elapse<E: Executor>(exec: E) {
    let rt = exec.rt();
    exec.block_on(async move {
        let done = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = gate();
        for _ in 0..4 {
            let (rt2, done, tx) = (rt.clone(), done.clone(), tx.clone());
            rt.spawn(async move {
                let before = rt2.now();
                rt2.sleep(Duration::from_millis(20)).await;
                assert!(
                    rt2.now() - before >= Duration::from_millis(20),
                    "{}",
                    E::NAME
                );
                done.fetch_add(1, Ordering::SeqCst);
                let _ = tx.send(()).await;
            });
        }
        within(Duration::from_secs(10), async {
            for _ in 0..4 {
                rx.recv().await.unwrap();
            }
        })
        .await;
        assert_eq!(done.load(Ordering::SeqCst), 4, "{}", E::NAME);
    });
}

#[test]
fn smol_spawns_and_sleeps() {
    spawned_tasks_run_and_sleeps_elapse(SmolExec);
}

#[test]
fn tokio_spawns_and_sleeps() {
    spawned_tasks_run_and_sleeps_elapse(TokioExec::new());
}

#[test]
fn async_std_spawns_and_sleeps() {
    spawned_tasks_run_and_sleeps_elapse(AsyncStdExec);
}

#[test]
fn single_thread_spawns_and_sleeps() {
    spawned_tasks_run_and_sleeps_elapse(SingleThreadExec::new());
}
