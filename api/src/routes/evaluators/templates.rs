//! `/api/public/evaluator-templates`: the built-in judge prompts and the project's own, every
//! version. Creating a template under a name that exists adds that name's next version.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use periscope_core::evals::{
    EvalServices, EvaluatorTemplate, OutputSpec, builtin_template, builtin_templates,
    find_template, validate_template,
};
use periscope_core::ids::new_event_id;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{now, parse_body, services};
use crate::auth::Caller;
use crate::error::{ApiError, Result};
use crate::params::QueryParams;
use crate::state::ApiState;
use crate::views::IsoTime;

/// The output type as sent.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum OutputType {
    Numeric,
    Boolean,
    Categorical,
}

/// The body of `POST /evaluator-templates`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateTemplate {
    name: String,
    prompt: String,
    output_type: OutputType,
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
    #[serde(default)]
    description: Option<String>,
}

/// A template version as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TemplateView {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) version: i64,
    pub(crate) prompt: String,
    pub(crate) variables: Vec<String>,
    pub(crate) output_type: &'static str,
    pub(crate) categories: Option<Vec<String>>,
    pub(crate) min: Option<f64>,
    pub(crate) max: Option<f64>,
    pub(crate) description: Option<String>,
    pub(crate) built_in: bool,
    pub(crate) created_at: IsoTime,
}

impl TemplateView {
    pub(crate) fn from_template(template: &EvaluatorTemplate) -> Self {
        let (categories, min, max) = match &template.output {
            OutputSpec::Numeric { min, max } => (None, *min, *max),
            OutputSpec::Boolean => (None, None, None),
            OutputSpec::Categorical { categories } => (Some(categories.clone()), None, None),
        };
        Self {
            id: template.id.clone(),
            name: template.name.clone(),
            version: template.version,
            prompt: template.prompt.clone(),
            variables: template.variables(),
            output_type: template.output.data_type().as_str(),
            categories,
            min,
            max,
            description: template.description.clone(),
            built_in: template.project_id.is_none(),
            created_at: IsoTime(template.created_at),
        }
    }
}

/// Creates the next version of a project template.
pub(crate) async fn create_template(
    evals: &EvalServices,
    project_id: &str,
    body: &[u8],
) -> Result<TemplateView> {
    let request: CreateTemplate = parse_body(body)?;
    let name = request.name.trim().to_owned();
    if builtin_template(&name, None).is_some() {
        return Err(ApiError::InvalidBody(format!(
            "name: {name:?} is a built-in template; choose another name"
        )));
    }
    let output = match request.output_type {
        OutputType::Numeric => OutputSpec::Numeric {
            min: request.min,
            max: request.max,
        },
        OutputType::Boolean => OutputSpec::Boolean,
        OutputType::Categorical => OutputSpec::Categorical {
            categories: request.categories,
        },
    };
    let template = EvaluatorTemplate {
        id: new_event_id(),
        project_id: Some(project_id.to_owned()),
        name,
        version: 0,
        prompt: request.prompt,
        output,
        description: request.description,
        created_at: now(),
    };
    validate_template(&template).map_err(ApiError::InvalidBody)?;
    let stored = evals.store.create_template_version(&template).await?;
    Ok(TemplateView::from_template(&stored))
}

/// `POST /evaluator-templates`.
pub(crate) async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<TemplateView>> {
    let evals = services(&state)?;
    Ok(Json(
        create_template(evals, &caller.project_id, &body).await?,
    ))
}

/// `GET /evaluator-templates`: the built-in templates, then the project's, every version.
pub(crate) async fn list(State(state): State<ApiState>, caller: Caller) -> Result<Json<Value>> {
    let evals = services(&state)?;
    let mut templates = builtin_templates();
    templates.extend(evals.store.list_templates(&caller.project_id).await?);
    let data: Vec<TemplateView> = templates.iter().map(TemplateView::from_template).collect();
    Ok(Json(json!({ "data": data })))
}

/// `GET /evaluator-templates/{name}?version=N`: one version, the newest by default.
pub(crate) async fn get_one(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<TemplateView>> {
    let evals = services(&state)?;
    let version = QueryParams::parse(query.as_deref()).positive_integer("version")?;
    let version = version.map(|version| i64::try_from(version).unwrap_or(i64::MAX));
    let template = find_template(evals.store.as_ref(), &caller.project_id, &name, version)
        .await?
        .ok_or(ApiError::NamedNotFound {
            what: "Evaluator template",
            name,
        })?;
    Ok(Json(TemplateView::from_template(&template)))
}
