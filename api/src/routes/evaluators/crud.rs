//! `/api/public/evaluators`: create, list, read, change (each change is a new version) and
//! delete evaluators.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use periscope_core::evals::{
    DEFAULT_SETTLE_WINDOW, EvalFilter, EvalServices, EvalTarget, Evaluator, EvaluatorPatch,
    find_template, resolve_path, validate_evaluator,
};
use periscope_core::ids::new_event_id;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};

use super::{now, parse_body, services};
use crate::auth::Caller;
use crate::error::{ApiError, Result};
use crate::state::ApiState;
use crate::views::IsoTime;

fn default_rate() -> f64 {
    1.0
}

fn default_true() -> bool {
    true
}

/// The body of `POST /evaluators`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateEvaluator {
    #[serde(alias = "name")]
    score_name: String,
    template_name: String,
    #[serde(default)]
    template_version: Option<i64>,
    connection_id: String,
    #[serde(default)]
    model: Option<String>,
    #[serde(default = "trace_target")]
    target: EvalTarget,
    #[serde(default)]
    filter: EvalFilter,
    #[serde(default = "default_rate")]
    sampling_rate: f64,
    #[serde(default)]
    variable_mapping: BTreeMap<String, String>,
    #[serde(default)]
    settle_window_ms: Option<u64>,
    #[serde(default = "default_true")]
    active: bool,
}

fn trace_target() -> EvalTarget {
    EvalTarget::Trace
}

/// The body of `PATCH /evaluators/{id}`; absent fields keep their value, `"model": null`
/// goes back to the connection's default model.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PatchEvaluator {
    #[serde(default, alias = "name")]
    score_name: Option<String>,
    #[serde(default)]
    template_version: Option<i64>,
    #[serde(default)]
    connection_id: Option<String>,
    #[serde(default, deserialize_with = "present_or_null")]
    model: Option<Option<String>>,
    #[serde(default)]
    target: Option<EvalTarget>,
    #[serde(default)]
    filter: Option<EvalFilter>,
    #[serde(default)]
    sampling_rate: Option<f64>,
    #[serde(default)]
    variable_mapping: Option<BTreeMap<String, String>>,
    #[serde(default)]
    settle_window_ms: Option<u64>,
    #[serde(default)]
    active: Option<bool>,
}

/// Tells a given `null` (`Some(None)`) from an absent field (`None`, via `default`).
fn present_or_null<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// An evaluator as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EvaluatorView {
    pub(crate) id: String,
    pub(crate) project_id: String,
    pub(crate) score_name: String,
    pub(crate) template_name: String,
    pub(crate) template_version: i64,
    pub(crate) connection_id: String,
    pub(crate) model: Option<String>,
    pub(crate) target: EvalTarget,
    pub(crate) filter: EvalFilter,
    pub(crate) sampling_rate: f64,
    pub(crate) variable_mapping: BTreeMap<String, String>,
    pub(crate) settle_window_ms: u64,
    pub(crate) active: bool,
    pub(crate) version: i64,
    pub(crate) created_at: IsoTime,
    pub(crate) updated_at: IsoTime,
}

impl EvaluatorView {
    pub(crate) fn from_evaluator(evaluator: &Evaluator) -> Self {
        Self {
            id: evaluator.id.clone(),
            project_id: evaluator.project_id.clone(),
            score_name: evaluator.score_name.clone(),
            template_name: evaluator.template_name.clone(),
            template_version: evaluator.template_version,
            connection_id: evaluator.connection_id.clone(),
            model: evaluator.model.clone(),
            target: evaluator.target.clone(),
            filter: evaluator.filter.clone(),
            sampling_rate: evaluator.sampling_rate,
            variable_mapping: evaluator.variable_mapping.clone(),
            settle_window_ms: u64::try_from(evaluator.settle_window.as_millis())
                .unwrap_or(u64::MAX),
            active: evaluator.active,
            version: evaluator.version,
            created_at: IsoTime(evaluator.created_at),
            updated_at: IsoTime(evaluator.updated_at),
        }
    }
}

/// Checks what an evaluator points at: its template version and connection exist, and every
/// template variable's path is well-formed.
async fn check_references(evals: &EvalServices, evaluator: &Evaluator) -> Result<()> {
    validate_evaluator(evaluator).map_err(ApiError::InvalidBody)?;
    let template = find_template(
        evals.store.as_ref(),
        &evaluator.project_id,
        &evaluator.template_name,
        Some(evaluator.template_version),
    )
    .await?
    .ok_or_else(|| {
        ApiError::InvalidBody(format!(
            "templateName: template {:?} version {} does not exist",
            evaluator.template_name, evaluator.template_version
        ))
    })?;
    let connection = evals
        .store
        .get_connection(&evaluator.project_id, &evaluator.connection_id)
        .await?;
    if connection.is_none() {
        return Err(ApiError::InvalidBody(format!(
            "connectionId: LLM connection {:?} does not exist",
            evaluator.connection_id
        )));
    }
    for variable in template.variables() {
        let path = evaluator.variable_path(&variable);
        resolve_path(&Value::Null, &path).map_err(|message| {
            ApiError::InvalidBody(format!("variableMapping.{variable}: {message}"))
        })?;
    }
    Ok(())
}

