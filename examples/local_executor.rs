//! A coordinator on an executor written by hand: one thread, a run queue, a timer list.
//! This is the shape of an embedded executor: implement `Spawner` (take a `Send`
//! future and run it in the background) and `Timer` (sleep and read a monotonic
//! clock), and every coordinator runs on it.
//!
//! Run with `cargo run --example local_executor`.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use ephemeral::runtime::{Spawner, Timer};
use ephemeral::{OpContext, Options, WorkCoordinator};

/// A spawned future. Coordinators spawn `Send` futures (their workers may be polled
/// from any thread on other executors), so a single-threaded executor stores them as
/// `Send` too.
type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The executor's state: tasks ready to be polled, sleeping timers, and a condition
/// variable the run loop waits on when there is nothing to do.
struct Shared {
    ready: Mutex<VecDeque<Arc<Task>>>,
    timers: Mutex<Vec<(Instant, Waker)>>,
    wake: Condvar,
    origin: Instant,
}

struct Task {
    job: Mutex<Option<Job>>,
    shared: Arc<Shared>,
}

impl Wake for Task {
    fn wake(self: Arc<Self>) {
        let shared = self.shared.clone();
        shared.ready.lock().unwrap().push_back(self);
        shared.wake.notify_one();
    }
}

/// The executor's handle: what a coordinator is given as its runtime.
#[derive(Clone)]
struct Local(Arc<Shared>);

impl Spawner for Local {
    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let task = Arc::new(Task {
            job: Mutex::new(Some(Box::pin(future))),
            shared: self.0.clone(),
        });
        Waker::from(task).wake();
    }
}

impl Timer for Local {
    type Sleep = Sleep;

    fn sleep(&self, duration: Duration) -> Sleep {
        Sleep {
            at: Instant::now() + duration,
            shared: self.0.clone(),
        }
    }

    fn now(&self) -> Duration {
        self.0.origin.elapsed()
    }
}

/// Completes at `at`; until then it leaves its waker in the timer list.
struct Sleep {
    at: Instant,
    shared: Arc<Shared>,
}

impl Future for Sleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.at {
            return Poll::Ready(());
        }
        let waker = cx.waker().clone();
        self.shared.timers.lock().unwrap().push((self.at, waker));
        Poll::Pending
    }
}

/// Wakes the future `block_on` drives.
struct MainWaker {
    woken: AtomicBool,
    shared: Arc<Shared>,
}

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.shared.wake.notify_one();
    }
}

impl Local {
    fn new() -> Self {
        Local(Arc::new(Shared {
            ready: Mutex::new(VecDeque::new()),
            timers: Mutex::new(Vec::new()),
            wake: Condvar::new(),
            origin: Instant::now(),
        }))
    }

    /// Runs `future` and every spawned task on this thread until `future` finishes.
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        let shared = &self.0;
        let main = Arc::new(MainWaker {
            woken: AtomicBool::new(true),
            shared: shared.clone(),
        });
        let main_waker = Waker::from(main.clone());
        let mut future = std::pin::pin!(future);
        loop {
            if main.woken.swap(false, Ordering::SeqCst)
                && let Poll::Ready(output) =
                    future.as_mut().poll(&mut Context::from_waker(&main_waker))
            {
                return output;
            }
            // Poll each ready task once (a task woken meanwhile is queued again).
            let batch: Vec<_> = shared.ready.lock().unwrap().drain(..).collect();
            for task in batch {
                let waker = Waker::from(task.clone());
                let mut job = task.job.lock().unwrap();
                if let Some(running) = job.as_mut()
                    && running
                        .as_mut()
                        .poll(&mut Context::from_waker(&waker))
                        .is_ready()
                {
                    *job = None;
                }
            }
            // Fire due timers; sleep until the next one, or until something wakes us.
            let now = Instant::now();
            let next = {
                let mut timers = shared.timers.lock().unwrap();
                let (due, later): (Vec<_>, Vec<_>) =
                    timers.drain(..).partition(|(at, _)| *at <= now);
                *timers = later;
                due.into_iter().for_each(|(_, waker)| waker.wake());
                timers.iter().map(|(at, _)| *at).min()
            };
            let ready = shared.ready.lock().unwrap();
            if ready.is_empty() && !main.woken.load(Ordering::SeqCst) {
                let wait = next.map_or(Duration::from_millis(50), |at| at - now);
                drop(shared.wake.wait_timeout(ready, wait).unwrap());
            }
        }
    }
}

fn main() {
    let local = Local::new();
    let timer = local.clone();
    let coordinator = WorkCoordinator::new(
        local.clone(),
        Options::default().max_concurrency(4),
        move |n: u64, _: OpContext| {
            let timer = timer.clone();
            // Bodies may sleep on the executor's timer too.
            async move { timer.sleep(Duration::from_millis(n)).await }
        },
    )
    .expect("valid options");
    let started = Instant::now();
    local.block_on(async {
        coordinator.enqueue_many(1..=20).await.expect("open");
        coordinator.complete();
        coordinator.drain().await;
    });
    let totals = coordinator.totals();
    assert_eq!(totals.completed, 20);
    println!(
        "{} items on one hand-written executor thread in {:?} (4 at a time)",
        totals.completed,
        started.elapsed()
    );
}
