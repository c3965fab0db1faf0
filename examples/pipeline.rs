//! A request pipeline: 10,000 requests through a ResultCoordinator whose window tracks
//! only 64 operations, with every result joined, none lost. First all requests are
//! submitted and joined afterwards by id (the results store holds them all), then they
//! are consumed as they finish through `result_stream`, with room for only 256 results:
//! fullness holds submission back until the consumer takes results.

use std::time::Instant;

use ephemeral::runtime::Smol;
use ephemeral::{OpContext, OperationId, Options, ResultCoordinator, ResultError};
use futures_lite::StreamExt;

const REQUESTS: u64 = 10_000;

/// Stands in for a request handler: every 97th request fails.
async fn handle(request: u64, _ctx: OpContext) -> Result<u64, String> {
    futures_lite::future::yield_now().await;
    if request.is_multiple_of(97) {
        Err(format!("request {request}: upstream refused"))
    } else {
        Ok(request * 2)
    }
}

fn options() -> Options {
    Options::default()
        .max_concurrency(8)
        .queue_capacity(128)
        .max_tracked(64)
}

/// Every request is answered: its value, or the handler's error for the failing ones.
fn check(request: u64, answer: &Result<u64, ResultError<String>>) {
    match answer {
        Ok(value) => assert_eq!(*value, request * 2),
        Err(ResultError::Failed(message)) => {
            assert!(request.is_multiple_of(97), "{message}");
        }
        Err(other) => panic!("request {request} was lost: {other:?}"),
    }
}

/// Submit everything, then join every id.
async fn join_afterwards() {
    let started = Instant::now();
    let pipeline = ResultCoordinator::builder(Smol, options())
        .results_capacity(REQUESTS as usize)
        .build(handle)
        .unwrap();
    let mut ids: Vec<(u64, OperationId)> = Vec::new();
    for request in 0..REQUESTS {
        ids.push((request, pipeline.enqueue(request).await.unwrap()));
    }
    let (mut ok, mut failed) = (0, 0);
    for (request, id) in ids {
        let answer = pipeline.join(id).await;
        check(request, &answer);
        if answer.is_ok() { ok += 1 } else { failed += 1 }
    }
    assert_eq!(ok + failed, REQUESTS);
    println!(
        "joined afterwards: {ok} ok, {failed} failed, 0 lost (window of {}, {:?})",
        options().max_tracked,
        started.elapsed()
    );
}

/// Consume results as they finish while submitting, with room for 256 results.
async fn join_as_they_finish() {
    let started = Instant::now();
    let pipeline = ResultCoordinator::builder(Smol, options())
        .results_capacity(256)
        .build(handle)
        .unwrap();
    let submit = async {
        for request in 0..REQUESTS {
            pipeline.enqueue(request).await.unwrap();
        }
        pipeline.complete();
    };
    let consume = async {
        let mut seen = vec![false; REQUESTS as usize];
        let mut stream = std::pin::pin!(pipeline.result_stream());
        let (mut ok, mut failed) = (0, 0);
        while let Some((_id, answer)) = stream.next().await {
            // The value says which request it answered (errors name it too).
            let request = match &answer {
                Ok(value) => value / 2,
                Err(ResultError::Failed(message)) => message
                    .trim_start_matches("request ")
                    .split(':')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap(),
                Err(other) => panic!("a request was lost: {other:?}"),
            };
            check(request, &answer);
            assert!(!seen[request as usize], "request {request} answered twice");
            seen[request as usize] = true;
            if answer.is_ok() { ok += 1 } else { failed += 1 }
        }
        assert!(seen.iter().all(|s| *s), "every request answered");
        (ok, failed)
    };
    let ((), (ok, failed)) = futures_lite::future::zip(submit, consume).await;
    assert_eq!(ok + failed, REQUESTS);
    let totals = pipeline.totals();
    assert_eq!(totals.completed + totals.failed, REQUESTS);
    println!(
        "joined as they finished: {ok} ok, {failed} failed, 0 lost (room for {} results, {:?})",
        pipeline.results_capacity(),
        started.elapsed()
    );
}

fn main() {
    smol::block_on(async {
        join_afterwards().await;
        join_as_they_finish().await;
    });
}
