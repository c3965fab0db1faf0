//! One-shot bounded processing: at most N bodies in flight over an iterator or a stream.
//!
//! [`for_each_stream`] runs inside the calling task: no spawner, no task per item. It
//! keeps a fixed array of N in-flight body futures, allocated once, and refills a slot
//! as soon as its body finishes, so items allocate nothing. [`for_each_spawned`] instead
//! hands the items to a [`WorkCoordinator`] for parallelism across threads.
//! [`map`] and [`map_stream`] run the same loop and also keep what the bodies return.
//!
//! Signals: both honour `cancel_on` (checked before each body starts; a cancelled item
//! is a `Cancelled` operation naming the signal, counted in [`Summary::cancelled`]) and
//! `drain_on` (once raised, no further item is taken; bodies already running finish).
//! `defer_on` and `resume_on` need a timer to bound a deferral by: `for_each_spawned`
//! has its runtime's and honours them, while `for_each` and `for_each_stream` refuse
//! `defer_on` with [`OptionsError::DeferWithoutTimer`].

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::future::{Future, poll_fn};
use core::pin::Pin;
use core::task::Poll;
use core::time::Duration;

use futures_lite::Stream;
use pin_project_lite::pin_project;

use crate::coordinator::OpContext;
use crate::coordinator::{
    BodyOutput, CancelCause, Control, Gate, Guarded, Outcome, Signals, Totals, WorkCoordinator,
};
use crate::operation::{OperationId, State};
use crate::options::{Options, OptionsError};
use crate::runtime::{Spawner, Timer};
use crate::sync::{Arc, AtomicBool, Ordering, contain};
use crate::wakeup::Wakeup;
use crate::window::Snapshot;
use crate::window::Window;

mod map;
use map::MapOutput;
pub use map::{Mapped, map, map_stream};

/// What a one-shot run did: its counts and the window of its most recent operations.
///
/// ```
/// # #[cfg(feature = "std")] {
/// use ephemeral::{ForEachExt, OpContext, Options};
///
/// let summary = futures_lite::future::block_on(
///     (1..=20u32).ephemeral_for_each(&Options::default().max_concurrency(4), |n, _: OpContext| async move {
///         if n % 5 == 0 { Err("five") } else { Ok(()) }
///     }),
/// )
/// .unwrap();
/// assert_eq!((summary.completed, summary.failed), (16, 4));
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Summary<E> {
    /// Bodies that succeeded.
    pub completed: u64,
    /// Bodies that returned an error or panicked.
    pub failed: u64,
    /// Items cancelled by a `cancel_on` signal before their body started.
    pub cancelled: u64,
    /// The last `max_tracked` finished operations, oldest first (plus any pinned).
    pub recent: Vec<Snapshot<Outcome<E>>>,
}

pin_project! {
    struct InFlight<'a, F> {
        id: OperationId,
        // Its place in the order items were taken in.
        seq: usize,
        #[pin]
        body: Guarded<'a, F>,
    }
}

/// A pinned, fixed-size array of optional in-flight bodies.
type Slots<'a, F> = Pin<Box<[Option<InFlight<'a, F>>]>>;

fn slot<'s, 'a, F>(slots: &'s mut Slots<'a, F>, i: usize) -> Pin<&'s mut Option<InFlight<'a, F>>> {
    // SAFETY: the array's elements are pinned in place with it: an element is never
    // moved out, only replaced through `Pin::set`, which drops the old value where it
    // lies. Projecting a pinned slice to one element is therefore sound.
    unsafe { slots.as_mut().map_unchecked_mut(|all| &mut all[i]) }
}

#[cfg(feature = "std")]
fn now() -> Duration {
    crate::runtime::monotonic::now()
}

#[cfg(not(feature = "std"))]
fn now() -> Duration {
    // Without std there is no clock to read; operations carry zero timestamps.
    Duration::ZERO
}

/// Whether `drain_on` was raised, and the wake-up of a run waiting on its stream.
struct Drain {
    raised: AtomicBool,
    wakeup: Wakeup,
}

impl Drain {
    fn new() -> Self {
        Self {
            raised: AtomicBool::new(false),
            wakeup: Wakeup::new(),
        }
    }

    fn raise(&self) {
        self.raised.store(true, Ordering::Release);
        self.wakeup.notify(usize::MAX);
    }

    fn is_raised(&self) -> bool {
        self.raised.load(Ordering::Acquire)
    }
}

