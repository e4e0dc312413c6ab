//! Backfills of an evaluator over history (docs/adr/0017-evaluator-backfill.md):
//!
//! - `POST /evaluators/{id}/backfills` estimates (targets, judge calls after sampling, tokens,
//!   cost) and, unless `dryRun`, creates a pending backfill that a backfill worker of the
//!   evals role claims and walks;
//! - `GET /evaluators/{id}/backfills[/{backfillId}]` shows progress: done/total, rate, ETA;
//! - `POST /evaluators/{id}/backfills/{backfillId}/pause|resume|cancel`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use periscope_core::evals::EvalFilter;
use periscope_core::evals::backfill::{
    Backfill, BackfillBudget, BackfillEstimate, BackfillRequest, BackfillState, PlanError,
    plan_backfill,
};
use serde::{Deserialize, Serialize};

use super::crud::evaluator_by_id;
use super::{now, parse_body, services};
use crate::auth::Caller;
use crate::error::{ApiError, Result};
use crate::params::QueryParams;
use crate::state::ApiState;
use crate::views::{IsoTime, PageResponse};

/// The body of `POST /evaluators/{id}/backfills`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateBackfill {
    from_timestamp: DateTime<Utc>,
    to_timestamp: DateTime<Utc>,
    #[serde(default)]
    filter: EvalFilter,
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    budget: BackfillBudget,
}

/// A backfill as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BackfillView {
    pub(crate) id: String,
    pub(crate) evaluator_id: String,
    pub(crate) evaluator_version: i64,
    pub(crate) from_timestamp: IsoTime,
    pub(crate) to_timestamp: IsoTime,
    pub(crate) filter: EvalFilter,
    pub(crate) budget: BackfillBudget,
    pub(crate) estimate: BackfillEstimate,
    pub(crate) state: &'static str,
    pub(crate) reason: Option<String>,
    pub(crate) total: u64,
    pub(crate) done: u64,
    pub(crate) matched: u64,
    pub(crate) emitted: u64,
    pub(crate) skipped: u64,
    /// Targets visited per second of running time.
    pub(crate) rate_per_second: Option<f64>,
    pub(crate) eta_seconds: Option<f64>,
    pub(crate) created_at: IsoTime,
    pub(crate) started_at: Option<IsoTime>,
    pub(crate) updated_at: IsoTime,
    pub(crate) finished_at: Option<IsoTime>,
}

impl BackfillView {
    pub(crate) fn new(backfill: &Backfill) -> Self {
        Self {
            id: backfill.id.clone(),
            evaluator_id: backfill.evaluator_id.clone(),
            evaluator_version: backfill.evaluator_version,
            from_timestamp: IsoTime(backfill.from),
            to_timestamp: IsoTime(backfill.to),
            filter: backfill.filter.clone(),
            budget: backfill.budget.clone(),
            estimate: backfill.estimate.clone(),
            state: backfill.state.as_str(),
            reason: backfill.reason.clone(),
            total: backfill.total,
            done: backfill.done,
            matched: backfill.matched,
            emitted: backfill.emitted,
            skipped: backfill.skipped,
            rate_per_second: backfill.rate(),
            eta_seconds: backfill.eta_seconds(),
            created_at: IsoTime(backfill.created_at),
            started_at: backfill.started_at.map(IsoTime),
            updated_at: IsoTime(backfill.updated_at),
            finished_at: backfill.finished_at.map(IsoTime),
        }
    }
}

/// The answer to a dry run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DryRunView {
    pub(crate) dry_run: bool,
    pub(crate) estimate: BackfillEstimate,
}

/// The answer to `POST /backfills`: the estimate alone for a dry run, else the backfill.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub(crate) enum CreatedView {
    DryRun(DryRunView),
    Created(Box<BackfillView>),
}

/// Estimates a backfill and, unless it is a dry run, stores it as pending.
pub(crate) async fn create_backfill(
    state: &ApiState,
    project_id: &str,
    evaluator_id: &str,
    body: &[u8],
) -> Result<CreatedView> {
    let evals = services(state)?;
    let request: CreateBackfill = parse_body(body)?;
    let project_models = state.meta.list_models(project_id).await?;
    let planned = plan_backfill(
        evals.store.as_ref(),
        state.traces.as_ref(),
        &project_models,
        BackfillRequest {
            project_id: project_id.to_owned(),
            evaluator_id: evaluator_id.to_owned(),
            from: request.from_timestamp,
            to: request.to_timestamp,
            filter: request.filter,
            budget: request.budget,
        },
        now(),
    )
    .await
    .map_err(|error| match error {
        PlanError::EvaluatorNotFound(name) => ApiError::NamedNotFound {
            what: "Evaluator",
            name,
        },
        PlanError::Invalid(message) => ApiError::InvalidBody(message),
        PlanError::Backend(error) => ApiError::Backend(error),
    })?;
    if request.dry_run {
        return Ok(CreatedView::DryRun(DryRunView {
            dry_run: true,
            estimate: planned.estimate,
        }));
    }
    evals.store.create_backfill(&planned).await?;
    Ok(CreatedView::Created(Box::new(BackfillView::new(&planned))))
}

