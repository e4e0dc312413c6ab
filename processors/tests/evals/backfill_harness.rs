//! Fixtures of the backfill tests: historical traces written straight into the SQLite trace
//! store, backfills planned and stored like the API does, workers, and the jobs read back
//! from the eval-jobs topic.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use periscope_core::evals::backfill::{
    Backfill, BackfillBudget, BackfillRequest, BackfillState, plan_backfill,
};
use periscope_core::evals::{EvalFilter, EvalJob, EvalStore, Evaluator};
use periscope_core::model::{Record, TraceRecord};
use periscope_core::store::TraceStore;
use periscope_core::topics;
use periscope_processors::evals::backfill::{BackfillSettings, BackfillWorker};

use super::harness::{Harness, PROJECT, eventually, seed_trace};

/// The start of the history the tests write.
pub(crate) fn history_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

/// A historical trace tagged `tag`, `index` milliseconds / `per_timestamp` after the start
/// (so `per_timestamp` traces share each timestamp).
pub(crate) fn history_trace(index: u64, per_timestamp: u64, tag: &str) -> TraceRecord {
    let at = history_start() + chrono::Duration::milliseconds((index / per_timestamp) as i64);
    TraceRecord {
        timestamp: Some(at),
        event_time: at,
        ..seed_trace(
            &format!("{tag}-{index:07}"),
            tag,
            "What is the capital of France?",
            "Paris is the capital of France.",
            "Paris",
        )
    }
}

/// Writes `traces` into the trace store in large transactions.
pub(crate) async fn write_history(store: &dyn TraceStore, traces: Vec<TraceRecord>) {
    let mut records: Vec<Record> = traces.into_iter().map(Record::Trace).collect();
    while !records.is_empty() {
        let rest = records.split_off(records.len().min(20_000));
        store.write(records).await.unwrap();
        records = rest;
    }
}

/// An evaluator over traces tagged `tag` (the stub judge's connection, the seed template).
pub(crate) async fn history_evaluator(harness: &Harness, tag: &str, sampling: f64) -> Evaluator {
    let connection = harness.create_connection().await;
    let template = harness.create_hallucination_template().await;
    harness
        .create_evaluator(&template, &connection, tag, sampling)
        .await
}

/// Stores another evaluator like `like` (same template, connection and filter).
pub(crate) async fn another_evaluator(harness: &Harness, like: &Evaluator) -> Evaluator {
    let evaluator = Evaluator {
        id: format!("ev-{}", periscope_core::ids::new_event_id()),
        ..like.clone()
    };
    harness.meta.create_evaluator(&evaluator).await.unwrap();
    evaluator
}

/// Plans and stores a backfill of `evaluator` over the whole history.
pub(crate) async fn create_backfill(
    harness: &Harness,
    evaluator: &Evaluator,
    budget: BackfillBudget,
) -> Backfill {
    let request = BackfillRequest {
        project_id: PROJECT.into(),
        evaluator_id: evaluator.id.clone(),
        from: history_start(),
        to: history_start() + chrono::Duration::days(1),
        filter: EvalFilter::default(),
        budget,
    };
    let backfill = plan_backfill(
        harness.meta.as_ref(),
        harness.traces.as_ref(),
        &[],
        request,
        Utc::now(),
    )
    .await
    .unwrap();
    harness.meta.create_backfill(&backfill).await.unwrap();
    backfill
}

/// A worker with pages of `page_size` and claims of `lease`, polling every 20 ms.
pub(crate) fn worker(harness: &Harness, page_size: u64, lease: Duration) -> BackfillWorker {
    let settings = BackfillSettings {
        page_size,
        poll_interval: Duration::from_millis(20),
        lease,
    };
    BackfillWorker::new(
        harness.meta.clone(),
        harness.traces.clone(),
        harness.log.clone(),
        settings,
    )
}

/// Returns the stored backfill.
pub(crate) async fn stored(harness: &Harness, backfill: &Backfill) -> Backfill {
    harness
        .meta
        .get_backfill(PROJECT, &backfill.id)
        .await
        .unwrap()
        .unwrap()
}

/// Waits until the backfill is in `state`.
pub(crate) async fn wait_for_state(harness: &Harness, backfill: &Backfill, state: BackfillState) {
    let meta: Arc<dyn EvalStore> = harness.meta.clone();
    eventually(
        &format!("backfill {}", state.as_str()),
        Duration::from_secs(120),
        || {
            let meta = meta.clone();
            async move {
                let found = meta.get_backfill(PROJECT, &backfill.id).await.unwrap()?;
                (found.state == state).then_some(())
            }
        },
    )
    .await;
}

/// Every job on the eval-jobs topic so far (read by a fresh consumer group).
pub(crate) async fn jobs_on_topic(harness: &Harness) -> Vec<EvalJob> {
    let group = format!("count-{}", periscope_core::ids::new_event_id());
    let mut consumer = harness
        .log
        .subscribe(topics::EVAL_JOBS, &group)
        .await
        .unwrap();
    let mut jobs = Vec::new();
    loop {
        let batch = consumer
            .poll(10_000, Duration::from_millis(200))
            .await
            .unwrap();
        if batch.is_empty() {
            return jobs;
        }
        for record in batch {
            jobs.push(serde_json::from_slice(&record.value).unwrap());
        }
    }
}

/// Returns the number of distinct job ids among `jobs`.
pub(crate) fn distinct(jobs: &[EvalJob]) -> usize {
    jobs.iter()
        .map(|job| job.id.as_str())
        .collect::<HashSet<_>>()
        .len()
}
