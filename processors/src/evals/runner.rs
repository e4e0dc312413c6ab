//! The eval runner: one job in, one score event on the ingest topic and the job's outcome in
//! the store.
//!
//! Per job: wait for `not_before` → claim the job (a lease, so a duplicate job message or a
//! second runner never judges twice at once) → load the evaluator, template, connection and
//! the settled target → render the prompt → ask the judge → parse → append the score event to
//! the ingest topic (the same envelope `POST /api/public/scores` writes, source `EVAL`) → mark
//! the job succeeded. A job that cannot succeed is marked failed with a reason; a backend
//! hiccup releases the claim and retries the record.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use periscope_core::error::BackendError;
use periscope_core::evals::{
    EvalJob, EvalStore, JobClaim, JobOutcome, JobStatus, LlmConnection, SecretCipher,
    find_template, render_prompt, resolve_path, value_text,
};
use periscope_core::log::{ConsumedRecord, EventLog, LogRecord};
use periscope_core::pipeline::{Processor, StageError};
use periscope_core::topics;
use tokio_util::sync::CancellationToken;

use super::answer::{excerpt, parse_answer};
use super::judge::{Judge, JudgeCall, JudgeFailure, JudgeReply};
use super::score_event::{ScoreContext, score_body, score_record};
use super::target::TargetLoader;

/// Why a job ended without a score, and what it cost until then.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Failure {
    pub(crate) outcome: JobOutcome,
}

impl Failure {
    pub(crate) fn new(reason: &str, message: String) -> Self {
        Self {
            outcome: JobOutcome {
                failure_reason: Some(reason.to_owned()),
                message: Some(message),
                ..JobOutcome::default()
            },
        }
    }

    fn from_judge(failure: JudgeFailure) -> Self {
        let mut this = Self::new(failure.reason, failure.message);
        this.outcome.attempts = failure.attempts;
        this.outcome.latency_ms = Some(millis(failure.latency));
        this
    }
}

/// How running a job went wrong.
#[derive(Debug)]
pub(crate) enum RunError {
    /// The job failed for good.
    Job(Failure),
    /// A store or the log failed; the job is released and retried.
    Backend(BackendError),
}

impl From<Failure> for RunError {
    fn from(failure: Failure) -> Self {
        Self::Job(failure)
    }
}

impl From<BackendError> for RunError {
    fn from(error: BackendError) -> Self {
        Self::Backend(error)
    }
}

/// A judged job, ready to be written.
struct Judged {
    score: LogRecord,
    outcome: JobOutcome,
}

/// Runs eval jobs (see the module docs).
#[derive(Debug)]
pub struct RunnerProcessor {
    pub(crate) log: Arc<dyn EventLog>,
    pub(crate) store: Arc<dyn EvalStore>,
    pub(crate) cipher: SecretCipher,
    pub(crate) judge: Judge,
    pub(crate) targets: TargetLoader,
    /// How long a claim holds; longer than the slowest job.
    pub(crate) lease: Duration,
    pub(crate) cancel: CancellationToken,
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn shutting_down() -> StageError {
    StageError::Transient(BackendError::Unavailable {
        backend: "eval_runner",
        message: "shutting down".to_owned(),
    })
}

impl RunnerProcessor {
    /// Puts a claimed job back in the queue (the record will be retried).
    async fn release(&self, job: &EvalJob) {
        let released = self
            .store
            .finish_job(
                &job.id,
                JobStatus::Queued,
                &JobOutcome::default(),
                Utc::now(),
            )
            .await;
        if let Err(error) = released {
            tracing::warn!(%error, job_id = job.id, "failed to release an eval job; its lease will expire");
        }
    }

    /// Records the end of a job, retrying briefly: the score (if any) is already in the log.
    async fn finish(
        &self,
        job: &EvalJob,
        status: JobStatus,
        outcome: &JobOutcome,
    ) -> Result<(), StageError> {
        let mut last_error = None;
        for attempt in 0..3u32 {
            match self
                .store
                .finish_job(&job.id, status, outcome, Utc::now())
                .await
            {
                Ok(()) => return Ok(()),
                Err(error) => last_error = Some(error),
            }
            tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
        }
        match last_error {
            Some(error) => Err(error.into()),
            None => Ok(()),
        }
    }

