//! Turning a backfill request into a backfill with its estimate (shared by the API and the
//! CLI, so both check and estimate alike).

use chrono::{DateTime, Utc};

use super::estimate::{EstimateInput, estimate};
use super::model::{Backfill, BackfillBudget, BackfillState};
use super::pager::TargetScope;
use crate::error::BackendError;
use crate::evals::{EvalFilter, EvalStore, Evaluator, find_template, validate_evaluator};
use crate::meta::ModelDefinition;
use crate::store::TraceStore;

/// What a caller asks to backfill.
#[derive(Debug, Clone, PartialEq)]
pub struct BackfillRequest {
    pub project_id: String,
    pub evaluator_id: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Narrows the evaluator's own filter.
    pub filter: EvalFilter,
    pub budget: BackfillBudget,
}

/// Why a request cannot become a backfill.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The evaluator does not exist in the project.
    #[error("evaluator {0:?} not found")]
    EvaluatorNotFound(String),
    /// The request is invalid; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// A store failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// Returns the backfill `request` describes, state `pending`, with its estimate (not stored:
/// a dry run shows it, otherwise the caller stores it with `EvalStore::create_backfill`).
pub async fn plan_backfill(
    store: &dyn EvalStore,
    traces: &dyn TraceStore,
    project_models: &[ModelDefinition],
    request: BackfillRequest,
    now: DateTime<Utc>,
) -> Result<Backfill, PlanError> {
    if request.from >= request.to {
        return Err(PlanError::Invalid(
            "fromTimestamp must be before toTimestamp".to_owned(),
        ));
    }
    if let Some(max) = request.budget.max_cost_usd
        && !(max.is_finite() && max >= 0.0)
    {
        return Err(PlanError::Invalid(
            "budget.maxCostUsd must be a non-negative number".to_owned(),
        ));
    }
    let evaluator = store
        .get_evaluator(&request.project_id, &request.evaluator_id)
        .await?
        .ok_or_else(|| PlanError::EvaluatorNotFound(request.evaluator_id.clone()))?;
    // The extra filter must suit the evaluator's target like the evaluator's own does.
    validate_evaluator(&Evaluator {
        filter: request.filter.clone(),
        ..evaluator.clone()
    })
    .map_err(PlanError::Invalid)?;
    let template = find_template(
        store,
        &evaluator.project_id,
        &evaluator.template_name,
        Some(evaluator.template_version),
    )
    .await?
    .ok_or_else(|| {
        PlanError::Invalid(format!(
            "the evaluator's template {} version {} does not exist",
            evaluator.template_name, evaluator.template_version
        ))
    })?;
    let connection = store
        .get_connection(&evaluator.project_id, &evaluator.connection_id)
        .await?
        .ok_or_else(|| {
            PlanError::Invalid(format!(
                "the evaluator's LLM connection {} does not exist",
                evaluator.connection_id
            ))
        })?;
    let model = evaluator
        .model
        .clone()
        .unwrap_or_else(|| connection.default_model.clone());
    let scope = TargetScope::new(&evaluator, request.filter.clone(), request.from, request.to);
    let estimate = estimate(
        traces,
        EstimateInput {
            evaluator: &evaluator,
            template: &template,
            model: &model,
            project_models,
            scope: &scope,
        },
    )
    .await?;
    Ok(Backfill {
        id: uuid::Uuid::now_v7().to_string(),
        project_id: evaluator.project_id.clone(),
        evaluator_id: evaluator.id.clone(),
        evaluator_version: evaluator.version,
        from: request.from,
        to: request.to,
        filter: request.filter,
        budget: request.budget,
        total: estimate.targets,
        estimate,
        state: BackfillState::Pending,
        reason: None,
        cursor: None,
        done: 0,
        matched: 0,
        emitted: 0,
        skipped: 0,
        active_ms: 0,
        created_at: now,
        started_at: None,
        updated_at: now,
        finished_at: None,
    })
}
