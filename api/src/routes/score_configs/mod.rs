//! Score configs, Langfuse-compatible (`/api/public/score-configs`):
//!
//! - `POST /score-configs` creates a config (rules in `periscope_core::score_configs`);
//! - `GET /score-configs` lists the project's configs, newest first (`page`, `limit`);
//! - `GET /score-configs/{id}` reads one;
//! - `PATCH /score-configs/{id}` changes `name`, `isArchived`, `description`, `minValue`,
//!   `maxValue` or `categories`; the result is checked by the same rules as a create.

mod request;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use chrono::{DateTime, Utc};
use periscope_core::ids::new_event_id;
use periscope_core::score_configs::{ScoreConfig, ScoreConfigPatch, validate_config};
use serde::Serialize;

use crate::auth::Caller;
use crate::error::{ApiError, Result};
use crate::params::QueryParams;
use crate::state::ApiState;
use crate::views::{IsoTime, PageResponse};

/// One category of a config, as Langfuse writes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct CategoryView {
    label: String,
    value: f64,
}

/// A score config in Langfuse's `ScoreConfig` shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ScoreConfigView {
    id: String,
    name: String,
    data_type: &'static str,
    is_archived: bool,
    min_value: Option<f64>,
    max_value: Option<f64>,
    /// `null` for numeric configs.
    categories: Option<Vec<CategoryView>>,
    description: Option<String>,
    project_id: String,
    created_at: IsoTime,
    updated_at: IsoTime,
}

impl ScoreConfigView {
    fn from_config(config: &ScoreConfig) -> Self {
        let categories = (!config.categories.is_empty()).then(|| {
            config
                .categories
                .iter()
                .map(|category| CategoryView {
                    label: category.label.clone(),
                    value: category.value,
                })
                .collect()
        });
        Self {
            id: config.id.clone(),
            name: config.name.clone(),
            data_type: config.data_type.as_str(),
            is_archived: config.is_archived,
            min_value: config.min_value,
            max_value: config.max_value,
            categories,
            description: config.description.clone(),
            project_id: config.project_id.clone(),
            created_at: IsoTime(config.created_at),
            updated_at: IsoTime(config.updated_at),
        }
    }
}

/// Returns `now` at the microsecond precision the stores keep, so a created config equals
/// its re-read.
fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// Creates a config (`POST /score-configs`).
pub(crate) async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<ScoreConfigView>> {
    let parsed = request::parse_create(&body)?;
    let created_at = now();
    let mut config = ScoreConfig {
        id: new_event_id(),
        project_id: caller.project_id,
        name: parsed.name,
        data_type: parsed.data_type,
        is_archived: false,
        min_value: parsed.min_value,
        max_value: parsed.max_value,
        categories: parsed.categories,
        description: parsed.description,
        created_at,
        updated_at: created_at,
    };
    validate_config(&mut config).map_err(ApiError::InvalidBody)?;
    state.score_configs.create_score_config(&config).await?;
    Ok(Json(ScoreConfigView::from_config(&config)))
}

/// Returns a page of configs, newest first (`GET /score-configs`).
pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<PageResponse<ScoreConfigView>>> {
    let page = QueryParams::parse(query.as_deref()).page()?;
    let configs = state
        .score_configs
        .list_score_configs(&caller.project_id, page)
        .await?;
    let data = configs
        .items
        .iter()
        .map(ScoreConfigView::from_config)
        .collect();
    Ok(Json(PageResponse::new(
        data,
        page.page,
        page.limit,
        configs.total_items,
    )))
}

async fn config_by_id(state: &ApiState, project_id: &str, id: &str) -> Result<ScoreConfig> {
    state
        .score_configs
        .get_score_config(project_id, id)
        .await?
        .ok_or_else(|| ApiError::NamedNotFound {
            what: "Score config",
            name: id.to_owned(),
        })
}

/// Returns one config (`GET /score-configs/{id}`).
pub(crate) async fn get_one(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ScoreConfigView>> {
    let config = config_by_id(&state, &caller.project_id, &id).await?;
    Ok(Json(ScoreConfigView::from_config(&config)))
}

/// Applies `patch` to `config`; `None` fields keep the stored value.
fn apply_patch(config: &mut ScoreConfig, patch: ScoreConfigPatch) {
    if let Some(name) = patch.name {
        config.name = name;
    }
    if let Some(is_archived) = patch.is_archived {
        config.is_archived = is_archived;
    }
    if let Some(description) = patch.description {
        config.description = Some(description);
    }
    if let Some(min_value) = patch.min_value {
        config.min_value = Some(min_value);
    }
    if let Some(max_value) = patch.max_value {
        config.max_value = Some(max_value);
    }
    if let Some(categories) = patch.categories {
        config.categories = categories;
    }
}

/// Changes a config (`PATCH /score-configs/{id}`).
pub(crate) async fn update(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<ScoreConfigView>> {
    let patch = request::parse_patch(&body)?;
    let mut config = config_by_id(&state, &caller.project_id, &id).await?;
    apply_patch(&mut config, patch);
    validate_config(&mut config).map_err(ApiError::InvalidBody)?;
    config.updated_at = now();
    if !state.score_configs.update_score_config(&config).await? {
        return Err(ApiError::NamedNotFound {
            what: "Score config",
            name: id,
        });
    }
    Ok(Json(ScoreConfigView::from_config(&config)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use periscope_core::model::ScoreDataType;
    use periscope_core::score_configs::ConfigCategory;
    use serde_json::json;

    fn numeric() -> ScoreConfig {
        ScoreConfig {
            id: "c".into(),
            project_id: "p".into(),
            name: "n".into(),
            data_type: ScoreDataType::Numeric,
            is_archived: false,
            min_value: Some(0.0),
            max_value: Some(1.0),
            categories: Vec::new(),
            description: None,
            created_at: DateTime::from_timestamp(0, 0).unwrap(),
            updated_at: DateTime::from_timestamp(0, 0).unwrap(),
        }
    }

    #[test]
    fn a_patch_that_breaks_the_rules_is_caught_by_validation() {
        let mut config = numeric();
        apply_patch(
            &mut config,
            ScoreConfigPatch {
                min_value: Some(5.0),
                is_archived: Some(true),
                ..ScoreConfigPatch::default()
            },
        );
        assert!(config.is_archived);
        assert!(
            validate_config(&mut config)
                .unwrap_err()
                .contains("minValue")
        );
    }

    #[test]
    fn views_use_langfuse_field_names() {
        let mut config = numeric();
        let view = serde_json::to_value(ScoreConfigView::from_config(&config)).unwrap();
        assert_eq!(view["dataType"], "NUMERIC");
        assert_eq!(view["categories"], json!(null));
        assert_eq!(view["minValue"], 0.0);
        assert_eq!(view["projectId"], "p");
        config.data_type = ScoreDataType::Categorical;
        config.categories = vec![ConfigCategory {
            label: "good".into(),
            value: 1.0,
        }];
        let view = serde_json::to_value(ScoreConfigView::from_config(&config)).unwrap();
        assert_eq!(view["categories"], json!([{"label": "good", "value": 1.0}]));
        assert_eq!(view["isArchived"], false);
    }
}
