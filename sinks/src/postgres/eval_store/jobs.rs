//! Evaluation jobs (`eval_jobs`, migration 7): the scheduler's dedup key, the runner's claims,
//! and every job's outcome.

use chrono::{DateTime, Utc};
use periscope_core::error::BackendResult;
use periscope_core::evals::{
    EvalJob, Funnel, JobClaim, JobExecution, JobOutcome, JobRegistration, JobStatus, TargetRef,
};
use periscope_core::model::Page;
use periscope_core::store::PageRequest;
use sqlx::PgPool;
use sqlx::postgres::PgRow;

use super::{encode_json, json_column};
use crate::postgres::connect::{corrupt, db_error, get, get_time, micros, sql_integer};

const COLUMNS: &str = "id, project_id, evaluator_id, evaluator_version, target, status, \
    not_before, failure_reason, message, score_id, score_value, score_label, prompt_tokens, \
    completion_tokens, latency_ms, attempts, created_at, updated_at";

fn parse_status(text: &str) -> BackendResult<JobStatus> {
    JobStatus::parse(text).ok_or_else(|| corrupt(format!("unknown eval job status {text:?}")))
}

fn decode(row: &PgRow) -> BackendResult<JobExecution> {
    let target: TargetRef = json_column(row, "target")?;
    Ok(JobExecution {
        job: EvalJob {
            id: get(row, "id")?,
            project_id: get(row, "project_id")?,
            evaluator_id: get(row, "evaluator_id")?,
            evaluator_version: get(row, "evaluator_version")?,
            target,
            not_before: get_time(row, "not_before")?,
            created_at: get_time(row, "created_at")?,
        },
        status: parse_status(get(row, "status")?)?,
        outcome: JobOutcome {
            failure_reason: get(row, "failure_reason")?,
            message: get(row, "message")?,
            score_id: get(row, "score_id")?,
            score_value: get(row, "score_value")?,
            score_label: get(row, "score_label")?,
            prompt_tokens: get(row, "prompt_tokens")?,
            completion_tokens: get(row, "completion_tokens")?,
            latency_ms: get(row, "latency_ms")?,
            attempts: get(row, "attempts")?,
        },
        updated_at: get_time(row, "updated_at")?,
    })
}

pub(super) async fn register(
    pool: &PgPool,
    job: &EvalJob,
    status: JobStatus,
    origin: &str,
) -> BackendResult<JobRegistration> {
    let inserted = sqlx::query(
        "INSERT INTO eval_jobs (id, project_id, evaluator_id, evaluator_version, target, \
            status, origin, not_before, attempts, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $9) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&job.id)
    .bind(&job.project_id)
    .bind(&job.evaluator_id)
    .bind(job.evaluator_version)
    .bind(encode_json(&job.target, "job target")?)
    .bind(status.as_str())
    .bind(origin)
    .bind(micros(job.not_before))
    .bind(micros(job.created_at))
    .execute(pool)
    .await
    .map_err(|error| db_error("failed to register eval job", error))?;
    if inserted.rows_affected() > 0 {
        return Ok(JobRegistration::Created);
    }
    // A new statement, so its snapshot sees a competitor's row committed while the insert
    // above waited for it.
    let row = sqlx::query("SELECT status, origin FROM eval_jobs WHERE id = $1")
        .bind(&job.id)
        .fetch_one(pool)
        .await
        .map_err(|error| db_error("failed to read eval job", error))?;
    Ok(JobRegistration::Existing {
        status: parse_status(get(&row, "status")?)?,
        origin: get(&row, "origin")?,
    })
}

/// Registers a page of jobs in one transaction (one commit instead of one per job). Under
/// read committed each statement sees rows committed before it, as `register` relies on.
pub(super) async fn register_many(
    pool: &PgPool,
    jobs: &[(EvalJob, JobStatus)],
    origin: &str,
) -> BackendResult<Vec<JobRegistration>> {
    let mut transaction = pool
        .begin()
        .await
        .map_err(|error| db_error("failed to begin registering eval jobs", error))?;
    let mut registrations = Vec::with_capacity(jobs.len());
    for (job, status) in jobs {
        let inserted = sqlx::query(
            "INSERT INTO eval_jobs (id, project_id, evaluator_id, evaluator_version, target, \
                status, origin, not_before, attempts, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $9) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&job.id)
        .bind(&job.project_id)
        .bind(&job.evaluator_id)
        .bind(job.evaluator_version)
        .bind(encode_json(&job.target, "job target")?)
        .bind(status.as_str())
        .bind(origin)
        .bind(micros(job.not_before))
        .bind(micros(job.created_at))
        .execute(&mut *transaction)
        .await
        .map_err(|error| db_error("failed to register eval job", error))?;
        if inserted.rows_affected() > 0 {
            registrations.push(JobRegistration::Created);
            continue;
        }
        let row = sqlx::query("SELECT status, origin FROM eval_jobs WHERE id = $1")
            .bind(&job.id)
            .fetch_one(&mut *transaction)
            .await
            .map_err(|error| db_error("failed to read eval job", error))?;
        registrations.push(JobRegistration::Existing {
            status: parse_status(get(&row, "status")?)?,
            origin: get(&row, "origin")?,
        });
    }
    transaction
        .commit()
        .await
        .map_err(|error| db_error("failed to commit eval job registrations", error))?;
    Ok(registrations)
}

pub(super) async fn claim(
    pool: &PgPool,
    job_id: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> BackendResult<JobClaim> {
    // When two runners race, the second `UPDATE` waits for the first and re-checks its
    // condition on the row the first wrote, which now holds an unexpired lease.
    let claimed = sqlx::query(
        "UPDATE eval_jobs SET status = 'running', lease_until = $1, updated_at = $2 \
         WHERE id = $3 AND (status = 'queued' OR (status = 'running' AND lease_until < $2))",
    )
    .bind(micros(lease_until))
    .bind(micros(now))
    .bind(job_id)
    .execute(pool)
    .await
    .map_err(|error| db_error("failed to claim eval job", error))?;
    if claimed.rows_affected() > 0 {
        return Ok(JobClaim::Claimed);
    }
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM eval_jobs WHERE id = $1")
        .bind(job_id)
        .fetch_optional(pool)
        .await
        .map_err(|error| db_error("failed to read eval job", error))?;
    Ok(match status.as_deref().map(parse_status).transpose()? {
        None => JobClaim::Missing,
        Some(status) if status.is_final() => JobClaim::Final(status),
        Some(_) => JobClaim::Busy,
    })
}

pub(super) async fn finish(
    pool: &PgPool,
    job_id: &str,
    status: JobStatus,
    outcome: &JobOutcome,
    now: DateTime<Utc>,
) -> BackendResult<()> {
    sqlx::query(
        "UPDATE eval_jobs SET status = $1, lease_until = NULL, failure_reason = $2, \
            message = $3, score_id = $4, score_value = $5, score_label = $6, \
            prompt_tokens = $7, completion_tokens = $8, latency_ms = $9, attempts = $10, \
            updated_at = $11 \
         WHERE id = $12",
    )
    .bind(status.as_str())
    .bind(&outcome.failure_reason)
    .bind(&outcome.message)
    .bind(&outcome.score_id)
    .bind(outcome.score_value)
    .bind(&outcome.score_label)
    .bind(outcome.prompt_tokens)
    .bind(outcome.completion_tokens)
    .bind(outcome.latency_ms)
    .bind(outcome.attempts)
    .bind(micros(now))
    .bind(job_id)
    .execute(pool)
    .await
    .map_err(|error| db_error("failed to record eval job outcome", error))?;
    Ok(())
}

pub(super) async fn get_one(
    pool: &PgPool,
    project_id: &str,
    job_id: &str,
) -> BackendResult<Option<JobExecution>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM eval_jobs WHERE project_id = $1 AND id = $2"
    ))
    .bind(project_id)
    .bind(job_id)
    .fetch_optional(pool)
    .await
    .map_err(|error| db_error("failed to read eval job", error))?;
    row.as_ref().map(decode).transpose()
}

