//! One builder type for every coordinator, typed by the coordinator it builds: the
//! callbacks every coordinator takes are written here once, and each coordinator adds
//! its own `build` (and whatever only it has) in its own module.

use core::fmt;
use core::future::Future;

use super::Hooks;
use crate::coordinator::Outcome;
use crate::options::Options;
use crate::runtime::Spawner;
use crate::signal::SignalEvent;
use crate::window::{Label, Snapshot};
#[cfg(doc)]
use crate::{KeyedWorkCoordinator, PriorityWorkCoordinator, ResultCoordinator, WorkCoordinator};

mod sealed {
    /// Keeps [`CoordinatorKind`](super::CoordinatorKind) to the crate's coordinators:
    /// code may name the kinds, not add to them.
    ///
    /// ```compile_fail
    /// use ephemeral::CoordinatorKind;
    ///
    /// struct Mine;
    /// impl CoordinatorKind for Mine {
    ///     type Item = u32;
    ///     type Runtime = ();
    ///     type Error = ();
    ///     type Parts = ();
    /// }
    /// ```
    pub trait Sealed {}
}

pub(crate) use sealed::Sealed;

/// Makes a coordinator type one a builder can build, and a handle that clones:
/// `[generics] Type, parts, owner`, where the first of the generics is its item type,
/// `R` and `E` among them are its runtime and body error, `parts` is what its builder
/// holds besides the options and callbacks, and `owner` is the [`Owner`](super::Owner)
/// its handles share (the type of its only field, `core`, is `Handle<owner>`).
macro_rules! coordinator_kind {
    ([$item:ident $(, $param:ident)*] $kind:ty, $parts:ty, $owner:ty) => {
        impl<$item $(, $param)*> $crate::coordinator::core::builder::Sealed for $kind {}

        impl<$item $(, $param)*> $crate::coordinator::core::builder::CoordinatorKind for $kind {
            type Item = $item;
            type Runtime = R;
            type Error = E;
            type Parts = $parts;
        }

        impl<$item $(, $param)*> $crate::coordinator::core::handle::Shares for $kind {
            type Owner = $owner;
            fn from_owner(core: $crate::sync::Handle<$owner>) -> Self {
                Self { core }
            }
        }

        /// Another handle on the same coordinator (one reference count): every handle
        /// enqueues into, observes and controls the same work. Dropping the last one
        /// cancels the coordinator.
        impl<$item $(, $param)*> Clone for $kind {
            fn clone(&self) -> Self {
                Self {
                    core: self.core.clone(),
                }
            }
        }
    };
}
pub(crate) use coordinator_kind;

/// A coordinator type, as the parameter of a [`CoordinatorBuilder`]: it names what the
/// builder needs to know of it. Implemented by [`WorkCoordinator`],
/// [`KeyedWorkCoordinator`], [`ResultCoordinator`] and [`PriorityWorkCoordinator`]
/// only; name it to write code that configures a builder of any of them.
///
/// ```
/// # #[cfg(feature = "smol")] {
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
/// use ephemeral::{CoordinatorBuilder, CoordinatorKind, OpContext, Options, ResultCoordinator, WorkCoordinator, runtime::Smol};
///
/// /// The signal counting every coordinator of this service gets.
/// fn counted<C: CoordinatorKind>(builder: CoordinatorBuilder<C>, raised: &Arc<AtomicU64>) -> CoordinatorBuilder<C> {
///     let raised = raised.clone();
///     builder.on_signal(move |_| { raised.fetch_add(1, Ordering::Relaxed); })
/// }
///
/// let raised = Arc::new(AtomicU64::new(0));
/// smol::block_on(async {
///     let work = counted(WorkCoordinator::builder(Smol, Options::default()), &raised)
///         .build(|_: u8, ctx: OpContext| async move { ctx.signal("work").unwrap(); })
///         .unwrap();
///     let results = counted(ResultCoordinator::builder(Smol, Options::default()), &raised)
///         .build(|n: u8, ctx: OpContext| async move { ctx.signal("result").unwrap(); Ok::<_, ()>(n) })
///         .unwrap();
///     work.enqueue(1).await.unwrap();
///     let id = results.enqueue(2).await.unwrap();
///     assert_eq!(results.wait_for_result(id).await, Ok(2));
///     work.complete();
///     work.drain().await;
/// });
/// assert_eq!(raised.load(Ordering::Relaxed), 2);
/// # }
/// ```
pub trait CoordinatorKind: Sealed {
    /// The items it accepts.
    type Item;
    /// The runtime its workers are spawned on.
    type Runtime;
    /// The error type of its bodies.
    type Error;
    /// What its builder holds besides the options and callbacks (the key selector and
    /// limits of a keyed coordinator, the lanes of a priority one).
    #[doc(hidden)]
    type Parts;
}

