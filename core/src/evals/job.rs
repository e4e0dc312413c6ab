//! Evaluation jobs: one per (evaluator, evaluator version, target), with their fate.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The record a job judges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TargetRef {
    Trace {
        #[serde(rename = "traceId")]
        trace_id: String,
    },
    Observation {
        #[serde(rename = "traceId")]
        trace_id: String,
        #[serde(rename = "observationId")]
        observation_id: String,
    },
    /// The task span of a dataset run item.
    DatasetRunItem {
        #[serde(rename = "traceId")]
        trace_id: String,
        #[serde(rename = "observationId")]
        observation_id: String,
        #[serde(rename = "datasetItemId")]
        dataset_item_id: String,
        #[serde(rename = "datasetRunId")]
        dataset_run_id: String,
    },
}

impl TargetRef {
    /// Returns the trace of the target.
    pub fn trace_id(&self) -> &str {
        match self {
            Self::Trace { trace_id }
            | Self::Observation { trace_id, .. }
            | Self::DatasetRunItem { trace_id, .. } => trace_id,
        }
    }

    /// Returns the observation of the target, if it is one.
    pub fn observation_id(&self) -> Option<&str> {
        match self {
            Self::Trace { .. } => None,
            Self::Observation { observation_id, .. }
            | Self::DatasetRunItem { observation_id, .. } => Some(observation_id),
        }
    }

    /// Returns the id that identifies the target within its kind (the dedup and sampling key).
    pub fn target_id(&self) -> &str {
        self.observation_id().unwrap_or_else(|| self.trace_id())
    }

    /// Returns the stable name of the target kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Trace { .. } => "trace",
            Self::Observation { .. } => "observation",
            Self::DatasetRunItem { .. } => "dataset_run_item",
        }
    }
}

/// A job as carried on `periscope.eval-jobs.v1` (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvalJob {
    /// Derived from the dedup key, see [`job_id`].
    pub id: String,
    pub project_id: String,
    pub evaluator_id: String,
    pub evaluator_version: i64,
    pub target: TargetRef,
    /// The runner starts the job no earlier than this (the settle window).
    pub not_before: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// Returns the id of the job of `evaluator_id` at `version` for `target_id`: the same inputs
/// always give the same id, so a replayed record finds the job it already made.
pub fn job_id(evaluator_id: &str, version: i64, target_id: &str) -> String {
    let digest = Sha256::digest(format!("{evaluator_id}\n{version}\n{target_id}").as_bytes());
    hex::encode(&digest[..16])
}

/// Returns the id of the score an evaluator writes on a target. It does not depend on the
/// evaluator version, so re-judging after a change replaces the score instead of adding one.
pub fn score_id(evaluator_id: &str, target_id: &str) -> String {
    let digest = Sha256::digest(format!("eval-score\n{evaluator_id}\n{target_id}").as_bytes());
    hex::encode(&digest[..16])
}

/// Returns whether a target falls in an evaluator's sample: a hash of both ids, read as a
/// fraction of 1, below the rate. Deterministic, so replays and restarts decide the same.
pub fn sampled(evaluator_id: &str, target_id: &str, sampling_rate: f64) -> bool {
    if sampling_rate >= 1.0 {
        return true;
    }
    if sampling_rate <= 0.0 {
        return false;
    }
    let digest = Sha256::digest(format!("{evaluator_id}\n{target_id}").as_bytes());
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    let fraction = u64::from_be_bytes(head) as f64 / u64::MAX as f64;
    fraction < sampling_rate
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// The target matched but fell outside the sample: no job was emitted.
    Unsampled,
    /// Emitted, waiting for the runner.
    Queued,
    /// Claimed by a runner (until its lease ends).
    Running,
    /// A score was written.
    Succeeded,
    /// No score: see the failure reason.
    Failed,
}

impl JobStatus {
    /// Returns the stable lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unsampled => "unsampled",
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    /// Parses a status name case-insensitively.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::Unsampled,
            Self::Queued,
            Self::Running,
            Self::Succeeded,
            Self::Failed,
        ]
        .into_iter()
        .find(|status| status.as_str().eq_ignore_ascii_case(name))
    }

    /// Returns whether the job is over.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Unsampled)
    }
}

/// How a finished job ended.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JobOutcome {
    /// A short stable reason when it failed (`timeout`, `rate_limited`, `invalid_answer`, ...).
    pub failure_reason: Option<String>,
    /// Details of the failure, or the judge's reasoning when it succeeded.
    pub message: Option<String>,
    pub score_id: Option<String>,
    pub score_value: Option<f64>,
    pub score_label: Option<String>,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
    /// Wall time of the judge call(s), retries included.
    pub latency_ms: Option<i64>,
    /// Judge requests sent.
    pub attempts: i64,
}

/// A job with its current state, as listed by `GET /evaluators/{id}/jobs`.
#[derive(Debug, Clone, PartialEq)]
pub struct JobExecution {
    pub job: EvalJob,
    pub status: JobStatus,
    pub outcome: JobOutcome,
    pub updated_at: DateTime<Utc>,
}

/// The counts of one evaluator's funnel: matched → sampled → queued → scored / failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Funnel {
    /// Targets that matched the filter (each counted once per evaluator version).
    pub matched: u64,
    /// Matched targets inside the sample.
    pub sampled: u64,
    /// Jobs emitted to the runner (every sampled target).
    pub queued: u64,
    /// Jobs not finished yet (queued or running).
    pub pending: u64,
    pub scored: u64,
    pub failed: u64,
    /// Failed jobs per reason.
    pub failed_by_reason: BTreeMap<String, u64>,
}
