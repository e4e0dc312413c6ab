//! The `TraceStore` trait: writes merged records and serves every read of the public API.
//!
//! Implementations: SQLite (embedded, in `periscope-sinks`) and ClickHouse (scale-out).

mod aggregates;
mod metrics_query;

use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::BackendResult;
use crate::model::{
    DailyMetrics, Level, ObservationRecord, ObservationType, Page, Record, ScoreDataType,
    ScoreRecord, ScoreSource, Session, Trace,
};

pub use aggregates::{
    PromptMetricsFilter, PromptVersionMetrics, PromptVersionScore, ScoreSummary, SessionMetrics,
    assemble_prompt_metrics, prompt_usage_query,
};
pub use metrics_query::{
    Aggregation, FieldCondition, Granularity, Measure, MetricSpec, MetricsCondition, MetricsField,
    MetricsOrder, MetricsQuery, MetricsRow, MetricsView, OrderKey, Percentile, compare_rows,
    percentile,
};

/// What a write did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteSummary {
    pub traces: u64,
    pub observations: u64,
    pub scores: u64,
}

/// Page request: 1-based page number and page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u64,
    pub limit: u64,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { page: 1, limit: 50 }
    }
}

impl PageRequest {
    /// Returns the number of rows to skip.
    pub fn offset(&self) -> u64 {
        self.page.saturating_sub(1).saturating_mul(self.limit)
    }
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    Asc,
    #[default]
    Desc,
}

/// Columns traces can be ordered by (`orderBy=timestamp.desc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TraceOrderField {
    #[default]
    Timestamp,
    Name,
    UserId,
    SessionId,
    Release,
    Version,
}

/// Filters of `GET /traces`. Every set field must match; `tags` must all be present.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraceFilter {
    pub user_id: Option<String>,
    pub name: Option<String>,
    pub session_id: Option<String>,
    pub tags: Vec<String>,
    /// Any of these environments.
    pub environments: Vec<String>,
    pub release: Option<String>,
    pub version: Option<String>,
    pub from_timestamp: Option<DateTime<Utc>>,
    pub to_timestamp: Option<DateTime<Utc>>,
    /// Traces with at least one observation at this level.
    pub level: Option<Level>,
    /// Traces with at least one observation of this model.
    pub model: Option<String>,
    /// Traces with a score of this name (any data type); with `score_range` set, only numeric
    /// and boolean scores (true = 1) whose value lies in the range count.
    pub score_name: Option<String>,
    pub score_range: ValueRange,
    /// The sum of the observations' total costs (USD); a trace without costs counts as 0.
    pub cost_range: ValueRange,
    /// Seconds from the earliest observation start to the latest observation end; a trace
    /// without both never matches a latency range.
    pub latency_range: ValueRange,
    /// Case-insensitive substring of the trace's input or output (their JSON text).
    pub search: Option<String>,
    pub order_by: TraceOrderField,
    pub order: SortOrder,
}

/// An inclusive numeric range; an unset bound is open.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ValueRange {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl ValueRange {
    /// Whether neither bound is set (the range matches everything).
    pub fn is_open(&self) -> bool {
        self.min.is_none() && self.max.is_none()
    }

    /// Whether `value` lies within the range.
    pub fn contains(&self, value: f64) -> bool {
        self.min.is_none_or(|min| value >= min) && self.max.is_none_or(|max| value <= max)
    }
}

/// Filters of `GET /observations` and `GET /v2/observations`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObservationFilter {
    pub trace_id: Option<String>,
    pub observation_type: Option<ObservationType>,
    pub name: Option<String>,
    pub parent_observation_id: Option<String>,
    pub user_id: Option<String>,
    pub level: Option<Level>,
    pub version: Option<String>,
    pub environments: Vec<String>,
    pub from_start_time: Option<DateTime<Utc>>,
    pub to_start_time: Option<DateTime<Utc>>,
}

/// A position in the observation list for cursor pagination: rows strictly after it, in
/// `(start_time desc, id desc)` order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservationCursor {
    pub start_time: DateTime<Utc>,
    pub id: String,
}

/// Filters of `GET /scores` and `GET /v2/scores`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoreFilter {
    pub trace_id: Option<String>,
    pub observation_id: Option<String>,
    pub session_id: Option<String>,
    pub dataset_run_id: Option<String>,
    pub name: Option<String>,
    pub data_type: Option<ScoreDataType>,
    pub source: Option<ScoreSource>,
    pub user_id: Option<String>,
    pub config_id: Option<String>,
    pub environments: Vec<String>,
    pub from_timestamp: Option<DateTime<Utc>>,
    pub to_timestamp: Option<DateTime<Utc>>,
}

