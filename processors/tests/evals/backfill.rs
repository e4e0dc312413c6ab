//! The backfill worker over history written straight into the SQLite trace store, with the
//! runner off: every count is read back from the store and from the eval-jobs topic.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use periscope_core::evals::backfill::{BUDGET_REACHED, BackfillBudget, BackfillState};
use periscope_core::evals::{EvalStore, sampled};
use periscope_core::model::TraceRecord;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::backfill_harness::{
    another_evaluator, create_backfill, distinct, history_evaluator, history_start, history_trace,
    jobs_on_topic, stored, wait_for_state, worker, write_history,
};
use super::harness::{Harness, PROJECT, eventually};

const LONG_LEASE: Duration = Duration::from_secs(60);

/// Traces of the range tagged `tag`: `n` spread three per timestamp, then a group of 300
/// sharing one timestamp (larger than a page), plus traces the backfill must not visit.
async fn write_mixed_history(harness: &Harness, tag: &str, n: u64) -> HashSet<String> {
    let mut traces: Vec<TraceRecord> = (0..n).map(|i| history_trace(i, 3, tag)).collect();
    let crowded_at = history_start() + chrono::Duration::hours(1);
    traces.extend((0..300).map(|i| TraceRecord {
        id: format!("{tag}-crowd-{i:03}"),
        timestamp: Some(crowded_at),
        ..history_trace(i, 1, tag)
    }));
    let expected = traces.iter().map(|trace| trace.id.clone()).collect();
    // Untagged, and before the range.
    traces.extend((0..40).map(|i| history_trace(i, 1, "other")));
    traces.extend((0..25).map(|i| TraceRecord {
        id: format!("{tag}-old-{i}"),
        timestamp: Some(Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap()),
        ..history_trace(i, 1, tag)
    }));
    write_history(harness.traces.as_ref(), traces).await;
    expected
}

