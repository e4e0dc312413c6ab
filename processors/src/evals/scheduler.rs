//! The eval scheduler: records in, jobs out. For each record it finds the active evaluators of
//! the record's project whose target and filter match, samples deterministically, registers
//! one job per (evaluator, version, target) in the store and emits the jobs it created.
//!
//! Exactly once: the job row's id is derived from its dedup key, so a replayed record finds
//! its job and emits nothing. The one exception keeps at-least-once delivery: when the record
//! that created a still-queued job is read again from the same log position (the runner was
//! interrupted before the job reached the log), the job is emitted again; the runner's claim
//! makes that duplicate harmless.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use chrono::Utc;
use periscope_core::evals::{
    EvalJob, EvalStore, Evaluator, JobRegistration, JobStatus, job_id, match_record, sampled,
};
use periscope_core::log::{ConsumedRecord, LogRecord};
use periscope_core::model::Record;
use periscope_core::pipeline::{Processor, StageError};
use periscope_core::topics;

/// Job ids registered by this process, remembered to skip the store for the many later
/// records of the same trace; cleared when it grows past this.
const MAX_REMEMBERED_JOBS: usize = 100_000;

type EvaluatorsByProject = HashMap<String, Vec<Evaluator>>;

/// The active evaluators, reloaded from the store at most once per refresh interval.
#[derive(Debug)]
struct EvaluatorCache {
    store: Arc<dyn EvalStore>,
    refresh: Duration,
    loaded: Mutex<Option<(Instant, Arc<EvaluatorsByProject>)>>,
}

impl EvaluatorCache {
    async fn get(&self) -> Result<Arc<EvaluatorsByProject>, StageError> {
        {
            let loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((at, evaluators)) = loaded.as_ref()
                && at.elapsed() < self.refresh
            {
                return Ok(evaluators.clone());
            }
        }
        let mut by_project = EvaluatorsByProject::new();
        for evaluator in self.store.list_active_evaluators().await? {
            by_project
                .entry(evaluator.project_id.clone())
                .or_default()
                .push(evaluator);
        }
        let by_project = Arc::new(by_project);
        *self.loaded.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((Instant::now(), by_project.clone()));
        Ok(by_project)
    }
}

/// Matches records against evaluators and emits eval jobs (see the module docs).
#[derive(Debug)]
pub struct SchedulerProcessor {
    store: Arc<dyn EvalStore>,
    evaluators: EvaluatorCache,
    /// Job id → the log position that registered it.
    registered: Mutex<HashMap<String, String>>,
}

impl SchedulerProcessor {
    /// Returns a scheduler reading evaluators from `store`, refreshed every `refresh`.
    pub fn new(store: Arc<dyn EvalStore>, refresh: Duration) -> Self {
        Self {
            evaluators: EvaluatorCache {
                store: store.clone(),
                refresh,
                loaded: Mutex::new(None),
            },
            store,
            registered: Mutex::new(HashMap::new()),
        }
    }

    /// Returns whether this process registered `job_id` from another log position (so the
    /// store need not be asked again).
    fn known_elsewhere(&self, job_id: &str, origin: &str) -> bool {
        let registered = self
            .registered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        registered.get(job_id).is_some_and(|seen| seen != origin)
    }

    fn remember(&self, job_id: &str, origin: &str) {
        let mut registered = self
            .registered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if registered.len() >= MAX_REMEMBERED_JOBS {
            registered.clear();
        }
        registered
            .entry(job_id.to_owned())
            .or_insert_with(|| origin.to_owned());
    }

    /// Registers the job of `evaluator` for the matched record; returns it when it must be
    /// emitted.
    async fn schedule(
        &self,
        evaluator: &Evaluator,
        record: &Record,
        origin: &str,
    ) -> Result<Option<EvalJob>, StageError> {
        let Some(target) = match_record(evaluator, record) else {
            return Ok(None);
        };
        let target_id = target.target_id().to_owned();
        let id = job_id(&evaluator.id, evaluator.version, &target_id);
        if self.known_elsewhere(&id, origin) {
            return Ok(None);
        }
        let now = Utc::now();
        let settle = chrono::Duration::from_std(evaluator.settle_window).unwrap_or_default();
        let job = EvalJob {
            id,
            project_id: evaluator.project_id.clone(),
            evaluator_id: evaluator.id.clone(),
            evaluator_version: evaluator.version,
            target,
            not_before: now + settle,
            created_at: now,
        };
        let in_sample = sampled(&evaluator.id, &target_id, evaluator.sampling_rate);
        let status = if in_sample {
            JobStatus::Queued
        } else {
            JobStatus::Unsampled
        };
        let emit = match self.store.register_job(&job, status, origin).await? {
            JobRegistration::Created => {
                self.remember(&job.id, origin);
                in_sample
            }
            JobRegistration::Existing {
                status,
                origin: first_origin,
            } => {
                // Remember the position that made the job, so a re-read of that very record
                // still reaches the store.
                self.remember(&job.id, &first_origin);
                status == JobStatus::Queued && first_origin == origin
            }
        };
        Ok(emit.then_some(job))
    }
}

#[async_trait]
impl Processor for SchedulerProcessor {
    fn name(&self) -> &'static str {
        "eval_scheduler"
    }

    async fn process(&self, consumed: &ConsumedRecord) -> Result<Vec<LogRecord>, StageError> {
        let evaluators = self.evaluators.get().await?;
        // The key names the project (`project_id/trace_id`): most records belong to projects
        // without active evaluators, so skip them before paying for the JSON decode.
        if let Some(project_id) = topics::key_project_id(&consumed.key)
            && !evaluators.contains_key(project_id)
        {
            return Ok(Vec::new());
        }
        let record: Record = serde_json::from_slice(&consumed.value)
            .map_err(|error| StageError::Poison(format!("undecodable record: {error}")))?;
        if matches!(record, Record::Score(_)) {
            return Ok(Vec::new());
        }
        let Some(candidates) = evaluators.get(record.project_id()) else {
            return Ok(Vec::new());
        };
        let origin = format!(
            "{}/{}/{}",
            consumed.topic, consumed.partition, consumed.offset
        );
        let mut jobs = Vec::new();
        for evaluator in candidates {
            let Some(job) = self.schedule(evaluator, &record, &origin).await? else {
                continue;
            };
            let value = serde_json::to_vec(&job)
                .map_err(|error| StageError::Poison(format!("failed to encode a job: {error}")))?;
            jobs.push(LogRecord {
                key: Bytes::from(topics::trace_key(&job.project_id, job.target.trace_id())),
                value: Bytes::from(value),
            });
        }
        Ok(jobs)
    }
}