/// Runs `body` on every item of `stream`, at most `options.max_concurrency` at once,
/// inside the calling task. Resolves when every body has finished, or (with `drain_on`)
/// when the bodies running as it was raised have. `cancel_on` cancels items before
/// they start; `defer_on` is refused ([`OptionsError::DeferWithoutTimer`]): there is no
/// timer here to bound a deferral by.
///
/// ```
/// # #[cfg(feature = "std")] {
/// use ephemeral::{OpContext, Options, OptionsError, for_each_stream, signal::SignalSink};
///
/// let sink = SignalSink::new();
/// sink.raise("circuit-open").unwrap();
/// let options = Options::default().signals(sink.clone()).cancel_on("circuit-open");
/// let stream = futures_lite::stream::iter(0..10u32);
/// let summary = futures_lite::future::block_on(for_each_stream(stream, &options, |_, _: OpContext| async {}))
///     .unwrap();
/// assert_eq!((summary.completed, summary.cancelled), (0, 10));
///
/// let deferring = Options::default().defer_on("busy");
/// let refused = futures_lite::future::block_on(for_each_stream(futures_lite::stream::iter(0..1u32), &deferring, |_, _: OpContext| async {}));
/// assert_eq!(refused.err(), Some(OptionsError::DeferWithoutTimer));
/// # }
/// ```
///
/// ```
/// # #[cfg(feature = "std")] {
/// use ephemeral::{OpContext, Options, for_each_stream};
///
/// let stream = futures_lite::stream::iter(0..100u32);
/// let summary = futures_lite::future::block_on(for_each_stream(
///     stream,
///     &Options::default().max_concurrency(8).max_tracked(10),
///     |_, _: OpContext| async { futures_lite::future::yield_now().await },
/// ))
/// .unwrap();
/// assert_eq!(summary.completed, 100);
/// assert_eq!(summary.recent.len(), 10);
/// # }
/// ```
pub async fn for_each_stream<S, B, Fut>(
    stream: S,
    options: &Options,
    body: B,
) -> Result<Summary<<Fut::Output as BodyOutput>::Error>, OptionsError>
where
    S: Stream,
    B: Fn(S::Item, OpContext) -> Fut,
    Fut: Future,
    Fut::Output: BodyOutput,
    <Fut::Output as BodyOutput>::Error: Clone,
{
    run(stream, options, body, |_, _, _| {}).await
}