/// Filters of `GET /sessions`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionFilter {
    pub environments: Vec<String>,
    pub from_timestamp: Option<DateTime<Utc>>,
    pub to_timestamp: Option<DateTime<Utc>>,
}

/// Filters of `GET /metrics/daily`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsFilter {
    pub trace_name: Option<String>,
    pub user_id: Option<String>,
    pub tags: Vec<String>,
    pub environments: Vec<String>,
    pub from_timestamp: Option<DateTime<Utc>>,
    pub to_timestamp: Option<DateTime<Utc>>,
}

/// Stores traces, observations and scores, and answers the read API. Every method is scoped
/// to one project: a project can never read another project's rows.
#[async_trait]
pub trait TraceStore: Send + Sync + Debug + 'static {
    /// Checks that the store is reachable (startup and `/readyz`).
    async fn healthcheck(&self) -> BackendResult<()>;

    /// Merges `records` into the store durably, all or nothing. Idempotent: writing the same
    /// records again leaves the store unchanged.
    async fn write(&self, records: Vec<Record>) -> BackendResult<WriteSummary>;

    /// Returns one trace with its observations and scores.
    async fn get_trace(&self, project_id: &str, trace_id: &str) -> BackendResult<Option<Trace>>;

    /// Returns a page of traces (with observation and score ids, not bodies).
    async fn list_traces(
        &self,
        project_id: &str,
        filter: &TraceFilter,
        page: PageRequest,
    ) -> BackendResult<Page<Trace>>;

    /// Returns one observation.
    async fn get_observation(
        &self,
        project_id: &str,
        observation_id: &str,
    ) -> BackendResult<Option<ObservationRecord>>;

    /// Returns a page of observations, newest start time first.
    async fn list_observations(
        &self,
        project_id: &str,
        filter: &ObservationFilter,
        page: PageRequest,
    ) -> BackendResult<Page<ObservationRecord>>;

    /// Returns up to `limit` observations after `cursor` (newest first), for cursor pagination.
    async fn list_observations_after(
        &self,
        project_id: &str,
        filter: &ObservationFilter,
        cursor: Option<&ObservationCursor>,
        limit: u64,
    ) -> BackendResult<Vec<ObservationRecord>>;

    /// Returns one score.
    async fn get_score(
        &self,
        project_id: &str,
        score_id: &str,
    ) -> BackendResult<Option<ScoreRecord>>;

    /// Deletes one score and returns whether it existed. The store remembers the deletion:
    /// a later write of the same score id whose event time is not after the deletion (a
    /// replayed or retried event) is dropped, a newer one creates the score again.
    async fn delete_score(&self, project_id: &str, score_id: &str) -> BackendResult<bool>;

    /// Returns a page of scores, newest first.
    async fn list_scores(
        &self,
        project_id: &str,
        filter: &ScoreFilter,
        page: PageRequest,
    ) -> BackendResult<Page<ScoreRecord>>;

    /// Returns one session with its traces.
    async fn get_session(
        &self,
        project_id: &str,
        session_id: &str,
    ) -> BackendResult<Option<Session>>;

    /// Returns a page of sessions (without traces), newest first.
    async fn list_sessions(
        &self,
        project_id: &str,
        filter: &SessionFilter,
        page: PageRequest,
    ) -> BackendResult<Page<Session>>;

    /// Returns per-day counts, costs and per-model usage, newest day first.
    async fn daily_metrics(
        &self,
        project_id: &str,
        filter: &MetricsFilter,
        page: PageRequest,
    ) -> BackendResult<Page<DailyMetrics>>;

    /// Runs a metrics query (`GET /v2/metrics`): rows of the view grouped by the query's
    /// dimensions and time bucket, ordered as [`compare_rows`], at most `row_limit` of them.
    /// The query must have passed [`MetricsQuery::validate`].
    async fn query_metrics(
        &self,
        project_id: &str,
        query: &MetricsQuery,
    ) -> BackendResult<Vec<MetricsRow>>;

    /// Returns the totals of those of `session_ids` that exist, in one grouped read (not one
    /// per session), ordered by session id.
    async fn session_metrics(
        &self,
        project_id: &str,
        session_ids: &[String],
    ) -> BackendResult<Vec<SessionMetrics>>;

    /// Returns the usage of each version of prompt `prompt_name` by the observations that
    /// name it, newest version first.
    async fn prompt_version_metrics(
        &self,
        project_id: &str,
        prompt_name: &str,
        filter: &PromptMetricsFilter,
    ) -> BackendResult<Vec<PromptVersionMetrics>>;
}
