//! Evaluators, LLM-as-a-judge on live traces: the scheduler (records → eval jobs) and the
//! runner (eval jobs → judge → score events on the ingest topic), each its own consumer group
//! driven by the shared `run_processor` runner. See docs/adr/0013-evaluators.md.

mod answer;
pub mod backfill;
mod judge;
mod runner;
mod scheduler;
mod score_event;
mod target;

use std::sync::Arc;
use std::time::Duration;

use periscope_core::datasets::DatasetStore;
use periscope_core::error::{BackendError, BackendResult};
use periscope_core::evals::{EvalStore, SecretCipher};
use periscope_core::log::EventLog;
use periscope_core::pipeline::{PipelineStats, RunnerConfig, run_processor};
use periscope_core::store::TraceStore;
use periscope_core::topics;
use tokio_util::sync::CancellationToken;

pub use answer::{Verdict, parse_answer};
pub use judge::JudgeSettings;
pub use runner::RunnerProcessor;
pub use scheduler::SchedulerProcessor;
pub use target::TargetSettings;

/// Consumer group of the scheduler (on `periscope.records.v1`).
pub const SCHEDULER_GROUP: &str = "periscope-eval-scheduler";
/// Consumer group of the runner (on `periscope.eval-jobs.v1`).
pub const RUNNER_GROUP: &str = "periscope-eval-runner";

/// Tuning of both processors.
#[derive(Debug, Clone)]
pub struct EvalSettings {
    /// How often the scheduler reloads the active evaluators.
    pub evaluator_refresh: Duration,
    pub judge: JudgeSettings,
    pub targets: TargetSettings,
    /// Records per scheduler batch.
    pub scheduler_batch: usize,
    /// Jobs per runner batch: small, since a batch's offset is committed only once all of its
    /// judge calls are done.
    pub runner_batch: usize,
    pub batch_max_wait: Duration,
    pub max_backoff: Duration,
}

impl Default for EvalSettings {
    fn default() -> Self {
        Self {
            evaluator_refresh: Duration::from_secs(5),
            judge: JudgeSettings::default(),
            targets: TargetSettings::default(),
            scheduler_batch: 500,
            runner_batch: 8,
            batch_max_wait: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// Everything the evaluator processors use.
#[derive(Debug, Clone)]
pub struct EvalDeps {
    pub log: Arc<dyn EventLog>,
    pub traces: Arc<dyn TraceStore>,
    /// For the expected output of dataset run items.
    pub datasets: Arc<dyn DatasetStore>,
    pub store: Arc<dyn EvalStore>,
    /// Opens the LLM connection keys.
    pub cipher: SecretCipher,
    pub settings: EvalSettings,
}

/// The counters of both processors, for `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct EvalStats {
    pub scheduler: Arc<PipelineStats>,
    pub runner: Arc<PipelineStats>,
}

/// Returns the runner processor for `deps`.
pub fn runner_processor(
    deps: &EvalDeps,
    cancel: CancellationToken,
) -> BackendResult<RunnerProcessor> {
    let settings = &deps.settings;
    let judge = judge::Judge::new(settings.judge.clone()).map_err(|error| BackendError::Other {
        backend: "eval_runner",
        context: "failed to set up TLS for judge requests".to_owned(),
        source: Box::new(error),
    })?;
    let attempts = settings.judge.max_attempts.max(1);
    let lease = settings.targets.target_wait
        + settings.targets.max_settle_extension
        + (settings.judge.request_timeout + settings.judge.max_backoff) * attempts
        + Duration::from_secs(60);
    Ok(RunnerProcessor {
        log: deps.log.clone(),
        store: deps.store.clone(),
        cipher: deps.cipher.clone(),
        judge,
        targets: target::TargetLoader {
            traces: deps.traces.clone(),
            datasets: deps.datasets.clone(),
            settings: settings.targets.clone(),
        },
        lease,
        cancel,
    })
}

/// Runs the scheduler, the runner and the backfill worker until `cancel` fires (each
/// finishes its batch or page first).
pub async fn run(deps: EvalDeps, stats: EvalStats, cancel: CancellationToken) -> BackendResult<()> {
    let settings = deps.settings.clone();
    deps.log.ensure_topic(topics::EVAL_JOBS).await?;
    let scheduler = SchedulerProcessor::new(deps.store.clone(), settings.evaluator_refresh);
    let runner = runner_processor(&deps, cancel.clone())?;
    let backfills = backfill::BackfillWorker::new(
        deps.store.clone(),
        deps.traces.clone(),
        deps.log.clone(),
        backfill::BackfillSettings::default(),
    );
    let config = |group: &str, batch: usize| RunnerConfig {
        group: group.to_owned(),
        batch_max_records: batch,
        batch_max_wait: settings.batch_max_wait,
        max_backoff: settings.max_backoff,
    };
    // The runner writes its score events itself (before recording the job as done), so its
    // output topic only ever receives nothing.
    let (scheduled, ran, backfilled) = tokio::join!(
        run_processor(
            deps.log.clone(),
            scheduler,
            topics::RECORDS,
            topics::EVAL_JOBS,
            config(SCHEDULER_GROUP, settings.scheduler_batch),
            stats.scheduler,
            cancel.clone(),
        ),
        run_processor(
            deps.log.clone(),
            runner,
            topics::EVAL_JOBS,
            topics::INGEST,
            config(RUNNER_GROUP, settings.runner_batch),
            stats.runner,
            cancel.clone(),
        ),
        backfills.run(cancel),
    );
    scheduled.and(ran).and(backfilled)
}