/// The loop under [`for_each_stream`] and [`map_stream`]: bodies in a fixed array of
/// `max_concurrency` slots, refilled from `stream`; `finished` is told of each item's
/// end (cancelled ones too), in the order they end.
async fn run<S, B, Fut>(
    stream: S,
    options: &Options,
    body: B,
    mut finished: impl FnMut(
        usize,
        Option<<Fut::Output as BodyOutput>::Value>,
        &Outcome<<Fut::Output as BodyOutput>::Error>,
    ),
) -> Result<Summary<<Fut::Output as BodyOutput>::Error>, OptionsError>
where
    S: Stream,
    B: Fn(S::Item, OpContext) -> Fut,
    Fut: Future,
    Fut::Output: BodyOutput,
    <Fut::Output as BodyOutput>::Error: Clone,
{
    if !options.defer_on.is_empty() {
        return Err(OptionsError::DeferWithoutTimer);
    }
    let window: Window<(), Outcome<<Fut::Output as BodyOutput>::Error>> = Window::new(options)?;
    let width = options.max_concurrency;
    let signals = Signals::new(options, window.marks().clone(), None, None);
    let drain = Arc::new(Drain::new());
    let closer = drain.clone();
    // Kept until the run ends: dropping it unsubscribes.
    let subscription = signals.drain_on(options, move || closer.raise())?;
    let draining = subscription.is_some();
    let mut drained = core::pin::pin!(drain.wakeup.until(|| drain.is_raised().then_some(())));
    let control = Arc::new(Control::new(width, 0, signals));
    let mut slots: Slots<'_, _> = Box::into_pin((0..width).map(|_| None).collect());
    let body = &body;
    let mut stream = core::pin::pin!(stream);
    let mut exhausted = false;
    let mut totals = Totals::default();
    let mut taken = 0;

    poll_fn(|cx| {
        loop {
            // One clock reading per pass over the in-flight bodies: a pass runs without
            // yielding, and reading the clock per start and finish cost a third of the
            // per-item time.
            let at = now();
            let mut progressed = false;
            let mut stream_waiting = false;
            let mut busy = 0;
            if draining && drain.is_raised() {
                exhausted = true;
            }
            for i in 0..width {
                let mut current = slot(&mut slots, i);
                if current.is_none() && !exhausted && !stream_waiting {
                    match stream.as_mut().poll_next(cx) {
                        Poll::Ready(Some(item)) => {
                            let seq = taken;
                            taken += 1;
                            if let Gate::Cancel(signal) = control.signals.decide_now() {
                                let cancelled = Outcome::Cancelled(CancelCause::Signal(signal));
                                finished(seq, None, &cancelled);
                                cancel(&window, cancelled, at);
                                // The item's `Drop` is user code.
                                let _ = contain(move || drop(item));
                                totals.cancelled += 1;
                                progressed = true;
                                continue;
                            }
                            let Some(id) = start(&window, at) else {
                                continue;
                            };
                            let context = OpContext::new(id, control.clone());
                            // Called inside the guard, as on a coordinator's workers: a
                            // body that panics before returning its future is a fault too.
                            let body =
                                Guarded::new(async move { body(item, context).await }, None, 0);
                            current.set(Some(InFlight { id, seq, body }));
                        }
                        Poll::Ready(None) => exhausted = true,
                        Poll::Pending => stream_waiting = true,
                    }
                }
                let Some(running) = current.as_mut().as_pin_mut() else {
                    continue;
                };
                let running = running.project();
                match running.body.poll(cx) {
                    Poll::Ready(ran) => {
                        let (state, outcome, value) = ran.settle();
                        finished(*running.seq, value, &outcome);
                        match state {
                            State::Completed => totals.completed += 1,
                            _ => totals.failed += 1,
                        }
                        // This run started it, so finishing cannot be refused.
                        let _ = window.finish(*running.id, state, outcome, at);
                        current.set(None);
                        progressed = true;
                    }
                    Poll::Pending => busy += 1,
                }
            }
            // Polled only until it resolves, which ends the taking for good.
            if draining && stream_waiting && !exhausted && drained.as_mut().poll(cx).is_ready() {
                exhausted = true;
                progressed = true;
            }
            if exhausted && busy == 0 && !progressed {
                return Poll::Ready(());
            }
            if !progressed {
                return Poll::Pending;
            }
        }
    })
    .await;
    drop(subscription);

    Ok(Summary {
        completed: totals.completed,
        failed: totals.failed,
        cancelled: totals.cancelled,
        recent: window.snapshot(now()),
    })
}

/// Records an item cancelled before it started.
fn cancel<E>(window: &Window<(), Outcome<E>>, cancelled: Outcome<E>, at: Duration) {
    // As in `start`, the window always has a slot for one more operation here.
    if let Ok(id) = window.insert((), at) {
        let _ = window.cancel(id, cancelled, at);
    }
}

/// Takes a window slot for a new operation and marks it running.
fn start<O>(window: &Window<(), O>, at: Duration) -> Option<OperationId> {
    // The window holds max_concurrency running operations plus its finished ones, so
    // it always has a slot for a new one here.
    let id = window.insert((), at).ok()?;
    window.start(id, at).ok()?;
    Some(id)
}

/// [`for_each_stream`] over an iterator.
///
/// ```
/// # #[cfg(feature = "std")] {
/// use ephemeral::{OpContext, Options, for_each};
///
/// let summary = futures_lite::future::block_on(for_each(
///     vec!["a", "b", "c"],
///     &Options::default().max_concurrency(2),
///     |s, _: OpContext| async move { assert_eq!(s.len(), 1) },
/// ))
/// .unwrap();
/// assert_eq!(summary.completed, 3);
/// # }
/// ```
pub async fn for_each<I, B, Fut>(
    items: I,
    options: &Options,
    body: B,
) -> Result<Summary<<Fut::Output as BodyOutput>::Error>, OptionsError>
where
    I: IntoIterator,
    B: Fn(I::Item, OpContext) -> Fut,
    Fut: Future,
    Fut::Output: BodyOutput,
    <Fut::Output as BodyOutput>::Error: Clone,
{
    for_each_stream(futures_lite::stream::iter(items), options, body).await
}

