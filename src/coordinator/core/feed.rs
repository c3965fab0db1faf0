//! Intake from streams and sinks, written once for every coordinator: a spawned feeder
//! that enqueues a stream's items, and a `Sink` that enqueues what is sent to it.

use futures_lite::{Stream, StreamExt};

use super::*;

impl<T, R, S, O, K> Core<T, R, S, O, K>
where
    T: Send + 'static,
    R: Spawner + Timer,
    S: Schedule<Key = K>,
    O: Record,
    K: Send + Sync + 'static,
{
    /// Spawns a task on the core's runtime that enqueues each item of `stream`, keyed
    /// by `key`, waiting while full. `drain` waits for it: it holds the intake (it is
    /// not an item, so no count includes it). It ends when the stream does, when an
    /// item is refused (the coordinator was completed; that item is dropped), or when
    /// the coordinator is cancelled or dropped, even while the stream has nothing to
    /// give; then it completes the coordinator if `complete_at_end`.
    pub(crate) fn feed<St>(
        core: &Arc<Self>,
        stream: St,
        key: impl Fn(&T) -> K + Send + Sync + 'static,
        complete_at_end: bool,
    ) where
        St: Stream<Item = T> + Send + 'static,
        Self: Send + Sync,
    {
        let hold = Core::hold(core);
        core.rt.spawn(async move {
            let core = &hold;
            let mut stream = core::pin::pin!(stream);
            loop {
                let next = or(stream.next(), async {
                    core.cancelled().await;
                    None
                });
                let Some(item) = next.await else {
                    break;
                };
                if core.enqueue(item, &key).await.is_err() {
                    break;
                }
            }
            if complete_at_end {
                core.complete();
            }
        });
    }
}

#[cfg(feature = "sink")]
pub(crate) use sink::EnqueueSink;

#[cfg(feature = "sink")]
mod sink {
    use core::future::Future;
    use core::pin::Pin;
    use core::task::{Context, Poll};

    use pin_project_lite::pin_project;

    use crate::operation::OperationId;

    pin_project! {
        /// A `Sink` over an enqueue: `start_send` starts `enqueue(item)` and keeps its
        /// future in place; `poll_ready` and `poll_flush` drive it until the coordinator
        /// has accepted the item. So at most one item waits in the sink, the wait is
        /// the enqueue's own (woken when room is made, never polling), and nothing is
        /// allocated: the future lives inside the sink. An item sent while another is
        /// still being sent (`start_send` without `poll_ready`) is handed back through
        /// `busy` rather than dropping the one in flight.
        pub(crate) struct EnqueueSink<F, Fut, B> {
            enqueue: F,
            busy: B,
            #[pin]
            sending: Option<Fut>,
        }
    }

    impl<F, Fut, B> EnqueueSink<F, Fut, B> {
        pub(crate) fn new(enqueue: F, busy: B) -> Self {
            Self {
                enqueue,
                busy,
                sending: None,
            }
        }
    }

    impl<T, F, Fut, B, Error> futures_sink::Sink<T> for EnqueueSink<F, Fut, B>
    where
        F: FnMut(T) -> Fut,
        Fut: Future<Output = Result<OperationId, Error>>,
        B: Fn(T) -> Error,
    {
        type Error = Error;

        fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
            let mut sending = self.project().sending;
            let Some(enqueue) = sending.as_mut().as_pin_mut() else {
                return Poll::Ready(Ok(()));
            };
            let sent = core::task::ready!(enqueue.poll(cx));
            sending.set(None);
            Poll::Ready(sent.map(drop))
        }

        fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), Error> {
            let mut this = self.project();
            if this.sending.is_some() {
                return Err((this.busy)(item));
            }
            let enqueue = (this.enqueue)(item);
            this.sending.set(Some(enqueue));
            Ok(())
        }

        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
            self.poll_ready(cx)
        }

        fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
            self.poll_ready(cx)
        }
    }
}
