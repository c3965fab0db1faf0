//! A bounded-concurrency map: the one-shot loop of [`for_each`](super::for_each), keeping
//! what each body returns, in input order.

use alloc::vec::Vec;
use core::future::Future;

use futures_lite::Stream;

use super::{Summary, run};
use crate::coordinator::{BodyOutput, CancelCause, OpContext, Outcome};
use crate::options::{Options, OptionsError};

/// What [`map`] and [`map_stream`] resolve to, for a body returning `Fut`.
pub(super) type MapOutput<Fut> = Result<
    Mapped<
        <<Fut as Future>::Output as BodyOutput>::Value,
        <<Fut as Future>::Output as BodyOutput>::Error,
    >,
    OptionsError,
>;

/// What a [`map`] or [`map_stream`] run returned: each item's result in input order, and
/// the run's [`Summary`].
///
/// ```
/// # #[cfg(feature = "std")] {
/// use ephemeral::{OpContext, Options, Outcome, map};
///
/// let mapped = futures_lite::future::block_on(map(
///     [4u32, 0, 2],
///     &Options::default(),
///     |n, _: OpContext| async move { 8u32.checked_div(n).ok_or("zero") },
/// ))
/// .unwrap();
/// assert_eq!(mapped.results, [Ok(2), Err(Outcome::Error("zero")), Ok(4)]);
/// assert_eq!((mapped.summary.completed, mapped.summary.failed), (2, 1));
/// # }
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct Mapped<V, E> {
    /// Per item, in input order: the body's value, or how the item ended instead (its
    /// error, its panic, or the signal that cancelled it before it started).
    pub results: Vec<Result<V, Outcome<E>>>,
    /// The counts and the window of the most recent operations, as `for_each` gives.
    pub summary: Summary<E>,
}

impl<V, E> Mapped<V, E> {
    /// The values in input order, `None` where an item did not succeed.
    ///
    /// ```
    /// # #[cfg(feature = "std")] {
    /// use ephemeral::{OpContext, Options, map};
    ///
    /// let mapped = futures_lite::future::block_on(map(0..3u32, &Options::default(), |n, _: OpContext| async move {
    ///     if n == 1 { Err("one") } else { Ok(n * 10) }
    /// }))
    /// .unwrap();
    /// assert_eq!(mapped.into_values(), [Some(0), None, Some(20)]);
    /// # }
    /// ```
    pub fn into_values(self) -> Vec<Option<V>> {
        self.results.into_iter().map(Result::ok).collect()
    }
}

/// Runs `body` on every item of `stream`, at most `options.max_concurrency` at once,
/// inside the calling task, as [`for_each_stream`](super::for_each_stream) does (the
/// same window, signals and summary), and returns what each body returned, in input
/// order. Nothing is allocated per item but the results: a stream of known length has
/// them allocated once.
///
/// ```
/// # #[cfg(feature = "std")] {
/// use ephemeral::{OpContext, Options, map_stream};
///
/// let stream = futures_lite::stream::iter(["a", "bb", "ccc"]);
/// let mapped = futures_lite::future::block_on(map_stream(
///     stream,
///     &Options::default().max_concurrency(2),
///     |s: &str, _: OpContext| async move { Ok::<_, ()>(s.len()) },
/// ))
/// .unwrap();
/// assert_eq!(mapped.into_values(), [Some(1), Some(2), Some(3)]);
/// # }
/// ```
pub async fn map_stream<S, B, Fut>(stream: S, options: &Options, body: B) -> MapOutput<Fut>
where
    S: Stream,
    B: Fn(S::Item, OpContext) -> Fut,
    Fut: Future,
    Fut::Output: BodyOutput,
    <Fut::Output as BodyOutput>::Error: Clone,
{
    let known = match stream.size_hint() {
        (lower, Some(upper)) if lower == upper => lower,
        _ => 0,
    };
    let mut results = Vec::with_capacity(known);
    let summary = run(stream, options, body, |seq, value, outcome| {
        if results.len() <= seq {
            // Every taken item ends before the run does, so each place is written.
            results.resize_with(seq + 1, unfinished);
        }
        results[seq] = value.ok_or_else(|| outcome.clone());
    })
    .await?;
    Ok(Mapped { results, summary })
}

