//! Every public handle is `Send + Sync`, and every future the crate returns is `Send`,
//! for any type parameters the handle accepts: a coordinator can be shared between
//! threads and tasks, and its futures awaited in tasks that a multi-threaded executor
//! moves between threads. Checked at compile time: this file passes by compiling, and
//! fails to compile when a change makes any of them lose the trait (a `Cell`, an `Rc`
//! or a `!Send` guard held across an `.await`).
//!
//! The generic functions below are never called: the compiler proves each bound for
//! every type parameter that satisfies the handle's own bounds.

use core::future::Future;
use core::hash::Hash;

use ephemeral::runtime::{
    BoxedRuntime, BoxedSleep, ManualClock, ManualSleep, Runtime, Spawner, Timer,
};
use ephemeral::signal::{
    Name, Pattern, PatternSet, Signal, SignalChange, SignalChanges, SignalEvent, SignalMask,
    SignalSink, SignalTable, SinkBuilder, Subscription,
};
use ephemeral::{
    CancelCause, Completion, ConcurrencyError, CoordinatorBuilder, EnqueueError, FinishError,
    Finished, InsertError, KeyedWorkCoordinator, Lane, LaneError, LaneId, OpContext, OperationId,
    OperationSignals, Options, OptionsError, Outcome, PanicMessage, PriorityWorkCoordinator,
    ResultCoordinator, ResultError, Snapshot, State, Summary, Totals, WaitError, WeakCoordinator,
    Window, WindowError, WorkCoordinator,
};

fn send_sync<T: Send + Sync>() {}

fn send<F: Future + Send>(_: F) {}

fn send_stream<S: futures_lite::Stream + Send>(_: S) {}

/// The handles that take no type parameters, and the plain values.
#[test]
fn plain_types_are_send_and_sync() {
    send_sync::<SignalSink>();
    send_sync::<SinkBuilder>();
    send_sync::<Subscription>();
    send_sync::<SignalTable>();
    send_sync::<SignalMask>();
    send_sync::<SignalChanges>();
    send_sync::<SignalChange>();
    send_sync::<Name>();
    send_sync::<SignalEvent>();
    send_sync::<Signal>();
    send_sync::<Pattern>();
    send_sync::<PatternSet>();
    send_sync::<OpContext>();
    send_sync::<Options>();
    send_sync::<Lane>();
    send_sync::<OperationId>();
    send_sync::<OperationSignals>();
    send_sync::<State>();
    send_sync::<Totals>();
    send_sync::<CancelCause>();
    send_sync::<Completion>();
    send_sync::<Finished>();
    send_sync::<PanicMessage>();
    send_sync::<OptionsError>();
    send_sync::<ConcurrencyError>();
    send_sync::<WindowError>();
    send_sync::<WaitError>();
    send_sync::<ephemeral::InResults>();
    send_sync::<ManualClock>();
    send_sync::<ManualSleep>();
    send_sync::<LaneId>();
    send_sync::<BoxedRuntime>();
    let rt = BoxedRuntime::new(Runtime {
        spawner: NoSpawn,
        timer: ManualClock::new(),
    });
    let sleep: BoxedSleep = rt.sleep(core::time::Duration::ZERO);
    send(sleep);
}

/// A spawner that drops what it is given, to build runtimes in checks.
struct NoSpawn;

impl Spawner for NoSpawn {
    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, _: F) {}
}

/// The coordinators, windows and the values they hand out, for every item, key, value,
/// error and runtime type they accept.
#[allow(dead_code, reason = "checked by the compiler, never called")]
fn generic_handles<T, K, V, E, R>()
where
    T: Send + 'static,
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Send + Sync + 'static,
    E: Send + Sync + 'static,
    R: Spawner + Timer,
{
    send_sync::<WorkCoordinator<T, R, E>>();
    send_sync::<KeyedWorkCoordinator<T, K, R, E>>();
    send_sync::<PriorityWorkCoordinator<T, R, E>>();
    send_sync::<ResultCoordinator<T, V, R, E>>();
    send_sync::<WeakCoordinator<WorkCoordinator<T, R, E>>>();
    send_sync::<WeakCoordinator<KeyedWorkCoordinator<T, K, R, E>>>();
    send_sync::<WeakCoordinator<PriorityWorkCoordinator<T, R, E>>>();
    send_sync::<WeakCoordinator<ResultCoordinator<T, V, R, E>>>();
    send_sync::<CoordinatorBuilder<WorkCoordinator<T, R, E>>>();
    send_sync::<CoordinatorBuilder<KeyedWorkCoordinator<T, K, R, E>>>();
    send_sync::<CoordinatorBuilder<PriorityWorkCoordinator<T, R, E>>>();
    send_sync::<CoordinatorBuilder<ResultCoordinator<T, V, R, E>>>();
    send_sync::<Runtime<R, R>>();
    send_sync::<Window<T, V, K>>();
    send_sync::<Snapshot<Outcome<E>>>();
    send_sync::<Snapshot<&Outcome<E>>>();
    send_sync::<Summary<E>>();
    send_sync::<EnqueueError<V>>();
    send_sync::<LaneError<V>>();
    send_sync::<ResultError<E>>();
    send_sync::<FinishError<V>>();
    send_sync::<InsertError<V>>();
}

/// The futures of the coordinators' async methods.
#[allow(dead_code, reason = "checked by the compiler, never called")]
fn coordinator_futures<T, K, V, E, R>(
    work: &WorkCoordinator<T, R, E>,
    keyed: &KeyedWorkCoordinator<T, K, R, E>,
    priority: &PriorityWorkCoordinator<T, R, E>,
    results: &ResultCoordinator<T, V, R, E>,
    context: &OpContext,
    item: impl Fn() -> T,
    id: OperationId,
) where
    T: Send + 'static,
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
    R: Spawner + Timer,
{
    send(work.enqueue(item()));
    send(work.enqueue_many(core::iter::once(item())));
    send(work.drain());
    send(work.wait(id));
    send(work.wait_closed());
    send(keyed.enqueue(item()));
    send(keyed.enqueue_many(core::iter::once(item())));
    send(keyed.drain());
    let lane = priority.lane_at(0).unwrap();
    send(priority.enqueue(item(), lane));
    send(priority.enqueue_many(core::iter::once(item()), lane));
    send(priority.drain());
    send(priority.wait(id));
    send(priority.wait_closed());
    send(results.enqueue(item()));
    send(results.enqueue_many(core::iter::once(item())));
    send(results.wait_for_result(id));
    send(results.join(id));
    send(results.next_result());
    send(results.drain());
    send(results.wait(id));
    send(results.wait_closed());
    send_stream(results.result_stream());
    send(context.cancelled());
}

/// The one-shot `for_each` family, with items and bodies that are `Send`.
#[allow(dead_code, reason = "checked by the compiler, never called")]
fn for_each_futures<R: Spawner + Timer>(rt: R, options: &Options) {
    use ephemeral::{ForEachExt, for_each, for_each_spawned, for_each_stream};

    let body = |n: u32, context: OpContext| async move {
        context.cancelled().await;
        let _ = n;
    };
    send(for_each(vec![1u32, 2], options, body));
    send(for_each_stream(
        futures_lite::stream::iter(0..3u32),
        options,
        body,
    ));
    send(vec![1u32].ephemeral_for_each(options, body));
    send(for_each_spawned(rt, 0..3u32, options.clone(), body));
}