/// Creates an evaluator (version 1); without `templateVersion` it pins the newest.
pub(crate) async fn create_evaluator(
    evals: &EvalServices,
    project_id: &str,
    body: &[u8],
) -> Result<EvaluatorView> {
    let request: CreateEvaluator = parse_body(body)?;
    let template_version = match request.template_version {
        Some(version) => version,
        None => find_template(
            evals.store.as_ref(),
            project_id,
            &request.template_name,
            None,
        )
        .await?
        .map(|template| template.version)
        .ok_or_else(|| {
            ApiError::InvalidBody(format!(
                "templateName: template {:?} does not exist",
                request.template_name
            ))
        })?,
    };
    let created_at = now();
    let evaluator = Evaluator {
        id: new_event_id(),
        project_id: project_id.to_owned(),
        score_name: request.score_name.trim().to_owned(),
        template_name: request.template_name,
        template_version,
        connection_id: request.connection_id,
        model: request.model,
        target: request.target,
        filter: request.filter,
        sampling_rate: request.sampling_rate,
        variable_mapping: request.variable_mapping,
        settle_window: request
            .settle_window_ms
            .map_or(DEFAULT_SETTLE_WINDOW, Duration::from_millis),
        active: request.active,
        version: 1,
        created_at,
        updated_at: created_at,
    };
    check_references(evals, &evaluator).await?;
    evals.store.create_evaluator(&evaluator).await?;
    Ok(EvaluatorView::from_evaluator(&evaluator))
}

/// Reads one evaluator of the project.
pub(crate) async fn evaluator_by_id(
    evals: &EvalServices,
    project_id: &str,
    id: &str,
) -> Result<Evaluator> {
    evals
        .store
        .get_evaluator(project_id, id)
        .await?
        .ok_or_else(|| ApiError::NamedNotFound {
            what: "Evaluator",
            name: id.to_owned(),
        })
}

/// Applies a `PATCH` body and stores the next version.
pub(crate) async fn update_evaluator(
    evals: &EvalServices,
    project_id: &str,
    id: &str,
    body: &[u8],
) -> Result<EvaluatorView> {
    let request: PatchEvaluator = parse_body(body)?;
    let mut evaluator = evaluator_by_id(evals, project_id, id).await?;
    let patch = EvaluatorPatch {
        score_name: request.score_name.map(|name| name.trim().to_owned()),
        template_version: request.template_version,
        connection_id: request.connection_id,
        model: request.model,
        target: request.target,
        filter: request.filter,
        sampling_rate: request.sampling_rate,
        variable_mapping: request.variable_mapping,
        settle_window: request.settle_window_ms.map(Duration::from_millis),
        active: request.active,
    };
    evaluator.apply(patch, now());
    check_references(evals, &evaluator).await?;
    if !evals.store.update_evaluator(&evaluator).await? {
        return Err(ApiError::Rejected(format!(
            "evaluator {id} changed meanwhile or was deleted; read it again and retry"
        )));
    }
    Ok(EvaluatorView::from_evaluator(&evaluator))
}

/// `POST /evaluators`.
pub(crate) async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<EvaluatorView>> {
    let evals = services(&state)?;
    Ok(Json(
        create_evaluator(evals, &caller.project_id, &body).await?,
    ))
}

/// `GET /evaluators`: the project's evaluators, newest first.
pub(crate) async fn list(State(state): State<ApiState>, caller: Caller) -> Result<Json<Value>> {
    let evals = services(&state)?;
    let evaluators = evals.store.list_evaluators(&caller.project_id).await?;
    let data: Vec<EvaluatorView> = evaluators
        .iter()
        .map(EvaluatorView::from_evaluator)
        .collect();
    Ok(Json(json!({ "data": data })))
}

/// `GET /evaluators/{id}`.
pub(crate) async fn get_one(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<EvaluatorView>> {
    let evals = services(&state)?;
    let evaluator = evaluator_by_id(evals, &caller.project_id, &id).await?;
    Ok(Json(EvaluatorView::from_evaluator(&evaluator)))
}

/// `PATCH /evaluators/{id}`.
pub(crate) async fn update(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<EvaluatorView>> {
    let evals = services(&state)?;
    Ok(Json(
        update_evaluator(evals, &caller.project_id, &id, &body).await?,
    ))
}

/// `DELETE /evaluators/{id}`: the evaluator stops; its jobs stay listed.
pub(crate) async fn delete(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let evals = services(&state)?;
    if !evals
        .store
        .delete_evaluator(&caller.project_id, &id)
        .await?
    {
        return Err(ApiError::NamedNotFound {
            what: "Evaluator",
            name: id,
        });
    }
    Ok(Json(json!({ "message": "Evaluator deleted" })))
}
