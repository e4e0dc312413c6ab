//! `EvalStore` for [`SqliteMetaStore`]: LLM connections, evaluator templates, evaluators and
//! eval jobs in the meta database (migration 7), and evaluator backfills (migration 8).
//!
//! Guarantee: a job row is created at most once per (evaluator, version, target), since its
//! id is derived from them and inserted with `INSERT OR IGNORE`; claims and outcomes are
//! single-statement updates, so two runners never both hold an unexpired claim.

mod backfills;
mod connections;
mod evaluators;
mod jobs;
mod templates;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use periscope_core::error::BackendResult;
use periscope_core::evals::backfill::{Backfill, BackfillProgress, BackfillState};
use periscope_core::evals::{
    EvalJob, EvalStore, Evaluator, EvaluatorTemplate, Funnel, JobClaim, JobExecution, JobOutcome,
    JobRegistration, JobStatus, LlmConnection,
};
use periscope_core::model::Page;
use periscope_core::store::PageRequest;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::sqlite::SqliteRow;

use super::SqliteMetaStore;
use super::columns::get;
use super::connect::body_error;

/// Decodes a JSON text column.
fn json_column<T: DeserializeOwned>(row: &SqliteRow, column: &str) -> BackendResult<T> {
    let text: &str = get(row, column)?;
    serde_json::from_str(text)
        .map_err(|error| body_error(&format!("failed to decode column {column}"), error))
}

/// Encodes a value for a JSON text column.
fn encode_json<T: Serialize>(value: &T, what: &str) -> BackendResult<String> {
    serde_json::to_string(value)
        .map_err(|error| body_error(&format!("failed to encode {what}"), error))
}

#[async_trait]
impl EvalStore for SqliteMetaStore {
    async fn create_connection(&self, connection: &LlmConnection) -> BackendResult<()> {
        connections::create(&self.pools, connection).await
    }

    async fn get_connection(
        &self,
        project_id: &str,
        id: &str,
    ) -> BackendResult<Option<LlmConnection>> {
        connections::get_one(&self.pools, project_id, id).await
    }

    async fn list_connections(&self, project_id: &str) -> BackendResult<Vec<LlmConnection>> {
        connections::list(&self.pools, project_id).await
    }

    async fn delete_connection(&self, project_id: &str, id: &str) -> BackendResult<bool> {
        connections::delete(&self.pools, project_id, id).await
    }

    async fn create_template_version(
        &self,
        template: &EvaluatorTemplate,
    ) -> BackendResult<EvaluatorTemplate> {
        templates::create_version(&self.pools, template).await
    }

    async fn get_template(
        &self,
        project_id: &str,
        name: &str,
        version: Option<i64>,
    ) -> BackendResult<Option<EvaluatorTemplate>> {
        templates::get_one(&self.pools, project_id, name, version).await
    }

    async fn list_templates(&self, project_id: &str) -> BackendResult<Vec<EvaluatorTemplate>> {
        templates::list(&self.pools, project_id).await
    }

    async fn create_evaluator(&self, evaluator: &Evaluator) -> BackendResult<()> {
        evaluators::create(&self.pools, evaluator).await
    }

    async fn get_evaluator(&self, project_id: &str, id: &str) -> BackendResult<Option<Evaluator>> {
        evaluators::get_one(&self.pools, project_id, id).await
    }

    async fn list_evaluators(&self, project_id: &str) -> BackendResult<Vec<Evaluator>> {
        evaluators::list(&self.pools, project_id).await
    }

    async fn update_evaluator(&self, evaluator: &Evaluator) -> BackendResult<bool> {
        evaluators::update(&self.pools, evaluator).await
    }

    async fn delete_evaluator(&self, project_id: &str, id: &str) -> BackendResult<bool> {
        evaluators::delete(&self.pools, project_id, id).await
    }

    async fn list_active_evaluators(&self) -> BackendResult<Vec<Evaluator>> {
        evaluators::list_active(&self.pools).await
    }

    async fn register_job(
        &self,
        job: &EvalJob,
        status: JobStatus,
        origin: &str,
    ) -> BackendResult<JobRegistration> {
        jobs::register(&self.pools, job, status, origin).await
    }

    async fn register_jobs(
        &self,
        jobs: &[(EvalJob, JobStatus)],
        origin: &str,
    ) -> BackendResult<Vec<JobRegistration>> {
        jobs::register_many(&self.pools, jobs, origin).await
    }

    async fn claim_job(
        &self,
        job_id: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> BackendResult<JobClaim> {
        jobs::claim(&self.pools, job_id, now, lease_until).await
    }

    async fn finish_job(
        &self,
        job_id: &str,
        status: JobStatus,
        outcome: &JobOutcome,
        now: DateTime<Utc>,
    ) -> BackendResult<()> {
        jobs::finish(&self.pools, job_id, status, outcome, now).await
    }

    async fn get_job(&self, project_id: &str, job_id: &str) -> BackendResult<Option<JobExecution>> {
        jobs::get_one(&self.pools, project_id, job_id).await
    }

    async fn list_jobs(
        &self,
        project_id: &str,
        evaluator_id: &str,
        status: Option<JobStatus>,
        page: PageRequest,
    ) -> BackendResult<Page<JobExecution>> {
        jobs::list(&self.pools, project_id, evaluator_id, status, page).await
    }

    async fn funnel(&self, project_id: &str, evaluator_id: &str) -> BackendResult<Funnel> {
        jobs::funnel(&self.pools, project_id, evaluator_id).await
    }

    async fn create_backfill(&self, backfill: &Backfill) -> BackendResult<()> {
        backfills::create(&self.pools, backfill).await
    }

    async fn get_backfill(&self, project_id: &str, id: &str) -> BackendResult<Option<Backfill>> {
        backfills::get_one(&self.pools, project_id, id).await
    }

    async fn list_backfills(
        &self,
        project_id: &str,
        evaluator_id: &str,
        page: PageRequest,
    ) -> BackendResult<Page<Backfill>> {
        backfills::list(&self.pools, project_id, evaluator_id, page).await
    }

    async fn transition_backfill(
        &self,
        project_id: &str,
        id: &str,
        from: &[BackfillState],
        to: BackfillState,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> BackendResult<bool> {
        backfills::transition(&self.pools, project_id, id, from, to, reason, now).await
    }

    async fn claim_backfill(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> BackendResult<Option<Backfill>> {
        backfills::claim(&self.pools, owner, now, lease_until).await
    }

    async fn save_backfill_progress(
        &self,
        id: &str,
        owner: &str,
        progress: &BackfillProgress,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> BackendResult<Option<BackfillState>> {
        backfills::save_progress(&self.pools, id, owner, progress, now, lease_until).await
    }

    async fn finish_backfill(
        &self,
        id: &str,
        owner: &str,
        state: BackfillState,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> BackendResult<bool> {
        backfills::finish(&self.pools, id, owner, state, reason, now).await
    }
}
