//! `GET/POST /api/public/models` and `GET/DELETE /api/public/models/{id}`: the project's own
//! model definitions followed by the built-in ones, which are read-only.

mod request;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use chrono::Utc;
use periscope_core::meta::ModelDefinition;
use periscope_core::prices::{BUILTIN_ID_PREFIX, builtin_models};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, Result};
use crate::params::QueryParams;
use crate::state::ApiState;
use crate::views::PageResponse;
use crate::views::model::ModelView;

/// Returns the project's definitions, then the built-in ones.
async fn all_models(state: &ApiState, project_id: &str) -> Result<Vec<ModelDefinition>> {
    let mut models = state.meta.list_models(project_id).await?;
    models.extend(builtin_models().iter().cloned());
    Ok(models)
}

/// Returns a page of model definitions: the project's own first, then the built-in ones.
pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<PageResponse<ModelView>>> {
    let page = QueryParams::parse(query.as_deref()).page()?;
    let models = all_models(&state, &caller.project_id).await?;
    let skip = usize::try_from(page.offset()).unwrap_or(usize::MAX);
    let take = usize::try_from(page.limit).unwrap_or(usize::MAX);
    let data = models
        .iter()
        .skip(skip)
        .take(take)
        .map(ModelView::from_definition)
        .collect();
    Ok(Json(PageResponse::new(
        data,
        page.page,
        page.limit,
        models.len() as u64,
    )))
}

/// Returns one model definition, the project's own or a built-in one.
pub(crate) async fn get_one(
    State(state): State<ApiState>,
    caller: Caller,
    Path(model_id): Path<String>,
) -> Result<Json<ModelView>> {
    let models = all_models(&state, &caller.project_id).await?;
    let model = models
        .iter()
        .find(|model| model.id == model_id)
        .ok_or(ApiError::NotFound { what: "Model" })?;
    Ok(Json(ModelView::from_definition(model)))
}

/// Creates a project model definition from a Langfuse `CreateModelRequest`.
pub(crate) async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<ModelView>> {
    let id = Uuid::now_v7().to_string();
    let model = request::parse_create_model(&body, &caller.project_id, id, Utc::now())?;
    state.meta.upsert_model(&model).await?;
    Ok(Json(ModelView::from_definition(&model)))
}

/// Deletes a project model definition; built-in ones cannot be deleted.
pub(crate) async fn delete(
    State(state): State<ApiState>,
    caller: Caller,
    Path(model_id): Path<String>,
) -> Result<Json<Value>> {
    if is_builtin(&model_id) {
        return Err(ApiError::Forbidden(format!(
            "model {model_id} is built in and cannot be deleted; create a model with the same \
             modelName to override its prices"
        )));
    }
    if !state
        .meta
        .delete_model(&caller.project_id, &model_id)
        .await?
    {
        return Err(ApiError::NotFound { what: "Model" });
    }
    Ok(Json(json!({"message": "Model successfully deleted"})))
}

/// Returns whether `model_id` names a built-in definition.
fn is_builtin(model_id: &str) -> bool {
    model_id.starts_with(BUILTIN_ID_PREFIX)
        || builtin_models().iter().any(|model| model.id == model_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_ids_are_recognised() {
        let builtin = builtin_models().first().expect("the catalog has models");
        assert!(is_builtin(&builtin.id));
        assert!(is_builtin("builtin-anything"));
        assert!(!is_builtin(&Uuid::now_v7().to_string()));
    }
}
