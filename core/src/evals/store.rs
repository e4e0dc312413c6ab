//! The `EvalStore` trait: connections, templates, evaluators and jobs, in the meta database.

use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::backfill::{Backfill, BackfillProgress, BackfillState};
use super::builtin::builtin_template;
use super::connection::LlmConnection;
use super::evaluator::Evaluator;
use super::job::{EvalJob, Funnel, JobExecution, JobOutcome, JobStatus};
use super::template::EvaluatorTemplate;
use crate::error::BackendResult;
use crate::model::Page;
use crate::store::PageRequest;

/// What registering a job found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobRegistration {
    /// The job is new: this call created it.
    Created,
    /// The job existed, made from the log position `origin`.
    Existing { status: JobStatus, origin: String },
}

/// What claiming a job found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobClaim {
    /// The caller holds the job until its lease ends.
    Claimed,
    /// Another runner holds an unexpired lease.
    Busy,
    /// The job is over (or was never queued).
    Final(JobStatus),
    /// No such job.
    Missing,
}

/// Storage of everything evaluators need. Every method but [`EvalStore::list_active_evaluators`]
/// and the job-id keyed ones is scoped to one project.
#[async_trait]
pub trait EvalStore: Send + Sync + Debug + 'static {
    /// Stores a new connection; a connection of the same name in the project is
    /// `BackendError::AlreadyExists`.
    async fn create_connection(&self, connection: &LlmConnection) -> BackendResult<()>;

    /// Returns one connection.
    async fn get_connection(
        &self,
        project_id: &str,
        id: &str,
    ) -> BackendResult<Option<LlmConnection>>;

    /// Returns the project's connections, by name.
    async fn list_connections(&self, project_id: &str) -> BackendResult<Vec<LlmConnection>>;

    /// Deletes one connection; returns whether it existed.
    async fn delete_connection(&self, project_id: &str, id: &str) -> BackendResult<bool>;

    /// Stores `template` as the next version of its name (its `version` field is ignored) and
    /// returns it as stored.
    async fn create_template_version(
        &self,
        template: &EvaluatorTemplate,
    ) -> BackendResult<EvaluatorTemplate>;

    /// Returns the project's template `name` at `version`, or its newest version.
    async fn get_template(
        &self,
        project_id: &str,
        name: &str,
        version: Option<i64>,
    ) -> BackendResult<Option<EvaluatorTemplate>>;

    /// Returns every version of the project's templates, by name then version.
    async fn list_templates(&self, project_id: &str) -> BackendResult<Vec<EvaluatorTemplate>>;

    /// Stores a new evaluator.
    async fn create_evaluator(&self, evaluator: &Evaluator) -> BackendResult<()>;

    /// Returns one evaluator.
    async fn get_evaluator(&self, project_id: &str, id: &str) -> BackendResult<Option<Evaluator>>;

    /// Returns the project's evaluators, newest first.
    async fn list_evaluators(&self, project_id: &str) -> BackendResult<Vec<Evaluator>>;

    /// Replaces the stored evaluator if its stored version is `evaluator.version - 1`;
    /// returns whether it did (false: missing, or changed meanwhile).
    async fn update_evaluator(&self, evaluator: &Evaluator) -> BackendResult<bool>;

    /// Deletes one evaluator (its jobs stay for the record); returns whether it existed.
    async fn delete_evaluator(&self, project_id: &str, id: &str) -> BackendResult<bool>;

    /// Returns the active evaluators of every project (the scheduler's working set).
    async fn list_active_evaluators(&self) -> BackendResult<Vec<Evaluator>>;

    /// Creates the job row unless a job with the same id exists (the dedup key), with
    /// `status` `Queued` or `Unsampled` and the log position `origin` it was made from.
    async fn register_job(
        &self,
        job: &EvalJob,
        status: JobStatus,
        origin: &str,
    ) -> BackendResult<JobRegistration>;

    /// Registers many jobs from one `origin` like [`EvalStore::register_job`] (each with its
    /// status), answering in the same order; backfills register a page at a time with it.
    async fn register_jobs(
        &self,
        jobs: &[(EvalJob, JobStatus)],
        origin: &str,
    ) -> BackendResult<Vec<JobRegistration>> {
        let mut registrations = Vec::with_capacity(jobs.len());
        for (job, status) in jobs {
            registrations.push(self.register_job(job, *status, origin).await?);
        }
        Ok(registrations)
    }

    /// Claims a queued job, or a running one whose lease ended before `now`, until
    /// `lease_until`.
    async fn claim_job(
        &self,
        job_id: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> BackendResult<JobClaim>;

    /// Records how a job ended (`Succeeded` or `Failed`).
    async fn finish_job(
        &self,
        job_id: &str,
        status: JobStatus,
        outcome: &JobOutcome,
        now: DateTime<Utc>,
    ) -> BackendResult<()>;

    /// Returns one job of the project.
    async fn get_job(&self, project_id: &str, job_id: &str) -> BackendResult<Option<JobExecution>>;

    /// Returns a page of an evaluator's jobs (unsampled matches excluded unless asked for),
    /// newest first.
    async fn list_jobs(
        &self,
        project_id: &str,
        evaluator_id: &str,
        status: Option<JobStatus>,
        page: PageRequest,
    ) -> BackendResult<Page<JobExecution>>;

    /// Returns an evaluator's funnel counts over all its versions.
    async fn funnel(&self, project_id: &str, evaluator_id: &str) -> BackendResult<Funnel>;

    /// Stores a new backfill.
    async fn create_backfill(&self, backfill: &Backfill) -> BackendResult<()>;

    /// Returns one backfill of the project.
    async fn get_backfill(&self, project_id: &str, id: &str) -> BackendResult<Option<Backfill>>;

    /// Returns a page of an evaluator's backfills, newest first.
    async fn list_backfills(
        &self,
        project_id: &str,
        evaluator_id: &str,
        page: PageRequest,
    ) -> BackendResult<Page<Backfill>>;

    /// Moves a backfill that is in one of `from` to `to` with `reason`; returns whether it
    /// moved. The lease is left alone: the worker holding it sees the new state when it saves
    /// its page, and releases it.
    async fn transition_backfill(
        &self,
        project_id: &str,
        id: &str,
        from: &[BackfillState],
        to: BackfillState,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> BackendResult<bool>;

    /// Claims the oldest pending or running backfill of any project whose lease is free or
    /// ended before `now`, for `owner` until `lease_until`; it becomes running.
    async fn claim_backfill(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> BackendResult<Option<Backfill>>;

    /// Saves the progress of a backfill that `owner` holds and returns its state: while it is
    /// running the lease is extended to `lease_until`, otherwise (paused or cancelled meanwhile)
    /// the lease is released. `None` (nothing saved) when `owner` no longer holds it (another
    /// worker claimed it after the lease ended).
    async fn save_backfill_progress(
        &self,
        id: &str,
        owner: &str,
        progress: &BackfillProgress,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> BackendResult<Option<BackfillState>>;

    /// Ends a running backfill that `owner` holds with `state` (`Completed` or `Failed`) and
    /// `reason`; returns whether it did.
    async fn finish_backfill(
        &self,
        id: &str,
        owner: &str,
        state: BackfillState,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> BackendResult<bool>;
}

/// Returns template `name` for a project: a built-in one (their names are reserved), else the
/// project's own, at `version` or the newest.
pub async fn find_template(
    store: &dyn EvalStore,
    project_id: &str,
    name: &str,
    version: Option<i64>,
) -> BackendResult<Option<EvaluatorTemplate>> {
    if builtin_template(name, None).is_some() {
        return Ok(builtin_template(name, version));
    }
    store.get_template(project_id, name, version).await
}