/// Returns one backfill of an evaluator of the project.
async fn backfill_by_id(
    state: &ApiState,
    project_id: &str,
    evaluator_id: &str,
    backfill_id: &str,
) -> Result<Backfill> {
    let evals = services(state)?;
    evals
        .store
        .get_backfill(project_id, backfill_id)
        .await?
        .filter(|backfill| backfill.evaluator_id == evaluator_id)
        .ok_or_else(|| ApiError::NamedNotFound {
            what: "Backfill",
            name: backfill_id.to_owned(),
        })
}

/// Moves a backfill from one of `from` to `to`; refuses (naming the current state) when it
/// is in none of them.
pub(crate) async fn change_state(
    state: &ApiState,
    project_id: &str,
    evaluator_id: &str,
    backfill_id: &str,
    from: &[BackfillState],
    to: BackfillState,
) -> Result<BackfillView> {
    let evals = services(state)?;
    let current = backfill_by_id(state, project_id, evaluator_id, backfill_id).await?;
    let reason = (to == BackfillState::Cancelled).then_some("cancelled by a user");
    let moved = evals
        .store
        .transition_backfill(project_id, &current.id, from, to, reason, now())
        .await?;
    let stored = backfill_by_id(state, project_id, evaluator_id, backfill_id).await?;
    if !moved && stored.state != to {
        return Err(ApiError::Rejected(format!(
            "backfill {backfill_id} is {}; it cannot become {}",
            stored.state.as_str(),
            to.as_str()
        )));
    }
    Ok(BackfillView::new(&stored))
}

/// `POST /evaluators/{id}/backfills`: 200 with the estimate for a dry run, else 201.
pub(crate) async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<CreatedView>)> {
    let created = create_backfill(&state, &caller.project_id, &id, &body).await?;
    let status = match created {
        CreatedView::DryRun(_) => StatusCode::OK,
        CreatedView::Created(_) => StatusCode::CREATED,
    };
    Ok((status, Json(created)))
}

/// `GET /evaluators/{id}/backfills`: newest first.
pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<PageResponse<BackfillView>>> {
    let evals = services(&state)?;
    let page = QueryParams::parse(query.as_deref()).page()?;
    let evaluator = evaluator_by_id(evals, &caller.project_id, &id).await?;
    let backfills = evals
        .store
        .list_backfills(&caller.project_id, &evaluator.id, page)
        .await?;
    let data = backfills.items.iter().map(BackfillView::new).collect();
    Ok(Json(PageResponse::new(
        data,
        page.page,
        page.limit,
        backfills.total_items,
    )))
}

/// `GET /evaluators/{id}/backfills/{backfillId}`.
pub(crate) async fn get_one(
    State(state): State<ApiState>,
    caller: Caller,
    Path((id, backfill_id)): Path<(String, String)>,
) -> Result<Json<BackfillView>> {
    let backfill = backfill_by_id(&state, &caller.project_id, &id, &backfill_id).await?;
    Ok(Json(BackfillView::new(&backfill)))
}

/// `POST .../pause`: a pending or running backfill stops after its current page.
pub(crate) async fn pause(
    State(state): State<ApiState>,
    caller: Caller,
    Path((id, backfill_id)): Path<(String, String)>,
) -> Result<Json<BackfillView>> {
    let from = [BackfillState::Pending, BackfillState::Running];
    let view = change_state(
        &state,
        &caller.project_id,
        &id,
        &backfill_id,
        &from,
        BackfillState::Paused,
    )
    .await?;
    Ok(Json(view))
}

/// `POST .../resume`: a paused backfill continues from its cursor.
pub(crate) async fn resume(
    State(state): State<ApiState>,
    caller: Caller,
    Path((id, backfill_id)): Path<(String, String)>,
) -> Result<Json<BackfillView>> {
    let from = [BackfillState::Paused];
    let view = change_state(
        &state,
        &caller.project_id,
        &id,
        &backfill_id,
        &from,
        BackfillState::Running,
    )
    .await?;
    Ok(Json(view))
}

/// `POST .../cancel`: stops a backfill for good (jobs already emitted still run).
pub(crate) async fn cancel(
    State(state): State<ApiState>,
    caller: Caller,
    Path((id, backfill_id)): Path<(String, String)>,
) -> Result<Json<BackfillView>> {
    let from = [
        BackfillState::Pending,
        BackfillState::Running,
        BackfillState::Paused,
    ];
    let view = change_state(
        &state,
        &caller.project_id,
        &id,
        &backfill_id,
        &from,
        BackfillState::Cancelled,
    )
    .await?;
    Ok(Json(view))
}