/// A place for an item that has not ended yet (every one is written before the run ends).
// Each result is as large as the outcome the window keeps (a panic message is inline);
// boxing it would allocate per failed item.
#[allow(clippy::result_large_err)]
fn unfinished<V, E>() -> Result<V, Outcome<E>> {
    Err(Outcome::Cancelled(CancelCause::Stopped))
}

/// [`map_stream`] over an iterator.
///
/// ```
/// # #[cfg(feature = "std")] {
/// use ephemeral::{OpContext, Options, map};
///
/// let mapped = futures_lite::future::block_on(map(1..=3u64, &Options::default(), |n, _: OpContext| async move {
///     Ok::<_, ()>(n * n)
/// }))
/// .unwrap();
/// assert_eq!(mapped.into_values(), [Some(1), Some(4), Some(9)]);
/// # }
/// ```
pub async fn map<I, B, Fut>(items: I, options: &Options, body: B) -> MapOutput<Fut>
where
    I: IntoIterator,
    B: Fn(I::Item, OpContext) -> Fut,
    Fut: Future,
    Fut::Output: BodyOutput,
    <Fut::Output as BodyOutput>::Error: Clone,
{
    map_stream(futures_lite::stream::iter(items), options, body).await
}

#[cfg(all(test, not(loom), feature = "std"))]
mod tests {
    use super::*;
    use crate::operation::State;
    use crate::signal::SignalSink;
    use futures_lite::future::{block_on, yield_now};

    #[test]
    fn results_keep_input_order_though_bodies_finish_out_of_order() {
        let options = Options::default().max_concurrency(4);
        let mapped = block_on(map(0..40u32, &options, |n, _: OpContext| async move {
            // Later items in each window finish first.
            for _ in 0..(3 - n % 4) {
                yield_now().await;
            }
            Ok::<_, ()>(n * 2)
        }))
        .unwrap();
        assert_eq!(mapped.summary.completed, 40);
        let expected: Vec<_> = (0..40).map(|n| Some(n * 2)).collect();
        assert_eq!(mapped.into_values(), expected);
    }

    #[test]
    fn a_failure_a_panic_and_a_cancelled_item_each_keep_their_place() {
        let sink = SignalSink::new();
        let options = Options::default()
            .max_concurrency(1)
            .signals(sink.clone())
            .cancel_on("stop");
        let mapped = block_on(map(0..5u32, &options, |n, ctx: OpContext| async move {
            match n {
                1 => Err("one"),
                2 => panic!("two"),
                3 => {
                    ctx.signal("stop").unwrap();
                    Ok(3)
                }
                n => Ok(n),
            }
        }))
        .unwrap();
        let stop = sink.table().lookup("stop").unwrap();
        assert_eq!(mapped.results[0], Ok(0));
        assert_eq!(mapped.results[1], Err(Outcome::Error("one")));
        assert!(matches!(&mapped.results[2], Err(Outcome::Panic(m)) if m.as_str() == "two"));
        assert_eq!(mapped.results[3], Ok(3));
        assert_eq!(
            mapped.results[4],
            Err(Outcome::Cancelled(CancelCause::Signal(stop)))
        );
        let s = &mapped.summary;
        assert_eq!((s.completed, s.failed, s.cancelled), (2, 2, 1));
        assert_eq!(
            s.recent
                .iter()
                .filter(|r| r.state == State::Cancelled)
                .count(),
            1
        );
    }

    #[test]
    fn input_of_known_length_has_its_results_allocated_once() {
        let items: Vec<u64> = (0..1000).collect();
        let mapped = block_on(map(
            items,
            &Options::default(),
            |n, _: OpContext| async move { Ok::<_, ()>(n) },
        ))
        .unwrap();
        assert_eq!(mapped.results.len(), 1000);
        assert_eq!(mapped.results.capacity(), 1000, "never grown");
    }

    #[test]
    fn an_empty_input_maps_to_nothing() {
        let mapped = block_on(map(
            core::iter::empty::<u8>(),
            &Options::default(),
            |n, _: OpContext| async move { Ok::<_, ()>(n) },
        ))
        .unwrap();
        assert!(mapped.results.is_empty());
        assert_eq!(mapped.summary.completed, 0);
    }
}
