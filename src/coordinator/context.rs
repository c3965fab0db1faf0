//! What a body gets besides its item.

use core::fmt;

use super::Control;
use crate::operation::OperationId;
use crate::signal::{Signal, SignalSink, TableError};
use crate::sync::Arc;

/// What a body gets besides its item: its operation's id and cooperative cancellation.
///
/// Cheap to clone (one reference count) and `'static`, so a body may move it into
/// whatever it awaits.
///
/// ```
/// # #[cfg(feature = "smol")] {
/// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
///
/// smol::block_on(async {
///     let coordinator = WorkCoordinator::new(Smol, Options::default(), |n: u32, ctx: OpContext| async move {
///         assert!(!ctx.is_cancelled());
///         let _ = (n, ctx.id());
///     }).unwrap();
///     coordinator.enqueue(1).await.unwrap();
///     coordinator.complete();
///     coordinator.drain().await;
/// });
/// # }
/// ```
#[derive(Clone)]
pub struct OpContext {
    id: OperationId,
    control: Arc<Control>,
}

impl OpContext {
    pub(crate) fn new(id: OperationId, control: Arc<Control>) -> Self {
        Self { id, control }
    }

    /// The id of the operation this body runs as.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let (tx, rx) = smol::channel::unbounded();
    ///     let coordinator = WorkCoordinator::new(Smol, Options::default(), move |_: u8, ctx: OpContext| {
    ///         let tx = tx.clone();
    ///         async move { tx.send(ctx.id()).await.unwrap() }
    ///     })
    ///     .unwrap();
    ///     let id = coordinator.enqueue(1).await.unwrap();
    ///     assert_eq!(rx.recv().await.unwrap(), id); // the body runs as the id enqueue gave
    /// });
    /// # }
    /// ```
    pub fn id(&self) -> OperationId {
        self.id
    }

