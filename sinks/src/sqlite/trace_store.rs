//! [`SqliteTraceStore`]: the embedded `TraceStore`.

use std::path::Path;

use async_trait::async_trait;
use periscope_core::error::BackendResult;
use periscope_core::model::{
    DailyMetrics, ObservationRecord, Page, Record, ScoreRecord, Session, Trace,
};
use periscope_core::store::{
    MetricsFilter, MetricsQuery, MetricsRow, ObservationCursor, ObservationFilter, PageRequest,
    PromptMetricsFilter, PromptVersionMetrics, ScoreFilter, SessionFilter, SessionMetrics,
    TraceFilter, TraceStore, WriteSummary,
};

use super::connect::{Durability, Pools, open_pools, ping};
use super::read::{
    metrics, metrics_query, observations, prompt_metrics, scores, session_metrics, sessions, traces,
};
use super::schema::TRACE_MIGRATIONS;
use super::{migrate, write};

/// Reader connections: enough for the API's concurrent queries on a small machine.
const MAX_READERS: u32 = 4;

/// Traces, observations and scores in one SQLite database file.
///
/// Writes merge partial records idempotently in one transaction per batch; see the module docs
/// for durability. Times are half-open ranges (`from` inclusive, `to` exclusive).
#[derive(Debug, Clone)]
pub struct SqliteTraceStore {
    pub(super) pools: Pools,
    /// Batches written since this store was opened (the statistics refresh counts them).
    writes_since_optimize: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// The planner statistics are refreshed after the first written batch and then every this
/// many. Without them SQLite picked the start-time index over the trace index for `traceId`
/// filters and walked the whole project (seconds at a million observations); with
/// `analysis_limit` a refresh takes milliseconds.
const OPTIMIZE_EVERY_BATCHES: u64 = 2_000;

/// Bounded statistics refresh: samples at most `analysis_limit` rows per index.
const OPTIMIZE: &str = "PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002;";

impl SqliteTraceStore {
    /// Opens the trace database at `path`, creating the file, its parent directories and the
    /// schema as needed.
    pub async fn open(path: &Path) -> BackendResult<Self> {
        let pools = open_pools(path, Durability::Normal, MAX_READERS).await?;
        migrate::run(&pools.writer, TRACE_MIGRATIONS).await?;
        Ok(Self {
            pools,
            writes_since_optimize: Default::default(),
        })
    }

    /// Refreshes the planner statistics; a failure only costs query plans, so it is logged.
    async fn optimize(&self) {
        if let Err(error) = sqlx::raw_sql(OPTIMIZE).execute(&self.pools.writer).await {
            tracing::warn!(%error, "failed to refresh the sqlite planner statistics");
        }
    }

    /// Returns the applied schema migration versions, oldest first.
    pub async fn schema_versions(&self) -> BackendResult<Vec<i64>> {
        migrate::applied_versions(&self.pools.reader).await
    }
}

#[async_trait]
impl TraceStore for SqliteTraceStore {
    async fn healthcheck(&self) -> BackendResult<()> {
        ping(&self.pools).await
    }

    async fn write(&self, records: Vec<Record>) -> BackendResult<WriteSummary> {
        let summary = write::write_records(&self.pools.writer, records).await?;
        let written = self
            .writes_since_optimize
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // The first batch after start refreshes too (a database written by an older version
        // may have no statistics); not at open, where it would hold the write lock while
        // another process opens the same file.
        if written.is_multiple_of(OPTIMIZE_EVERY_BATCHES) {
            self.optimize().await;
        }
        Ok(summary)
    }

    async fn get_trace(&self, project_id: &str, trace_id: &str) -> BackendResult<Option<Trace>> {
        traces::get_trace(&self.pools.reader, project_id, trace_id).await
    }

    async fn list_traces(
        &self,
        project_id: &str,
        filter: &TraceFilter,
        page: PageRequest,
    ) -> BackendResult<Page<Trace>> {
        traces::list_traces(&self.pools.reader, project_id, filter, page).await
    }

    async fn get_observation(
        &self,
        project_id: &str,
        observation_id: &str,
    ) -> BackendResult<Option<ObservationRecord>> {
        observations::get_observation(&self.pools.reader, project_id, observation_id).await
    }

    async fn list_observations(
        &self,
        project_id: &str,
        filter: &ObservationFilter,
        page: PageRequest,
    ) -> BackendResult<Page<ObservationRecord>> {
        observations::list_observations(&self.pools.reader, project_id, filter, page).await
    }

    /// Observations without a start time come last; a cursor pointing at one of them carries
    /// `DateTime::<Utc>::MIN_UTC` as its start time.
    async fn list_observations_after(
        &self,
        project_id: &str,
        filter: &ObservationFilter,
        cursor: Option<&ObservationCursor>,
        limit: u64,
    ) -> BackendResult<Vec<ObservationRecord>> {
        observations::list_observations_after(&self.pools.reader, project_id, filter, cursor, limit)
            .await
    }

    async fn get_score(
        &self,
        project_id: &str,
        score_id: &str,
    ) -> BackendResult<Option<ScoreRecord>> {
        scores::get_score(&self.pools.reader, project_id, score_id).await
    }

    async fn delete_score(&self, project_id: &str, score_id: &str) -> BackendResult<bool> {
        write::delete_score(&self.pools.writer, project_id, score_id).await
    }

    async fn list_scores(
        &self,
        project_id: &str,
        filter: &ScoreFilter,
        page: PageRequest,
    ) -> BackendResult<Page<ScoreRecord>> {
        scores::list_scores(&self.pools.reader, project_id, filter, page).await
    }

    async fn get_session(
        &self,
        project_id: &str,
        session_id: &str,
    ) -> BackendResult<Option<Session>> {
        sessions::get_session(&self.pools.reader, project_id, session_id).await
    }

    async fn list_sessions(
        &self,
        project_id: &str,
        filter: &SessionFilter,
        page: PageRequest,
    ) -> BackendResult<Page<Session>> {
        sessions::list_sessions(&self.pools.reader, project_id, filter, page).await
    }

    async fn daily_metrics(
        &self,
        project_id: &str,
        filter: &MetricsFilter,
        page: PageRequest,
    ) -> BackendResult<Page<DailyMetrics>> {
        metrics::daily_metrics(&self.pools.reader, project_id, filter, page).await
    }

    async fn query_metrics(
        &self,
        project_id: &str,
        query: &MetricsQuery,
    ) -> BackendResult<Vec<MetricsRow>> {
        metrics_query::query_metrics(&self.pools.reader, project_id, query).await
    }

    async fn session_metrics(
        &self,
        project_id: &str,
        session_ids: &[String],
    ) -> BackendResult<Vec<SessionMetrics>> {
        session_metrics::session_metrics(&self.pools.reader, project_id, session_ids).await
    }

    async fn prompt_version_metrics(
        &self,
        project_id: &str,
        prompt_name: &str,
        filter: &PromptMetricsFilter,
    ) -> BackendResult<Vec<PromptVersionMetrics>> {
        prompt_metrics::prompt_version_metrics(&self.pools.reader, project_id, prompt_name, filter)
            .await
    }
}
