//! `/api/public/llm-connections`: create, list, read and delete OpenAI-compatible endpoints.
//! The key is sealed before it is stored and never returned: views carry a masked preview.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use periscope_core::evals::{EvalServices, LlmConnection, key_preview, validate_connection};
use periscope_core::ids::new_event_id;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{now, parse_body, services};
use crate::auth::Caller;
use crate::error::{ApiError, Result};
use crate::state::ApiState;
use crate::views::IsoTime;

/// The body of `POST /llm-connections`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateConnection {
    name: String,
    #[serde(alias = "baseURL", alias = "baseUrl")]
    base_url: String,
    default_model: String,
    #[serde(default)]
    extra_headers: BTreeMap<String, String>,
    #[serde(default)]
    api_key: Option<String>,
}

/// A connection as shown: header names but not their values, and the key's preview only.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConnectionView {
    pub(crate) id: String,
    pub(crate) name: String,
    #[serde(rename = "baseURL")]
    pub(crate) base_url: String,
    pub(crate) default_model: String,
    pub(crate) extra_header_keys: Vec<String>,
    pub(crate) display_secret_key: String,
    pub(crate) created_at: IsoTime,
    pub(crate) updated_at: IsoTime,
}

impl ConnectionView {
    fn from_connection(connection: &LlmConnection) -> Self {
        Self {
            id: connection.id.clone(),
            name: connection.name.clone(),
            base_url: connection.base_url.clone(),
            default_model: connection.default_model.clone(),
            extra_header_keys: connection.extra_headers.keys().cloned().collect(),
            display_secret_key: connection.key_preview.clone(),
            created_at: IsoTime(connection.created_at),
            updated_at: IsoTime(connection.updated_at),
        }
    }
}

/// Creates a connection, sealing its key.
pub(crate) async fn create_connection(
    evals: &EvalServices,
    project_id: &str,
    body: &[u8],
) -> Result<ConnectionView> {
    let request: CreateConnection = parse_body(body)?;
    let created_at = now();
    let mut connection = LlmConnection {
        id: new_event_id(),
        project_id: project_id.to_owned(),
        name: request.name.trim().to_owned(),
        base_url: request.base_url.trim().trim_end_matches('/').to_owned(),
        default_model: request.default_model.trim().to_owned(),
        extra_headers: request.extra_headers,
        sealed_api_key: String::new(),
        key_preview: String::new(),
        created_at,
        updated_at: created_at,
    };
    validate_connection(&connection).map_err(ApiError::InvalidBody)?;
    let api_key = request.api_key.unwrap_or_default();
    if !api_key.is_empty() {
        let context = LlmConnection::seal_context(project_id, &connection.id);
        connection.sealed_api_key = evals.cipher.seal(&api_key, &context).map_err(|error| {
            tracing::warn!(%error, "refused to store an llm connection key");
            ApiError::Rejected(error.to_string())
        })?;
        connection.key_preview = key_preview(&api_key);
    }
    match evals.store.create_connection(&connection).await {
        Ok(()) => Ok(ConnectionView::from_connection(&connection)),
        Err(periscope_core::error::BackendError::AlreadyExists { .. }) => {
            Err(ApiError::Rejected(format!(
                "name: an LLM connection named {:?} exists already",
                connection.name
            )))
        }
        Err(error) => Err(error.into()),
    }
}

/// `POST /llm-connections`.
pub(crate) async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<ConnectionView>> {
    let evals = services(&state)?;
    Ok(Json(
        create_connection(evals, &caller.project_id, &body).await?,
    ))
}

/// `GET /llm-connections`: every connection of the project, by name.
pub(crate) async fn list(State(state): State<ApiState>, caller: Caller) -> Result<Json<Value>> {
    let evals = services(&state)?;
    let connections = evals.store.list_connections(&caller.project_id).await?;
    let data: Vec<ConnectionView> = connections
        .iter()
        .map(ConnectionView::from_connection)
        .collect();
    Ok(Json(json!({ "data": data })))
}

/// `GET /llm-connections/{id}`.
pub(crate) async fn get_one(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ConnectionView>> {
    let evals = services(&state)?;
    let connection = evals
        .store
        .get_connection(&caller.project_id, &id)
        .await?
        .ok_or(ApiError::NamedNotFound {
            what: "LLM connection",
            name: id,
        })?;
    Ok(Json(ConnectionView::from_connection(&connection)))
}

/// `DELETE /llm-connections/{id}`. Evaluators still naming it fail their jobs with
/// `connection_missing` until they are pointed at another connection.
pub(crate) async fn delete(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let evals = services(&state)?;
    if !evals
        .store
        .delete_connection(&caller.project_id, &id)
        .await?
    {
        return Err(ApiError::NamedNotFound {
            what: "LLM connection",
            name: id,
        });
    }
    Ok(Json(json!({ "message": "LLM connection deleted" })))
}