/// Like [`for_each`], but the bodies run on a [`WorkCoordinator`]'s workers through
/// `rt`, so they can use several threads.
///
/// ```
/// # #[cfg(feature = "smol")] {
/// use ephemeral::{OpContext, Options, for_each_spawned, runtime::Smol};
///
/// let summary = smol::block_on(for_each_spawned(Smol, 0..1_000u32, Options::default(), |_, _: OpContext| async {}))
///     .unwrap();
/// assert_eq!(summary.completed, 1_000);
/// # }
/// ```
pub async fn for_each_spawned<R, I, B, Fut>(
    rt: R,
    items: I,
    options: Options,
    body: B,
) -> Result<Summary<<Fut::Output as BodyOutput>::Error>, OptionsError>
where
    R: Spawner + Timer,
    I: IntoIterator,
    I::Item: Send + 'static,
    B: Fn(I::Item, OpContext) -> Fut + Send + Sync + 'static,
    Fut: Future + Send,
    Fut::Output: BodyOutput<Value = ()>,
    <Fut::Output as BodyOutput>::Error: Clone + Send + Sync + 'static,
{
    let coordinator = WorkCoordinator::new(rt, options, body)?;
    // Only `complete` closes the coordinator, and we call it after this loop.
    let _ = coordinator.enqueue_many(items).await;
    coordinator.complete();
    coordinator.drain().await;
    let totals = coordinator.totals();
    Ok(Summary {
        completed: totals.completed,
        failed: totals.failed,
        cancelled: totals.cancelled,
        recent: coordinator.snapshot(),
    })
}

/// The original's `items.EphemeralForEachAsync(body, options)`, for any iterable.
///
/// ```
/// # #[cfg(feature = "std")] {
/// use ephemeral::{ForEachExt, OpContext, Options};
///
/// let summary = futures_lite::future::block_on(
///     vec![1, 2, 3].ephemeral_for_each(&Options::default(), |n: i32, _: OpContext| async move { assert!(n > 0) }),
/// )
/// .unwrap();
/// assert_eq!(summary.completed, 3);
/// # }
/// ```
pub trait ForEachExt: IntoIterator + Sized {
    /// Runs `body` on every item with bounded concurrency, inside the calling task.
    fn ephemeral_for_each<B, Fut>(
        self,
        options: &Options,
        body: B,
    ) -> impl Future<Output = Result<Summary<<Fut::Output as BodyOutput>::Error>, OptionsError>>
    where
        B: Fn(Self::Item, OpContext) -> Fut,
        Fut: Future,
        Fut::Output: BodyOutput,
        <Fut::Output as BodyOutput>::Error: Clone,
    {
        for_each(self, options, body)
    }

    /// [`map`]: runs `body` on every item with bounded concurrency, inside the calling
    /// task, and keeps what each returned, in input order.
    ///
    /// ```
    /// # #[cfg(feature = "std")] {
    /// use ephemeral::{ForEachExt, OpContext, Options};
    ///
    /// let mapped = futures_lite::future::block_on(
    ///     ["a", "bb", "ccc"].ephemeral_map(&Options::default(), |s: &str, _: OpContext| async move {
    ///         Ok::<_, ()>(s.len())
    ///     }),
    /// )
    /// .unwrap();
    /// assert_eq!(mapped.into_values(), [Some(1), Some(2), Some(3)]);
    /// # }
    /// ```
    fn ephemeral_map<B, Fut>(
        self,
        options: &Options,
        body: B,
    ) -> impl Future<Output = MapOutput<Fut>>
    where
        B: Fn(Self::Item, OpContext) -> Fut,
        Fut: Future,
        Fut::Output: BodyOutput,
        <Fut::Output as BodyOutput>::Error: Clone,
    {
        map(self, options, body)
    }
}

impl<I: IntoIterator> ForEachExt for I {}

#[cfg(all(test, not(loom), feature = "std"))]
mod tests {
    use super::*;
    use crate::signal::SignalSink;
    use futures_lite::future::{block_on, yield_now};

    /// Bodies finish out of order (item n yields n % 4 times), so slots are refilled
    /// while others stay pinned mid-flight; under miri this exercises the slot projection.
    #[test]
    fn slots_refill_out_of_order_and_every_item_is_counted() {
        let options = Options::default().max_concurrency(3).max_tracked(4);
        let summary = block_on(for_each(0..20u32, &options, |n, _: OpContext| async move {
            for _ in 0..n % 4 {
                yield_now().await;
            }
            if n % 5 == 0 { Err(n) } else { Ok(()) }
        }))
        .unwrap();
        assert_eq!((summary.completed, summary.failed), (16, 4));
        assert_eq!(summary.recent.len(), 4);
        assert!(summary.recent.iter().all(|s| s.state.is_finished()));
    }