#[tokio::test]
async fn n_traces_give_n_jobs_and_a_second_backfill_gives_none() {
    let harness = Harness::new().await;
    let expected = write_mixed_history(&harness, "hist", 1000).await;
    let evaluator = history_evaluator(&harness, "hist", 1.0).await;
    let backfill = create_backfill(&harness, &evaluator, BackfillBudget::default()).await;
    assert_eq!(backfill.estimate.targets, 1300);
    assert_eq!(backfill.estimate.expected_jobs, 1300);
    assert!(
        backfill.estimate.tokens_per_job > 100,
        "{:?}",
        backfill.estimate
    );
    // The stub judge's model has no price.
    assert_eq!(backfill.estimate.estimated_cost_usd, None);

    let cancel = CancellationToken::new();
    assert!(
        worker(&harness, 100, LONG_LEASE)
            .claim_and_walk(&cancel)
            .await
            .unwrap()
    );
    let done = stored(&harness, &backfill).await;
    assert_eq!(done.state, BackfillState::Completed);
    assert_eq!(done.reason, None);
    assert_eq!(
        (
            done.total,
            done.done,
            done.matched,
            done.emitted,
            done.skipped
        ),
        (1300, 1300, 1300, 1300, 0)
    );
    assert!(done.rate().is_some());
    let jobs = jobs_on_topic(&harness).await;
    assert_eq!(jobs.len(), 1300);
    let judged: HashSet<String> = jobs
        .iter()
        .map(|job| job.target.trace_id().to_owned())
        .collect();
    assert_eq!(judged, expected);
    let funnel = harness.meta.funnel(PROJECT, &evaluator.id).await.unwrap();
    assert_eq!((funnel.matched, funnel.queued), (1300, 1300));

    // Again over the same history: every target already has its job.
    let again = create_backfill(&harness, &evaluator, BackfillBudget::default()).await;
    assert!(
        worker(&harness, 100, LONG_LEASE)
            .claim_and_walk(&cancel)
            .await
            .unwrap()
    );
    let again = stored(&harness, &again).await;
    assert_eq!(again.state, BackfillState::Completed);
    assert_eq!((again.done, again.emitted, again.skipped), (1300, 0, 1300));
    assert_eq!(jobs_on_topic(&harness).await.len(), 1300);
    // Nothing left to claim.
    assert!(
        !worker(&harness, 100, LONG_LEASE)
            .claim_and_walk(&cancel)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn sampling_decides_like_the_scheduler() {
    let harness = Harness::new().await;
    let traces: Vec<TraceRecord> = (0..400).map(|i| history_trace(i, 1, "half")).collect();
    write_history(harness.traces.as_ref(), traces.clone()).await;
    let evaluator = history_evaluator(&harness, "half", 0.5).await;
    let in_sample = traces
        .iter()
        .filter(|trace| sampled(&evaluator.id, &trace.id, 0.5))
        .count() as u64;
    let backfill = create_backfill(&harness, &evaluator, BackfillBudget::default()).await;
    assert_eq!(backfill.estimate.expected_jobs, in_sample);
    worker(&harness, 64, LONG_LEASE)
        .claim_and_walk(&CancellationToken::new())
        .await
        .unwrap();
    let done = stored(&harness, &backfill).await;
    assert_eq!((done.matched, done.emitted), (400, in_sample));
    assert_eq!(jobs_on_topic(&harness).await.len() as u64, in_sample);
    let funnel = harness.meta.funnel(PROJECT, &evaluator.id).await.unwrap();
    assert_eq!((funnel.matched, funnel.sampled), (400, in_sample));
}

#[tokio::test]
async fn the_budget_stops_a_backfill_as_completed() {
    let harness = Harness::new().await;
    let traces: Vec<TraceRecord> = (0..500).map(|i| history_trace(i, 1, "budget")).collect();
    write_history(harness.traces.as_ref(), traces).await;
    let evaluator = history_evaluator(&harness, "budget", 1.0).await;
    let by_jobs = BackfillBudget {
        max_jobs: Some(123),
        ..BackfillBudget::default()
    };
    let backfill = create_backfill(&harness, &evaluator, by_jobs).await;
    worker(&harness, 50, LONG_LEASE)
        .claim_and_walk(&CancellationToken::new())
        .await
        .unwrap();
    let done = stored(&harness, &backfill).await;
    assert_eq!(done.state, BackfillState::Completed);
    assert_eq!(done.reason.as_deref(), Some(BUDGET_REACHED));
    assert_eq!((done.done, done.emitted), (123, 123));
    assert_eq!(jobs_on_topic(&harness).await.len(), 123);

    // A token budget: as many jobs as fit at the estimated tokens per job.
    let second = another_evaluator(&harness, &evaluator).await;
    let probe = create_backfill(&harness, &second, BackfillBudget::default()).await;
    harness
        .meta
        .transition_backfill(
            PROJECT,
            &probe.id,
            &[BackfillState::Pending],
            BackfillState::Cancelled,
            None,
            Utc::now(),
        )
        .await
        .unwrap();
    let by_tokens = BackfillBudget {
        max_tokens: Some(probe.estimate.tokens_per_job * 40 + 1),
        ..BackfillBudget::default()
    };
    let backfill = create_backfill(&harness, &second, by_tokens).await;
    worker(&harness, 50, LONG_LEASE)
        .claim_and_walk(&CancellationToken::new())
        .await
        .unwrap();
    let done = stored(&harness, &backfill).await;
    assert_eq!(done.reason.as_deref(), Some(BUDGET_REACHED));
    assert_eq!(done.emitted, 40);
    assert_eq!(jobs_on_topic(&harness).await.len(), 123 + 40);
}

/// Waits until the stored backfill has visited at least `done` targets.
async fn wait_for_done(harness: &Harness, id: &str, done: u64) {
    let meta = harness.meta.clone();
    eventually("progress", Duration::from_secs(60), || {
        let meta = meta.clone();
        async move {
            let found = meta.get_backfill(PROJECT, id).await.unwrap()?;
            (found.done >= done).then_some(())
        }
    })
    .await;
}

/// Waits until the backfill's progress has not changed for half a second.
async fn wait_until_still(harness: &Harness, id: &str) -> u64 {
    let mut last = u64::MAX;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let found = harness
            .meta
            .get_backfill(PROJECT, id)
            .await
            .unwrap()
            .unwrap();
        if found.done == last {
            return last;
        }
        last = found.done;
    }
}

#[tokio::test]
async fn pause_resume_and_cancel_lose_and_repeat_nothing() {
    let harness = Harness::new().await;
    let traces: Vec<TraceRecord> = (0..2000).map(|i| history_trace(i, 2, "pause")).collect();
    write_history(harness.traces.as_ref(), traces).await;
    let evaluator = history_evaluator(&harness, "pause", 1.0).await;
    let backfill = create_backfill(&harness, &evaluator, BackfillBudget::default()).await;
    let cancel = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let running = worker(&harness, 10, LONG_LEASE);
    let token = cancel.clone();
    tasks.spawn(async move { running.run(token).await.unwrap() });

    wait_for_done(&harness, &backfill.id, 200).await;
    let paused = harness
        .meta
        .transition_backfill(
            PROJECT,
            &backfill.id,
            &[BackfillState::Pending, BackfillState::Running],
            BackfillState::Paused,
            None,
            Utc::now(),
        )
        .await
        .unwrap();
    assert!(paused);
    let done_when_paused = wait_until_still(&harness, &backfill.id).await;
    let at_pause = stored(&harness, &backfill).await;
    assert_eq!(at_pause.state, BackfillState::Paused);
    assert!(
        done_when_paused < 2000,
        "paused too late: {done_when_paused}"
    );
    // Every job of the pages walked is on the topic, and only those.
    assert_eq!(jobs_on_topic(&harness).await.len() as u64, at_pause.emitted);
    assert_eq!(at_pause.emitted, at_pause.done);

    harness
        .meta
        .transition_backfill(
            PROJECT,
            &backfill.id,
            &[BackfillState::Paused],
            BackfillState::Running,
            None,
            Utc::now(),
        )
        .await
        .unwrap();
    wait_for_state(&harness, &backfill, BackfillState::Completed).await;
    let jobs = jobs_on_topic(&harness).await;
    assert_eq!((jobs.len(), distinct(&jobs)), (2000, 2000));

    // Cancel: stops for good after the current page.
    let second = another_evaluator(&harness, &evaluator).await;
    let doomed = create_backfill(&harness, &second, BackfillBudget::default()).await;
    wait_for_done(&harness, &doomed.id, 100).await;
    harness
        .meta
        .transition_backfill(
            PROJECT,
            &doomed.id,
            &[
                BackfillState::Pending,
                BackfillState::Running,
                BackfillState::Paused,
            ],
            BackfillState::Cancelled,
            Some("cancelled by a user"),
            Utc::now(),
        )
        .await
        .unwrap();
    wait_until_still(&harness, &doomed.id).await;
    let cancelled = stored(&harness, &doomed).await;
    assert_eq!(cancelled.state, BackfillState::Cancelled);
    assert!(cancelled.done < 2000);
    let second_jobs = jobs_on_topic(&harness)
        .await
        .into_iter()
        .filter(|job| job.evaluator_id == second.id)
        .count() as u64;
    assert_eq!(second_jobs, cancelled.emitted);
    cancel.cancel();
    while let Some(joined) = tasks.join_next().await {
        joined.unwrap();
    }
}

#[tokio::test]
async fn a_new_worker_resumes_a_crashed_one_from_the_saved_cursor() {
    let harness = Harness::new().await;
    let traces: Vec<TraceRecord> = (0..3000).map(|i| history_trace(i, 1, "crash")).collect();
    write_history(harness.traces.as_ref(), traces).await;
    let evaluator = history_evaluator(&harness, "crash", 1.0).await;
    let backfill = create_backfill(&harness, &evaluator, BackfillBudget::default()).await;
    let page = 50;

    // A clean stop (shutdown) between pages: the next worker claims it at once.
    let cancel = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let first = worker(&harness, page, Duration::from_secs(1));
    let token = cancel.clone();
    tasks.spawn(async move { first.run(token).await.unwrap() });
    wait_for_done(&harness, &backfill.id, 500).await;
    cancel.cancel();
    tasks.join_next().await.unwrap().unwrap();
    let stopped = stored(&harness, &backfill).await;
    assert_eq!(stopped.state, BackfillState::Running);
    assert_eq!(jobs_on_topic(&harness).await.len() as u64, stopped.emitted);

    // A crash mid-page: the task is dropped wherever it is.
    let second = worker(&harness, page, Duration::from_secs(1));
    let handle = tasks.spawn(async move { second.run(CancellationToken::new()).await.unwrap() });
    wait_for_done(&harness, &backfill.id, 1500).await;
    handle.abort();
    let _ = tasks.join_next().await;
    let crashed = stored(&harness, &backfill).await;
    assert!(crashed.done < 3000, "crashed too late: {}", crashed.done);

    // A new worker takes over once the dead one's lease ends, from the saved cursor.
    let third = worker(&harness, page, Duration::from_secs(1));
    let cancel = CancellationToken::new();
    let token = cancel.clone();
    tasks.spawn(async move { third.run(token).await.unwrap() });
    wait_for_state(&harness, &backfill, BackfillState::Completed).await;
    cancel.cancel();
    tasks.join_next().await.unwrap().unwrap();

    let done = stored(&harness, &backfill).await;
    assert_eq!((done.done, done.matched, done.emitted), (3000, 3000, 3000));
    let jobs = jobs_on_topic(&harness).await;
    assert_eq!(distinct(&jobs), 3000);
    // At most the page the crash interrupted is emitted twice (its jobs were still queued
    // under this backfill); the runner's claim judges each job once.
    let repeated = jobs.len() - 3000;
    assert!(repeated <= page as usize, "{repeated} jobs emitted twice");
    let funnel = harness.meta.funnel(PROJECT, &evaluator.id).await.unwrap();
    assert_eq!(funnel.matched, 3000);
}