/// Builds a coordinator of type `C`, for what is not a plain [`Options`] value: the
/// callbacks every coordinator takes (`on_finalized`, `on_signal`, `on_signal_async`,
/// here) and what only `C` has (see each coordinator's `builder`). Each coordinator's
/// `builder` returns one and its `build` finishes it, so a builder can only build the
/// coordinator it came from. The arguments are those of the coordinator's `new` but
/// the body, which `build` takes (or `build_with`, for a body that reaches its own
/// coordinator through a [`WeakCoordinator`](crate::WeakCoordinator)).
///
/// ```
/// # #[cfg(feature = "smol")] {
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
///
/// let seen = Arc::new(AtomicUsize::new(0));
/// let counter = seen.clone();
/// smol::block_on(async {
///     let coordinator = WorkCoordinator::builder(Smol, Options::default())
///         .on_finalized(move |snapshot| {
///             assert!(snapshot.state.is_finished());
///             counter.fetch_add(1, Ordering::SeqCst);
///         })
///         .build(|_: u8, _: OpContext| async {})
///         .unwrap();
///     coordinator.enqueue(1).await.unwrap();
///     coordinator.complete();
///     coordinator.drain().await;
/// });
/// assert_eq!(seen.load(Ordering::SeqCst), 1);
/// # }
/// ```
// The bound is the fields': they are typed by `C`'s associated types.
#[must_use = "a builder builds nothing until `build`"]
pub struct CoordinatorBuilder<C: CoordinatorKind> {
    pub(crate) rt: C::Runtime,
    pub(crate) options: Options,
    pub(crate) hooks: Hooks<C::Error, C::Item>,
    pub(crate) parts: C::Parts,
}

/// Shows the options and which hooks are set; needs no `Debug` of `E` or the runtime.
impl<C: CoordinatorKind> fmt::Debug for CoordinatorBuilder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CoordinatorBuilder")
            .field("options", &self.options)
            .field("on_finalized", &self.hooks.on_finalized.is_some())
            .field("describe", &self.hooks.describe.is_some())
            .field("on_signal", &self.hooks.on_signal.is_some())
            .field("on_signal_async", &self.hooks.dispatch.is_some())
            .field("completions", &self.hooks.completions)
            .finish_non_exhaustive()
    }
}

impl<C: CoordinatorKind> CoordinatorBuilder<C> {
    /// A builder with no callbacks.
    pub(crate) fn new(rt: C::Runtime, options: Options, parts: C::Parts) -> Self {
        Self {
            rt,
            options,
            hooks: Hooks::default(),
            parts,
        }
    }

    /// Calls `report` with each operation's snapshot as it becomes terminal, on the
    /// worker that finished it. Keep it short: it runs on the hot path.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use std::sync::{Arc, Mutex};
    /// use ephemeral::{OpContext, Options, State, WorkCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let slow = Arc::new(Mutex::new(Vec::new()));
    ///     let seen = slow.clone();
    ///     let coordinator = WorkCoordinator::builder(Smol, Options::default())
    ///         .on_finalized(move |snapshot| {
    ///             if snapshot.state == State::Faulted {
    ///                 seen.lock().unwrap().push(snapshot.id); // e.g. count, log or export
    ///             }
    ///         })
    ///         .build(|n: u32, _: OpContext| async move { if n == 3 { Err("three") } else { Ok(()) } })
    ///         .unwrap();
    ///     let ids: Vec<_> = [coordinator.enqueue(1).await.unwrap(), coordinator.enqueue(3).await.unwrap()].into();
    ///     coordinator.drain().await;
    ///     assert_eq!(*slow.lock().unwrap(), [ids[1]]);
    /// });
    /// # }
    /// ```
    pub fn on_finalized(
        mut self,
        report: impl Fn(&Snapshot<&Outcome<C::Error>>) + Send + Sync + 'static,
    ) -> Self {
        self.hooks.on_finalized(report);
        self
    }

    /// Keeps the coordinator's finished operations in finishing order for
    /// `next_finished` and `finished_stream`: a queue of `capacity` (at least one)
    /// [`Completion`](crate::Completion)s, allocated here, filled as each operation
    /// ends, after the window shows it terminal. Nothing allocates per item; without
    /// this call the core keeps no queue and pays one branch per finish.
    ///
    /// A consumer that falls more than `capacity` behind loses the oldest: it is told
    /// how many by a [`Completion::Lagged`](crate::Completion::Lagged) before its next
    /// item. Finishing never waits for the consumer (a worker would stall on one that
    /// never comes, and a cancel or a dropped worker cannot wait at all); size the
    /// queue, or read [`totals`](crate::WorkCoordinator::totals), if none may be lost.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use std::io;
    /// use futures_lite::StreamExt;
    /// use ephemeral::{Completion, OpContext, Options, Outcome, State, WorkCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let fetch = WorkCoordinator::builder(Smol, Options::default())
    ///         .completions(16)
    ///         .build(|n: u32, _: OpContext| async move {
    ///             if n == 3 { Err(io::Error::other("three")) } else { Ok(()) }
    ///         })
    ///         .unwrap();
    ///     fetch.enqueue_many([1, 2, 3]).await.unwrap();
    ///     fetch.complete();
    ///     let mut failed = Vec::new();
    ///     let mut finished = core::pin::pin!(fetch.finished_stream());
    ///     while let Some(Completion::Finished(done)) = finished.next().await {
    ///         if done.state == State::Faulted {
    ///             // The error is not `Clone`: read it where it lies.
    ///             let message = fetch.with(done.id, |s| match s.outcome {
    ///                 Some(Outcome::Error(e)) => e.to_string(),
    ///                 _ => String::new(),
    ///             });
    ///             failed.push(message);
    ///         }
    ///     }
    ///     assert_eq!(failed, [Some("three".to_string())]);
    /// });
    /// # }
    /// ```
    pub fn completions(mut self, capacity: usize) -> Self {
        self.hooks.completions = Some(capacity);
        self
    }

