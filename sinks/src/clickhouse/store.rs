//! [`ClickHouseTraceStore`]: the scale-out `TraceStore`.

use std::time::Duration;

use async_trait::async_trait;
use clickhouse::Client;
use periscope_core::config::ClickHouseConfig;
use periscope_core::error::BackendResult;
use periscope_core::model::{
    DailyMetrics, ObservationRecord, Page, Record, ScoreRecord, Session, Trace,
};
use periscope_core::store::{
    MetricsFilter, MetricsQuery, MetricsRow, ObservationCursor, ObservationFilter, PageRequest,
    PromptMetricsFilter, PromptVersionMetrics, ScoreFilter, SessionFilter, SessionMetrics,
    TraceFilter, TraceStore, WriteSummary,
};

use super::connect::{ch_error, connect};
use super::migrate;
use super::read::{
    metrics, metrics_query, observations, prompt_metrics, scores, session_metrics, sessions, traces,
};
use super::write::{self, Writer};

/// Traces, observations and scores in one ClickHouse database.
///
/// Writes merge partial records with the same rules as the SQLite store (read-modify-write of
/// the batch's keys) and insert new row versions; reads pick the newest version of each row.
/// Times are half-open ranges (`from` inclusive, `to` exclusive).
#[derive(Debug, Clone)]
pub struct ClickHouseTraceStore {
    pub(super) client: Client,
    insert_timeout: Duration,
}

impl ClickHouseTraceStore {
    /// Connects to the server of `config`, creating its database if it is missing and
    /// applying the schema migrations.
    pub async fn connect(config: &ClickHouseConfig) -> BackendResult<Self> {
        let client = connect(config).await?;
        migrate::run(&client, config.retention.as_secs()).await?;
        Ok(Self {
            client,
            insert_timeout: config.insert_timeout,
        })
    }

    /// Returns the store with a ClickHouse setting applied to every later query and insert
    /// (e.g. `max_memory_usage` to bound queries in tests).
    pub fn with_setting(mut self, name: &str, value: &str) -> Self {
        self.client = self.client.with_setting(name, value);
        self
    }

    /// Returns the applied schema migration versions, oldest first.
    pub async fn schema_versions(&self) -> BackendResult<Vec<u32>> {
        migrate::applied_versions(&self.client).await
    }

    fn writer(&self) -> Writer<'_> {
        Writer {
            client: &self.client,
            insert_timeout: self.insert_timeout,
        }
    }
}

#[async_trait]
impl TraceStore for ClickHouseTraceStore {
    async fn healthcheck(&self) -> BackendResult<()> {
        self.client
            .query_raw("SELECT 1")
            .execute()
            .await
            .map_err(|error| ch_error("healthcheck failed", error))
    }

    async fn write(&self, records: Vec<Record>) -> BackendResult<WriteSummary> {
        write::write_records(&self.client, self.insert_timeout, records).await
    }

    async fn get_trace(&self, project_id: &str, trace_id: &str) -> BackendResult<Option<Trace>> {
        traces::get_trace(&self.client, project_id, trace_id).await
    }

    async fn list_traces(
        &self,
        project_id: &str,
        filter: &TraceFilter,
        page: PageRequest,
    ) -> BackendResult<Page<Trace>> {
        traces::list_traces(&self.client, project_id, filter, page).await
    }

    async fn get_observation(
        &self,
        project_id: &str,
        observation_id: &str,
    ) -> BackendResult<Option<ObservationRecord>> {
        observations::get_observation(&self.client, project_id, observation_id).await
    }

    async fn list_observations(
        &self,
        project_id: &str,
        filter: &ObservationFilter,
        page: PageRequest,
    ) -> BackendResult<Page<ObservationRecord>> {
        observations::list_observations(&self.client, project_id, filter, page).await
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
        observations::list_observations_after(&self.client, project_id, filter, cursor, limit).await
    }

    async fn get_score(
        &self,
        project_id: &str,
        score_id: &str,
    ) -> BackendResult<Option<ScoreRecord>> {
        scores::get_score(&self.client, project_id, score_id).await
    }

    async fn delete_score(&self, project_id: &str, score_id: &str) -> BackendResult<bool> {
        write::delete_score(&self.writer(), project_id, score_id).await
    }

    async fn list_scores(
        &self,
        project_id: &str,
        filter: &ScoreFilter,
        page: PageRequest,
    ) -> BackendResult<Page<ScoreRecord>> {
        scores::list_scores(&self.client, project_id, filter, page).await
    }

    async fn get_session(
        &self,
        project_id: &str,
        session_id: &str,
    ) -> BackendResult<Option<Session>> {
        sessions::get_session(&self.client, project_id, session_id).await
    }

    async fn list_sessions(
        &self,
        project_id: &str,
        filter: &SessionFilter,
        page: PageRequest,
    ) -> BackendResult<Page<Session>> {
        sessions::list_sessions(&self.client, project_id, filter, page).await
    }

    async fn daily_metrics(
        &self,
        project_id: &str,
        filter: &MetricsFilter,
        page: PageRequest,
    ) -> BackendResult<Page<DailyMetrics>> {
        metrics::daily_metrics(&self.client, project_id, filter, page).await
    }

    async fn query_metrics(
        &self,
        project_id: &str,
        query: &MetricsQuery,
    ) -> BackendResult<Vec<MetricsRow>> {
        metrics_query::query_metrics(&self.client, project_id, query).await
    }

    async fn session_metrics(
        &self,
        project_id: &str,
        session_ids: &[String],
    ) -> BackendResult<Vec<SessionMetrics>> {
        session_metrics::session_metrics(&self.client, project_id, session_ids).await
    }

    async fn prompt_version_metrics(
        &self,
        project_id: &str,
        prompt_name: &str,
        filter: &PromptMetricsFilter,
    ) -> BackendResult<Vec<PromptVersionMetrics>> {
        prompt_metrics::prompt_version_metrics(&self.client, project_id, prompt_name, filter).await
    }
}