    #[test]
    fn a_cancel_on_signal_raised_by_a_body_cancels_the_items_not_yet_started() {
        let sink = SignalSink::new();
        let options = Options::default()
            .max_concurrency(1)
            .signals(sink.clone())
            .cancel_on("circuit-open");
        let summary = block_on(for_each(
            0..10u32,
            &options,
            |n, ctx: OpContext| async move {
                if n == 3 {
                    ctx.signal("circuit-open").unwrap();
                }
            },
        ))
        .unwrap();
        assert_eq!((summary.completed, summary.cancelled), (4, 6));
        let open = sink.table().lookup("circuit-open").unwrap();
        let cancelled: Vec<_> = summary
            .recent
            .iter()
            .filter(|s| s.state == State::Cancelled)
            .collect();
        assert_eq!(cancelled.len(), 6);
        assert!(cancelled.iter().all(|s| s.started_at.is_none()
            && s.outcome == Some(Outcome::Cancelled(CancelCause::Signal(open)))));
    }

    #[test]
    fn drain_on_stops_taking_items_and_the_running_bodies_finish() {
        let sink = SignalSink::new();
        let options = Options::default()
            .max_concurrency(2)
            .signals(sink.clone())
            .drain_on("shutdown");
        // An endless stream: only the drain ends the run.
        let summary = block_on(for_each(
            0..,
            &options,
            |n: u64, ctx: OpContext| async move {
                yield_now().await;
                if n == 5 {
                    ctx.signal("shutdown").unwrap();
                }
            },
        ))
        .unwrap();
        assert!(
            (6..=8).contains(&summary.completed),
            "{}",
            summary.completed
        );
        assert_eq!((summary.failed, summary.cancelled), (0, 0));
    }

    #[test]
    fn drain_on_wakes_a_run_waiting_on_its_stream() {
        let sink = SignalSink::new();
        let options = Options::default()
            .signals(sink.clone())
            .drain_on("shutdown");
        let raiser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            sink.raise("shutdown").unwrap();
        });
        let stream = futures_lite::stream::pending::<u32>();
        let summary =
            block_on(for_each_stream(stream, &options, |_, _: OpContext| async {})).unwrap();
        raiser.join().unwrap();
        assert_eq!(summary.completed, 0);
    }

    #[test]
    fn defer_on_is_refused_without_a_timer_and_nothing_runs() {
        let ran = core::cell::Cell::new(0);
        let options = Options::default().defer_on("busy");
        let refused = block_on(for_each(0..3u32, &options, |_, _: OpContext| {
            ran.set(ran.get() + 1);
            async {}
        }));
        assert_eq!(refused.err(), Some(OptionsError::DeferWithoutTimer));
        assert_eq!(ran.get(), 0);
    }

    #[cfg(feature = "smol")]
    #[test]
    fn for_each_spawned_defers_and_cancels_by_signal_and_counts_the_cancelled() {
        use crate::runtime::Smol;
        let sink = SignalSink::new();
        sink.raise("busy").unwrap();
        // One worker: items start in order, each after the one before it.
        let options = Options::default()
            .max_concurrency(1)
            .signals(sink.clone())
            .defer_on("busy")
            .cancel_on("gone");
        let summary = smol::block_on(async {
            let run = for_each_spawned(Smol, 0..10u32, options, |n, ctx: OpContext| async move {
                if n == 4 {
                    ctx.signal("gone").unwrap();
                }
            });
            let retract = async {
                smol::Timer::after(Duration::from_millis(20)).await;
                sink.retract("busy");
            };
            futures_lite::future::zip(run, retract).await.0
        })
        .unwrap();
        assert_eq!((summary.completed, summary.cancelled), (5, 5));
    }

    #[test]
    fn a_panicking_body_is_a_fault_with_its_message_and_the_rest_run_on() {
        let options = Options::default().max_concurrency(2);
        let summary = block_on(for_each(0..6u32, &options, |n, _: OpContext| async move {
            yield_now().await;
            assert!(n != 3, "item three is bad");
        }))
        .unwrap();
        assert_eq!((summary.completed, summary.failed), (5, 1));
        let fault = summary
            .recent
            .iter()
            .find(|s| s.state == State::Faulted)
            .unwrap();
        match fault.outcome.as_ref().unwrap() {
            Outcome::Panic(message) => assert_eq!(message.as_str(), "item three is bad"),
            other => panic!("expected a panic outcome, got {other:?}"),
        }
    }
}
