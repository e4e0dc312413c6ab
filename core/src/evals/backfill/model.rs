//! The backfill row: what to walk, the budget, the estimate it started from, and where it is.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::pager::BackfillCursor;
use crate::evals::EvalFilter;

/// The reason of a backfill that stopped at its budget (state `completed`).
pub const BUDGET_REACHED: &str = "budget reached";

/// Where a backfill is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackfillState {
    /// Created, not claimed by a worker yet.
    Pending,
    /// A worker walks it (or will claim it again once the holder's lease ends).
    Running,
    /// Stopped by a user; `resume` makes it running again from its cursor.
    Paused,
    /// Every target was visited, or the budget was reached (see the reason).
    Completed,
    /// Stopped by a user for good.
    Cancelled,
    /// Stopped by an error it cannot get past (e.g. the evaluator was deleted).
    Failed,
}

impl BackfillState {
    /// Every state, for parsing.
    pub const ALL: [Self; 6] = [
        Self::Pending,
        Self::Running,
        Self::Paused,
        Self::Completed,
        Self::Cancelled,
        Self::Failed,
    ];

    /// Returns the stable lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
        }
    }

    /// Parses a state name case-insensitively.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str().eq_ignore_ascii_case(name))
    }

    /// Returns whether the backfill is over for good.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Cancelled | Self::Failed)
    }
}

/// Limits on what a backfill may spend; it stops `completed` with [`BUDGET_REACHED`] at the
/// first one reached. Tokens and cost are counted with the estimate per job.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackfillBudget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_jobs: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cost_usd: Option<f64>,
}

impl BackfillBudget {
    /// Returns how many more jobs fit after `emitted` jobs, each estimated at
    /// `tokens_per_job` tokens and `cost_per_job` USD; `None` when nothing limits them.
    pub fn remaining_jobs(
        &self,
        emitted: u64,
        tokens_per_job: u64,
        cost_per_job: Option<f64>,
    ) -> Option<u64> {
        let by_tokens = self
            .max_tokens
            .map(|max| max.checked_div(tokens_per_job).unwrap_or(u64::MAX));
        // An unpriced model cannot be held to a cost budget (the estimate says it is unpriced).
        let by_cost = match (self.max_cost_usd, cost_per_job) {
            (Some(max), Some(cost)) if cost > 0.0 => Some((max / cost + 1e-9).floor() as u64),
            _ => None,
        };
        [self.max_jobs, by_tokens, by_cost]
            .into_iter()
            .flatten()
            .min()
            .map(|allowed| allowed.saturating_sub(emitted))
    }
}

/// What a backfill is expected to cost, computed before it starts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackfillEstimate {
    /// Targets in the range that the store-side filter selects (the walk's `total`).
    pub targets: u64,
    /// Of those, the ones expected to match the whole filter.
    pub matching_targets: u64,
    /// Judge calls expected after sampling.
    pub expected_jobs: u64,
    /// Prompt plus completion tokens expected per judge call.
    pub tokens_per_job: u64,
    pub estimated_tokens: u64,
    /// USD per judge call, when the model has a price.
    pub cost_per_job_usd: Option<f64>,
    pub estimated_cost_usd: Option<f64>,
    /// The judge model priced.
    pub model: String,
    /// How many targets were looked at; the counts are exact when this equals `targets`.
    pub examined_targets: u64,
}

/// A backfill of one evaluator over a time range.
#[derive(Debug, Clone, PartialEq)]
pub struct Backfill {
    pub id: String,
    pub project_id: String,
    pub evaluator_id: String,
    /// The evaluator's version when the backfill was created (jobs use the current one).
    pub evaluator_version: i64,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Narrows the evaluator's own filter; both must match.
    pub filter: EvalFilter,
    pub budget: BackfillBudget,
    pub estimate: BackfillEstimate,
    pub state: BackfillState,
    /// Why it stopped (`budget reached`, an error, ...).
    pub reason: Option<String>,
    /// Where the walk continues; `None` before the first page.
    pub cursor: Option<BackfillCursor>,
    /// Targets to visit (from the estimate).
    pub total: u64,
    /// Targets visited.
    pub done: u64,
    /// Visited targets that matched the filter.
    pub matched: u64,
    /// Jobs emitted onto the eval-jobs topic.
    pub emitted: u64,
    /// Matched targets that already had a job of the evaluator version (not emitted again).
    pub skipped: u64,
    /// Time spent running, summed over runs (pauses excluded), for the rate.
    pub active_ms: u64,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl Backfill {
    /// Returns the visit rate in targets per second of running time.
    pub fn rate(&self) -> Option<f64> {
        (self.active_ms > 0).then(|| self.done as f64 * 1000.0 / self.active_ms as f64)
    }

    /// Returns the seconds left at the current rate, while the walk is not over.
    pub fn eta_seconds(&self) -> Option<f64> {
        if self.state.is_final() {
            return None;
        }
        let rate = self.rate().filter(|rate| *rate > 0.0)?;
        Some(self.total.saturating_sub(self.done) as f64 / rate)
    }
}

/// One page's worth of progress, saved by the worker holding the backfill.
#[derive(Debug, Clone, PartialEq)]
pub struct BackfillProgress {
    pub cursor: Option<BackfillCursor>,
    pub done: u64,
    pub matched: u64,
    pub emitted: u64,
    pub skipped: u64,
    pub active_ms: u64,
}

/// Returns the job origin of a backfill's jobs: a job that is still queued under this origin
/// is emitted again when the page that made it is walked again after a crash (the runner's
/// claim makes that duplicate harmless), exactly as the scheduler does for a log position.
pub fn backfill_origin(backfill_id: &str) -> String {
    format!("backfill/{backfill_id}")
}