    /// Labels each item enqueued without a label: `describe` writes into the operation's
    /// [`Label`] (up to [`LABEL_CAPACITY`](crate::LABEL_CAPACITY) bytes; the rest is
    /// dropped), on the enqueuing thread, before the item is accepted, so every
    /// snapshot of the operation says what it is about (a failed one can then be listed
    /// by its URL, say, without the error type carrying it). No allocation. A label
    /// given at enqueue (`enqueue_labelled`) is used instead. A panic in `describe` is
    /// contained (under `std`): the item is accepted with what was written.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use core::fmt::Write;
    /// use ephemeral::{Label, OpContext, Options, WorkCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let fetch = WorkCoordinator::builder(Smol, Options::default())
    ///         .describe(|url: &String, label: &mut Label| { let _ = write!(label, "GET {url}"); })
    ///         .build(|url: String, _: OpContext| async move {
    ///             if url.ends_with("/down") { Err(std::io::Error::other("refused")) } else { Ok(()) }
    ///         })
    ///         .unwrap();
    ///     fetch.enqueue_many(["/up".to_string(), "/down".to_string()]).await.unwrap();
    ///     fetch.drain().await;
    ///     let mut dead_letters = Vec::new();
    ///     fetch.visit_failed(|s| dead_letters.push(s.label));
    ///     assert_eq!(dead_letters, [Label::new("GET /down")]);
    /// });
    /// # }
    /// ```
    pub fn describe(
        mut self,
        describe: impl Fn(&C::Item, &mut Label) + Send + Sync + 'static,
    ) -> Self {
        self.hooks.describe(describe);
        self
    }

    /// Calls `report` with every signal this coordinator's operations raise, on the
    /// raising body's thread, before the raise returns. Keep it short.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use std::sync::{Arc, Mutex};
    /// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
    ///
    /// let heard = Arc::new(Mutex::new(Vec::new()));
    /// let log = heard.clone();
    /// smol::block_on(async {
    ///     let coordinator = WorkCoordinator::builder(Smol, Options::default())
    ///         .on_signal(move |event| log.lock().unwrap().push(event.operation_id))
    ///         .build(|_: u8, ctx: OpContext| async move { ctx.signal("seen").unwrap(); })
    ///         .unwrap();
    ///     let id = coordinator.enqueue(1).await.unwrap();
    ///     coordinator.complete();
    ///     coordinator.drain().await;
    ///     assert_eq!(*heard.lock().unwrap(), [Some(id)]);
    /// });
    /// # }
    /// ```
    pub fn on_signal(mut self, report: impl Fn(&SignalEvent) + Send + Sync + 'static) -> Self {
        self.hooks.on_signal(report);
        self
    }

    /// Runs `handler` on every signal this coordinator's operations raise, as tasks on
    /// the coordinator's spawner: at most `max_concurrent_signal_handlers` at once, from
    /// a queue of `max_queued_signals` where overflow drops the oldest event (counted in
    /// [`Totals::dropped_signals`](crate::Totals::dropped_signals)). The raise never waits for it; `drain` does.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use std::sync::{Arc, atomic::{AtomicUsize, Ordering}};
    /// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
    ///
    /// let handled = Arc::new(AtomicUsize::new(0));
    /// let count = handled.clone();
    /// smol::block_on(async {
    ///     let coordinator = WorkCoordinator::builder(Smol, Options::default())
    ///         .on_signal_async(move |_event| {
    ///             let count = count.clone();
    ///             async move { count.fetch_add(1, Ordering::SeqCst); }
    ///         })
    ///         .build(|_: u8, ctx: OpContext| async move { ctx.signal("audit").unwrap(); })
    ///         .unwrap();
    ///     for n in 0..10 { coordinator.enqueue(n).await.unwrap(); }
    ///     coordinator.complete();
    ///     coordinator.drain().await;
    /// });
    /// assert_eq!(handled.load(Ordering::SeqCst), 10);
    /// # }
    /// ```
    pub fn on_signal_async<H, Fut>(mut self, handler: H) -> Self
    where
        C::Runtime: Spawner,
        H: Fn(SignalEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send,
    {
        self.hooks.on_signal_async(&self.rt, &self.options, handler);
        self
    }
}