pub(super) async fn list(
    pool: &PgPool,
    project_id: &str,
    evaluator_id: &str,
    status: Option<JobStatus>,
    page: PageRequest,
) -> BackendResult<Page<JobExecution>> {
    // Without a status, unsampled matches are left out: they never became jobs.
    let (condition, status_value) = match status {
        Some(status) => ("status = $3", status.as_str()),
        None => ("status <> $3", JobStatus::Unsampled.as_str()),
    };
    let total: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM eval_jobs \
         WHERE project_id = $1 AND evaluator_id = $2 AND {condition}"
    ))
    .bind(project_id)
    .bind(evaluator_id)
    .bind(status_value)
    .fetch_one(pool)
    .await
    .map_err(|error| db_error("failed to count eval jobs", error))?;
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM eval_jobs \
         WHERE project_id = $1 AND evaluator_id = $2 AND {condition} \
         ORDER BY created_at DESC, id COLLATE \"C\" DESC LIMIT $4 OFFSET $5"
    ))
    .bind(project_id)
    .bind(evaluator_id)
    .bind(status_value)
    .bind(sql_integer(page.limit))
    .bind(sql_integer(page.offset()))
    .fetch_all(pool)
    .await
    .map_err(|error| db_error("failed to list eval jobs", error))?;
    Ok(Page {
        items: rows.iter().map(decode).collect::<BackendResult<_>>()?,
        total_items: u64::try_from(total).unwrap_or(0),
    })
}

/// Adds `count` jobs of `status` (and `reason`) to the funnel.
fn add_to_funnel(funnel: &mut Funnel, status: JobStatus, reason: Option<String>, count: u64) {
    funnel.matched += count;
    if status == JobStatus::Unsampled {
        return;
    }
    funnel.sampled += count;
    funnel.queued += count;
    match status {
        JobStatus::Queued | JobStatus::Running => funnel.pending += count,
        JobStatus::Succeeded => funnel.scored += count,
        JobStatus::Failed => {
            funnel.failed += count;
            let reason = reason.unwrap_or_else(|| "unknown".to_owned());
            *funnel.failed_by_reason.entry(reason).or_default() += count;
        }
        JobStatus::Unsampled => {}
    }
}

pub(super) async fn funnel(
    pool: &PgPool,
    project_id: &str,
    evaluator_id: &str,
) -> BackendResult<Funnel> {
    let rows = sqlx::query(
        "SELECT status, failure_reason, COUNT(*) AS n FROM eval_jobs \
         WHERE project_id = $1 AND evaluator_id = $2 GROUP BY status, failure_reason",
    )
    .bind(project_id)
    .bind(evaluator_id)
    .fetch_all(pool)
    .await
    .map_err(|error| db_error("failed to count eval jobs", error))?;
    let mut funnel = Funnel::default();
    for row in &rows {
        let status = parse_status(get(row, "status")?)?;
        let reason: Option<String> = get(row, "failure_reason")?;
        let count = u64::try_from(get::<i64>(row, "n")?).unwrap_or(0);
        add_to_funnel(&mut funnel, status, reason, count);
    }
    Ok(funnel)
}
