//! `EvalStore` for [`PostgresMetaStore`]: LLM connections, evaluator templates, evaluators and
//! eval jobs (migration 7), and evaluator backfills (migration 8).
//!
//! Guarantee: a job row is created at most once per (evaluator, version, target), since its
//! id is derived from them and inserted with `ON CONFLICT DO NOTHING`; a claim is one
//! conditional `UPDATE`, which Postgres re-checks against the newest row version when two
//! runners race, so two runners never both hold an unexpired claim. Template versions are
//! numbered under the advisory lock of their name.

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
use serde_json::Value;
use sqlx::postgres::PgRow;

use super::PostgresMetaStore;
use super::connect::{get, json_error};

/// Decodes a JSONB column into `T`.
fn json_column<T: DeserializeOwned>(row: &PgRow, column: &str) -> BackendResult<T> {
    let value: Value = get(row, column)?;
    serde_json::from_value(value)
        .map_err(|error| json_error(&format!("failed to decode column {column}"), error))
}

/// Encodes a value for a JSONB column.
fn encode_json<T: Serialize>(value: &T, what: &str) -> BackendResult<Value> {
    serde_json::to_value(value)
        .map_err(|error| json_error(&format!("failed to encode {what}"), error))
}

#[async_trait]
impl EvalStore for PostgresMetaStore {
    async fn create_connection(&self, connection: &LlmConnection) -> BackendResult<()> {
        connections::create(&self.pool, connection).await
    }

    async fn get_connection(
        &self,
        project_id: &str,
        id: &str,
    ) -> BackendResult<Option<LlmConnection>> {
        connections::get_one(&self.pool, project_id, id).await
    }

    async fn list_connections(&self, project_id: &str) -> BackendResult<Vec<LlmConnection>> {
        connections::list(&self.pool, project_id).await
    }

    async fn delete_connection(&self, project_id: &str, id: &str) -> BackendResult<bool> {
        connections::delete(&self.pool, project_id, id).await
    }

    async fn create_template_version(
        &self,
        template: &EvaluatorTemplate,
    ) -> BackendResult<EvaluatorTemplate> {
        templates::create_version(&self.pool, template).await
    }

    async fn get_template(
        &self,
        project_id: &str,
        name: &str,
        version: Option<i64>,
    ) -> BackendResult<Option<EvaluatorTemplate>> {
        templates::get_one(&self.pool, project_id, name, version).await
    }

    async fn list_templates(&self, project_id: &str) -> BackendResult<Vec<EvaluatorTemplate>> {
        templates::list(&self.pool, project_id).await
    }

    async fn create_evaluator(&self, evaluator: &Evaluator) -> BackendResult<()> {
        evaluators::create(&self.pool, evaluator).await
    }

    async fn get_evaluator(&self, project_id: &str, id: &str) -> BackendResult<Option<Evaluator>> {
        evaluators::get_one(&self.pool, project_id, id).await
    }

    async fn list_evaluators(&self, project_id: &str) -> BackendResult<Vec<Evaluator>> {
        evaluators::list(&self.pool, project_id).await
    }

    async fn update_evaluator(&self, evaluator: &Evaluator) -> BackendResult<bool> {
        evaluators::update(&self.pool, evaluator).await
    }

    async fn delete_evaluator(&self, project_id: &str, id: &str) -> BackendResult<bool> {
        evaluators::delete(&self.pool, project_id, id).await
    }

    async fn list_active_evaluators(&self) -> BackendResult<Vec<Evaluator>> {
        evaluators::list_active(&self.pool).await
    }

    async fn register_job(
        &self,
        job: &EvalJob,
        status: JobStatus,
        origin: &str,
    ) -> BackendResult<JobRegistration> {
        jobs::register(&self.pool, job, status, origin).await
    }

    async fn register_jobs(
        &self,
        jobs: &[(EvalJob, JobStatus)],
        origin: &str,
    ) -> BackendResult<Vec<JobRegistration>> {
        jobs::register_many(&self.pool, jobs, origin).await
    }

    async fn claim_job(
        &self,
        job_id: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> BackendResult<JobClaim> {
        jobs::claim(&self.pool, job_id, now, lease_until).await
    }

    async fn finish_job(
        &self,
        job_id: &str,
        status: JobStatus,
        outcome: &JobOutcome,
        now: DateTime<Utc>,
    ) -> BackendResult<()> {
        jobs::finish(&self.pool, job_id, status, outcome, now).await
    }

    async fn get_job(&self, project_id: &str, job_id: &str) -> BackendResult<Option<JobExecution>> {
        jobs::get_one(&self.pool, project_id, job_id).await
    }

    async fn list_jobs(
        &self,
        project_id: &str,
        evaluator_id: &str,
        status: Option<JobStatus>,
        page: PageRequest,
    ) -> BackendResult<Page<JobExecution>> {
        jobs::list(&self.pool, project_id, evaluator_id, status, page).await
    }

    async fn funnel(&self, project_id: &str, evaluator_id: &str) -> BackendResult<Funnel> {
        jobs::funnel(&self.pool, project_id, evaluator_id).await
    }

    async fn create_backfill(&self, backfill: &Backfill) -> BackendResult<()> {
        backfills::create(&self.pool, backfill).await
    }

    async fn get_backfill(&self, project_id: &str, id: &str) -> BackendResult<Option<Backfill>> {
        backfills::get_one(&self.pool, project_id, id).await
    }

    async fn list_backfills(
        &self,
        project_id: &str,
        evaluator_id: &str,
        page: PageRequest,
    ) -> BackendResult<Page<Backfill>> {
        backfills::list(&self.pool, project_id, evaluator_id, page).await
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
        backfills::transition(&self.pool, project_id, id, from, to, reason, now).await
    }

    async fn claim_backfill(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> BackendResult<Option<Backfill>> {
        backfills::claim(&self.pool, owner, now, lease_until).await
    }

    async fn save_backfill_progress(
        &self,
        id: &str,
        owner: &str,
        progress: &BackfillProgress,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> BackendResult<Option<BackfillState>> {
        backfills::save_progress(&self.pool, id, owner, progress, now, lease_until).await
    }

    async fn finish_backfill(
        &self,
        id: &str,
        owner: &str,
        state: BackfillState,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> BackendResult<bool> {
        backfills::finish(&self.pool, id, owner, state, reason, now).await
    }
}
