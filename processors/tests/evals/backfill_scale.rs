//! A backfill over 100,000 historical traces on the embedded backends, crashed half way:
//! exact counts afterwards, and the rate it walks at.

use std::time::{Duration, Instant};

use periscope_core::evals::EvalStore;
use periscope_core::evals::backfill::{BackfillBudget, BackfillState};
use periscope_core::model::TraceRecord;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::backfill_harness::{
    create_backfill, distinct, history_evaluator, history_trace, jobs_on_topic, stored,
    wait_for_state, worker, write_history,
};
use super::harness::{Harness, PROJECT, eventually};

const TRACES: u64 = 100_000;
const PAGE: u64 = 500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::print_stderr,
    reason = "the test reports the rates it measured"
)]
async fn a_backfill_of_100k_traces_survives_a_crash_with_exact_counts() {
    let harness = Harness::new().await;
    let started = Instant::now();
    // Five traces per millisecond, so pages also end inside groups of equal timestamps.
    let traces: Vec<TraceRecord> = (0..TRACES).map(|i| history_trace(i, 5, "scale")).collect();
    write_history(harness.traces.as_ref(), traces).await;
    let written = started.elapsed();
    let evaluator = history_evaluator(&harness, "scale", 1.0).await;
    let started = Instant::now();
    let backfill = create_backfill(&harness, &evaluator, BackfillBudget::default()).await;
    let estimated = started.elapsed();
    assert_eq!(backfill.estimate.targets, TRACES);
    assert_eq!(backfill.estimate.expected_jobs, TRACES);

    let walk_started = Instant::now();
    let mut tasks = JoinSet::new();
    let first = worker(&harness, PAGE, Duration::from_secs(1));
    let handle = tasks.spawn(async move { first.run(CancellationToken::new()).await.unwrap() });
    let meta = harness.meta.clone();
    let id = backfill.id.clone();
    eventually("half the traces", Duration::from_secs(600), || {
        let (meta, id) = (meta.clone(), id.clone());
        async move {
            let found = meta.get_backfill(PROJECT, &id).await.unwrap()?;
            (found.done >= TRACES / 2).then_some(())
        }
    })
    .await;
    handle.abort();
    let _ = tasks.join_next().await;
    let crashed = stored(&harness, &backfill).await;
    assert!(crashed.done < TRACES, "crashed too late");

    let second = worker(&harness, PAGE, Duration::from_secs(1));
    let cancel = CancellationToken::new();
    let token = cancel.clone();
    tasks.spawn(async move { second.run(token).await.unwrap() });
    wait_for_state(&harness, &backfill, BackfillState::Completed).await;
    let walked = walk_started.elapsed();
    cancel.cancel();
    tasks.join_next().await.unwrap().unwrap();

    let done = stored(&harness, &backfill).await;
    assert_eq!(
        (
            done.total,
            done.done,
            done.matched,
            done.emitted,
            done.skipped
        ),
        (TRACES, TRACES, TRACES, TRACES, 0)
    );
    let jobs = jobs_on_topic(&harness).await;
    assert_eq!(distinct(&jobs) as u64, TRACES);
    let repeated = jobs.len() as u64 - TRACES;
    assert!(repeated <= PAGE, "{repeated} jobs emitted twice");
    let funnel = harness.meta.funnel(PROJECT, &evaluator.id).await.unwrap();
    assert_eq!((funnel.matched, funnel.queued), (TRACES, TRACES));
    eprintln!(
        "backfill scale: wrote {TRACES} traces in {:.1} s; estimate in {:.2} s; walked in \
         {:.1} s wall incl. a crash and a 1 s lease takeover; rate {:.0} targets/s of running \
         time (crashed at {}, {} jobs re-emitted from the interrupted page)",
        written.as_secs_f64(),
        estimated.as_secs_f64(),
        walked.as_secs_f64(),
        done.rate().unwrap_or(0.0),
        crashed.done,
        repeated,
    );
}
