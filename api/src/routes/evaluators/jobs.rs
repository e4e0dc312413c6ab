//! `GET /evaluators/{id}/funnel` (matched → sampled → queued → scored / failed by reason) and
//! `GET /evaluators/{id}/jobs?status=` (the job executions, newest first).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use periscope_core::evals::{EvalServices, JobExecution, JobStatus, TargetRef};
use serde::Serialize;

use super::crud::evaluator_by_id;
use super::services;
use crate::auth::Caller;
use crate::error::{ApiError, Result};
use crate::params::QueryParams;
use crate::state::ApiState;
use crate::views::{IsoTime, PageResponse};

/// An evaluator's funnel as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FunnelView {
    pub(crate) evaluator_id: String,
    pub(crate) matched: u64,
    pub(crate) sampled: u64,
    pub(crate) queued: u64,
    pub(crate) pending: u64,
    pub(crate) scored: u64,
    pub(crate) failed: u64,
    pub(crate) failed_by_reason: BTreeMap<String, u64>,
}

/// A job execution as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JobView {
    pub(crate) id: String,
    pub(crate) evaluator_id: String,
    pub(crate) evaluator_version: i64,
    pub(crate) target: TargetRef,
    pub(crate) status: &'static str,
    pub(crate) failure_reason: Option<String>,
    pub(crate) message: Option<String>,
    pub(crate) score_id: Option<String>,
    pub(crate) score_value: Option<f64>,
    pub(crate) score_label: Option<String>,
    pub(crate) prompt_tokens: Option<i64>,
    pub(crate) completion_tokens: Option<i64>,
    pub(crate) latency_ms: Option<i64>,
    pub(crate) attempts: i64,
    pub(crate) not_before: IsoTime,
    pub(crate) created_at: IsoTime,
    pub(crate) updated_at: IsoTime,
}

impl JobView {
    fn from_execution(execution: &JobExecution) -> Self {
        let (job, outcome) = (&execution.job, &execution.outcome);
        Self {
            id: job.id.clone(),
            evaluator_id: job.evaluator_id.clone(),
            evaluator_version: job.evaluator_version,
            target: job.target.clone(),
            status: execution.status.as_str(),
            failure_reason: outcome.failure_reason.clone(),
            message: outcome.message.clone(),
            score_id: outcome.score_id.clone(),
            score_value: outcome.score_value,
            score_label: outcome.score_label.clone(),
            prompt_tokens: outcome.prompt_tokens,
            completion_tokens: outcome.completion_tokens,
            latency_ms: outcome.latency_ms,
            attempts: outcome.attempts,
            not_before: IsoTime(job.not_before),
            created_at: IsoTime(job.created_at),
            updated_at: IsoTime(execution.updated_at),
        }
    }
}

/// Returns the funnel of an evaluator of the project.
pub(crate) async fn evaluator_funnel(
    evals: &EvalServices,
    project_id: &str,
    id: &str,
) -> Result<FunnelView> {
    let evaluator = evaluator_by_id(evals, project_id, id).await?;
    let funnel = evals.store.funnel(project_id, &evaluator.id).await?;
    Ok(FunnelView {
        evaluator_id: evaluator.id,
        matched: funnel.matched,
        sampled: funnel.sampled,
        queued: funnel.queued,
        pending: funnel.pending,
        scored: funnel.scored,
        failed: funnel.failed,
        failed_by_reason: funnel.failed_by_reason,
    })
}

/// Returns a page of an evaluator's jobs; `status` narrows them.
pub(crate) async fn evaluator_jobs(
    evals: &EvalServices,
    project_id: &str,
    id: &str,
    query: Option<&str>,
) -> Result<PageResponse<JobView>> {
    let params = QueryParams::parse(query);
    let page = params.page()?;
    let status = params
        .string("status")
        .map(|name| {
            JobStatus::parse(&name).ok_or_else(|| {
                ApiError::parameter(
                    "status",
                    "expected one of unsampled, queued, running, succeeded, failed",
                )
            })
        })
        .transpose()?;
    let evaluator = evaluator_by_id(evals, project_id, id).await?;
    let jobs = evals
        .store
        .list_jobs(project_id, &evaluator.id, status, page)
        .await?;
    let data = jobs.items.iter().map(JobView::from_execution).collect();
    Ok(PageResponse::new(
        data,
        page.page,
        page.limit,
        jobs.total_items,
    ))
}

/// `GET /evaluators/{id}/funnel`.
pub(crate) async fn funnel(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<FunnelView>> {
    let evals = services(&state)?;
    Ok(Json(
        evaluator_funnel(evals, &caller.project_id, &id).await?,
    ))
}

/// `GET /evaluators/{id}/jobs`.
pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<PageResponse<JobView>>> {
    let evals = services(&state)?;
    Ok(Json(
        evaluator_jobs(evals, &caller.project_id, &id, query.as_deref()).await?,
    ))
}