    /// Whether the coordinator has been cancelled. The body will be dropped at its next
    /// `.await` anyway; checking lets long synchronous stretches stop early.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = WorkCoordinator::new(Smol, Options::default(), |rows: u32, ctx: OpContext| async move {
    ///         for _ in 0..rows {
    ///             if ctx.is_cancelled() {
    ///                 return; // stop a long synchronous stretch early
    ///             }
    ///             std::thread::sleep(std::time::Duration::from_millis(1));
    ///         }
    ///     })
    ///     .unwrap();
    ///     coordinator.enqueue(10_000).await.unwrap();
    ///     while coordinator.active_count() == 0 {
    ///         smol::future::yield_now().await;
    ///     }
    ///     coordinator.cancel();
    ///     coordinator.drain().await;
    ///     assert_eq!(coordinator.totals().completed + coordinator.totals().cancelled, 1);
    /// });
    /// # }
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.control.is_cancelled()
    }

    /// Raises `name` as this operation: it is recorded on the operation (its snapshot's
    /// `signals`), raised into the coordinator's sink with this operation's id, and
    /// reported to the coordinator's `on_signal` and async handlers. Refused only when a
    /// new name does not fit the sink's table.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = WorkCoordinator::new(Smol, Options::default(), |_: u8, ctx: OpContext| async move {
    ///         ctx.signal("cache.miss").unwrap();
    ///         assert!(ctx.has_signal("cache.miss"));
    ///         ctx.signal("warming").unwrap();
    ///         assert!(ctx.retract("warming"));
    ///         assert!(!ctx.has_signal("warming"));
    ///     }).unwrap();
    ///     let id = coordinator.enqueue(1).await.unwrap();
    ///     coordinator.complete();
    ///     coordinator.drain().await;
    ///     let snapshot = coordinator.get(id).unwrap();
    ///     let names: Vec<_> = snapshot.signals.iter().map(|s| coordinator.signals().name(*s).unwrap()).collect();
    ///     assert_eq!(names, ["cache.miss"]);
    ///     assert!(coordinator.signals().is_raised("cache.miss"));
    /// });
    /// # }
    /// ```
    pub fn signal(&self, name: &str) -> Result<Signal, TableError> {
        self.control.signals.raise_from(self.id, name)
    }

    /// [`signal`](Self::signal) for bodies that have nothing to do about a refusal: the
    /// handle, or `None` when the name could not be raised: the sink's table full of
    /// names in use (counted in [`SignalSink::full_refusals`]), or an empty or too long
    /// name.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol, signal::SignalSink};
    ///
    /// smol::block_on(async {
    ///     let sink = SignalSink::builder().names(1).build();
    ///     sink.raise("held").unwrap();
    ///     let options = Options::default().signals(sink.clone());
    ///     let coordinator = WorkCoordinator::new(Smol, options, |_: u8, ctx: OpContext| async move {
    ///         assert_eq!(ctx.emit("no.room"), None, "the only name is raised");
    ///     }).unwrap();
    ///     coordinator.enqueue(1).await.unwrap();
    ///     coordinator.complete();
    ///     coordinator.drain().await;
    ///     assert_eq!(sink.full_refusals(), 1);
    ///     assert_eq!(coordinator.totals().completed, 1);
    /// });
    /// # }
    /// ```
    pub fn emit(&self, name: &str) -> Option<Signal> {
        self.signal(name).ok()
    }

    /// Retracts `name` from the sink and from this operation's record (see
    /// [`signal`](Self::signal)). Returns whether it was present in either.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = WorkCoordinator::new(Smol, Options::default(), |_: u8, ctx: OpContext| async move {
    ///         ctx.signal("warming").unwrap(); // while this body warms a cache
    ///         assert!(ctx.retract("warming")); // done: gone from the sink and the operation
    ///         assert!(!ctx.retract("warming"));
    ///     })
    ///     .unwrap();
    ///     let id = coordinator.enqueue(1).await.unwrap();
    ///     coordinator.drain().await;
    ///     assert!(coordinator.get(id).unwrap().signals.is_empty());
    ///     assert!(!coordinator.signals().is_raised("warming"));
    /// });
    /// # }
    /// ```
    pub fn retract(&self, name: &str) -> bool {
        self.control.signals.retract_from(self.id, name)
    }

    /// Whether this operation raised `name` and has not retracted it (see
    /// [`signal`](Self::signal)).
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = WorkCoordinator::new(Smol, Options::default(), |n: u8, ctx: OpContext| async move {
    ///         if n == 0 {
    ///             ctx.signal("retried").unwrap();
    ///         }
    ///         // Only the raising operation has it, though the sink is shared.
    ///         assert_eq!(ctx.has_signal("retried"), n == 0);
    ///     })
    ///     .unwrap();
    ///     coordinator.enqueue(0).await.unwrap();
    ///     coordinator.drain().await;
    ///     coordinator.enqueue(1).await.unwrap();
    ///     coordinator.drain().await;
    ///     assert_eq!(coordinator.totals().completed, 2);
    /// });
    /// # }
    /// ```
    pub fn has_signal(&self, name: &str) -> bool {
        self.control.signals.has(self.id, name)
    }

    /// The coordinator's sink, to query or raise signals not tied to this operation.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = WorkCoordinator::new(Smol, Options::default(), |_: u8, ctx: OpContext| async move {
    ///         assert!(ctx.sink().is_raised("maintenance"));
    ///     }).unwrap();
    ///     coordinator.signals().raise("maintenance").unwrap();
    ///     coordinator.enqueue(1).await.unwrap();
    ///     coordinator.complete();
    ///     coordinator.drain().await;
    ///     assert_eq!(coordinator.totals().completed, 1);
    /// });
    /// # }
    /// ```
    pub fn sink(&self) -> &SignalSink {
        self.control.signals.sink()
    }

    /// Completes once the coordinator is cancelled; for racing against in a `select`.
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ephemeral::{OpContext, Options, WorkCoordinator, runtime::Smol};
    ///
    /// smol::block_on(async {
    ///     let coordinator = WorkCoordinator::new(Smol, Options::default(), |_: u8, ctx: OpContext| async move {
    ///         let work = smol::Timer::after(std::time::Duration::from_secs(60));
    ///         // Whichever ends first: the work, or the coordinator's cancellation.
    ///         smol::future::or(async { work.await; }, ctx.cancelled()).await;
    ///     })
    ///     .unwrap();
    ///     coordinator.enqueue(1).await.unwrap();
    ///     while coordinator.active_count() == 0 {
    ///         smol::future::yield_now().await;
    ///     }
    ///     coordinator.cancel();
    ///     coordinator.drain().await;
    ///     // Ended by `cancelled` (the body returns) or dropped at its next poll.
    ///     let totals = coordinator.totals();
    ///     assert_eq!(totals.completed + totals.cancelled, 1);
    /// });
    /// # }
    /// ```
    pub async fn cancelled(&self) {
        self.control
            .cancel
            .until(|| self.is_cancelled().then_some(()))
            .await;
    }
}

impl fmt::Debug for OpContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpContext")
            .field("id", &self.id)
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}