    async fn execute(&self, job: &EvalJob) -> Result<Judged, RunError> {
        let project_id = job.project_id.as_str();
        let evaluator = self
            .store
            .get_evaluator(project_id, &job.evaluator_id)
            .await?
            .ok_or_else(|| Failure::new("evaluator_deleted", "the evaluator was deleted".into()))?;
        if !evaluator.active {
            return Err(
                Failure::new("evaluator_inactive", "the evaluator was deactivated".into()).into(),
            );
        }
        let template = find_template(
            self.store.as_ref(),
            project_id,
            &evaluator.template_name,
            Some(evaluator.template_version),
        )
        .await?
        .ok_or_else(|| {
            Failure::new(
                "template_missing",
                format!(
                    "template {} version {} does not exist",
                    evaluator.template_name, evaluator.template_version
                ),
            )
        })?;
        let connection = self
            .store
            .get_connection(project_id, &evaluator.connection_id)
            .await?
            .ok_or_else(|| {
                Failure::new(
                    "connection_missing",
                    format!("LLM connection {} does not exist", evaluator.connection_id),
                )
            })?;
        let api_key = if connection.sealed_api_key.is_empty() {
            None
        } else {
            let context = LlmConnection::seal_context(project_id, &connection.id);
            let key = self
                .cipher
                .open(&connection.sealed_api_key, &context)
                .map_err(|error| Failure::new("encryption_key", error.to_string()))?;
            Some(key)
        };
        let target = self.targets.load(job, &evaluator).await?;
        let mut values = BTreeMap::new();
        for variable in template.variables() {
            let path = evaluator.variable_path(&variable);
            let value = resolve_path(&target.document, &path)
                .map_err(|message| Failure::new("invalid_mapping", message))?
                .filter(|value| !value.is_null())
                .ok_or_else(|| {
                    Failure::new(
                        "variable_missing",
                        format!(
                            "variable {variable:?}: {path:?} is missing from the {}",
                            job.target.kind()
                        ),
                    )
                })?;
            values.insert(variable, value_text(&value));
        }
        let prompt = render_prompt(&template.prompt, &values)
            .map_err(|message| Failure::new("variable_missing", message))?;
        let model = evaluator
            .model
            .clone()
            .unwrap_or_else(|| connection.default_model.clone());
        let call = JudgeCall {
            connection: &connection,
            api_key: api_key.as_deref(),
            model: &model,
            prompt: &prompt,
            output: &template.output,
        };
        let reply = self.judge.ask(&call).await.map_err(Failure::from_judge)?;
        let verdict = parse_answer(&reply.content, &template.output).map_err(|message| {
            let mut failure = Failure::new("invalid_answer", message);
            record_usage(&mut failure.outcome, &reply);
            failure
        })?;
        let now = Utc::now();
        let context = ScoreContext {
            job,
            evaluator: &evaluator,
            output: &template.output,
            model: &model,
            environment: target.environment,
            now,
        };
        let body = score_body(&context, &verdict);
        let score = score_record(project_id, &body, now).map_err(|error| {
            Failure::new("internal", format!("failed to encode the score: {error}"))
        })?;
        let mut outcome = JobOutcome {
            message: verdict.reasoning.clone(),
            score_id: Some(body.id.clone()),
            score_value: Some(verdict.value),
            score_label: verdict.label.clone(),
            ..JobOutcome::default()
        };
        record_usage(&mut outcome, &reply);
        Ok(Judged { score, outcome })
    }
}

fn record_usage(outcome: &mut JobOutcome, reply: &JudgeReply) {
    outcome.prompt_tokens = reply.prompt_tokens;
    outcome.completion_tokens = reply.completion_tokens;
    outcome.latency_ms = Some(millis(reply.latency));
    outcome.attempts = reply.attempts;
}

/// Jobs of one batch handled at once.
const RUNNER_CONCURRENCY: usize = 32;

#[async_trait]
impl Processor for RunnerProcessor {
    fn name(&self) -> &'static str {
        "eval_runner"
    }

    /// Jobs mostly wait: on their settle window and on the judge. Many run at once; the
    /// per-connection semaphore still caps concurrent calls to each judge.
    fn concurrency(&self) -> usize {
        RUNNER_CONCURRENCY
    }

    async fn process(&self, consumed: &ConsumedRecord) -> Result<Vec<LogRecord>, StageError> {
        let job: EvalJob = serde_json::from_slice(&consumed.value)
            .map_err(|error| StageError::Poison(format!("undecodable eval job: {error}")))?;
        let wait = (job.not_before - Utc::now()).to_std().unwrap_or_default();
        tokio::select! {
            () = self.cancel.cancelled() => return Err(shutting_down()),
            () = tokio::time::sleep(wait) => {}
        }
        let now = Utc::now();
        let lease_until = now + chrono::Duration::from_std(self.lease).unwrap_or_default();
        match self.store.claim_job(&job.id, now, lease_until).await? {
            JobClaim::Claimed => {}
            claim => {
                tracing::debug!(
                    job_id = job.id,
                    ?claim,
                    "skipping an eval job held or done elsewhere"
                );
                return Ok(Vec::new());
            }
        }
        let result = tokio::select! {
            () = self.cancel.cancelled() => {
                self.release(&job).await;
                return Err(shutting_down());
            }
            result = self.execute(&job) => result,
        };
        match result {
            Ok(judged) => {
                if let Err(error) = self.log.append(topics::INGEST, vec![judged.score]).await {
                    self.release(&job).await;
                    return Err(StageError::Transient(error));
                }
                self.finish(&job, JobStatus::Succeeded, &judged.outcome)
                    .await?;
            }
            Err(RunError::Job(failure)) => {
                tracing::info!(
                    job_id = job.id,
                    evaluator_id = job.evaluator_id,
                    reason = failure
                        .outcome
                        .failure_reason
                        .as_deref()
                        .unwrap_or_default(),
                    message = excerpt(failure.outcome.message.as_deref().unwrap_or_default()),
                    "eval job failed"
                );
                self.finish(&job, JobStatus::Failed, &failure.outcome)
                    .await?;
            }
            Err(RunError::Backend(error)) => {
                self.release(&job).await;
                return Err(StageError::from(error));
            }
        }
        Ok(Vec::new())
    }
}
