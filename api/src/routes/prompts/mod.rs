//! Prompt management, Langfuse-compatible (`/api/public/v2/prompts`, WIRE-PROTOCOL.md §7):
//!
//! - `POST /v2/prompts` creates the next version of a name (201 + Prompt, as stored);
//! - `GET /v2/prompts` lists names (`name`, `label`, `tag`, `fromUpdatedAt`, `toUpdatedAt`,
//!   `page`, `limit`);
//! - `GET /v2/prompts/{name}[?label=|?version=]` reads one version (default label
//!   `production`) with `@@@langfusePrompt:…@@@` references resolved (`resolve=false` skips
//!   that);
//! - `PATCH /v2/prompts/{name}/versions/{version}` with `{"newLabels": [...]}` adds labels;
//! - `DELETE /v2/prompts/{name}[?label=|?version=]` deletes versions (204);
//! - `GET /v2/prompts/{name}/metrics` returns per-version usage (`metrics.rs`).
//!
//! Names may contain `/` (folders), sent encoded (`a%2Fb`) or not; the path is decoded once.

mod cache;
#[cfg(test)]
mod fake;
mod metrics;
mod protected;
mod request;
mod view;

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use periscope_core::prompts::compose::{ResolveError, resolve};
use periscope_core::prompts::{
    Prompt, PromptError, PromptListFilter, PromptSelector, PromptStore, get_prompt,
};
use periscope_core::store::PageRequest;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, Result};
use crate::params::{MAX_LIMIT, QueryParams};
use crate::state::ApiState;
use crate::views::PageResponse;

pub(crate) use cache::CachedPromptStore;
use request::{parse_create, parse_deletion, parse_new_labels, parse_selector, parse_version_path};
use view::{PromptMetaView, PromptView};

/// Page size of the list when the client gives none (Langfuse's default).
const DEFAULT_LIST_LIMIT: u64 = 10;

const PROMPT: &str = "Prompt";

impl From<PromptError> for ApiError {
    fn from(error: PromptError) -> Self {
        match error {
            PromptError::Rejected(message) => Self::Rejected(message),
            PromptError::NotFound { .. } => Self::NotFound { what: PROMPT },
            PromptError::Backend(error) => Self::Backend(error),
        }
    }
}

impl From<ResolveError> for ApiError {
    fn from(error: ResolveError) -> Self {
        match error {
            ResolveError::Backend(error) => Self::Backend(error),
            other => Self::Rejected(other.to_string()),
        }
    }
}

/// Returns `store` behind the in-process prompt cache, sharing invalidations through
/// `shared` when several api processes serve the same prompts.
pub(crate) fn cached(
    store: Arc<dyn PromptStore>,
    shared: Option<Arc<dyn periscope_core::cache::Cache>>,
) -> Arc<dyn PromptStore> {
    let cache = CachedPromptStore::new(store);
    match shared {
        Some(shared) => Arc::new(cache.with_shared(shared)),
        None => Arc::new(cache),
    }
}

/// Creates a version from a body, after checking that its references resolve.
async fn create_prompt(
    store: &dyn PromptStore,
    project_id: &str,
    body: &[u8],
    id: String,
    now: DateTime<Utc>,
) -> Result<PromptView> {
    let new = parse_create(body, project_id, id, now)?;
    if !new.dependencies.is_empty() {
        // Resolve as the version-to-be, so a missing, chat or circular reference is a 400
        // now rather than a broken prompt later.
        let draft = Prompt {
            id: new.id.clone(),
            project_id: new.project_id.clone(),
            name: new.name.clone(),
            version: 0,
            prompt_type: new.prompt_type,
            prompt: new.prompt.clone(),
            config: new.config.clone(),
            labels: Vec::new(),
            tags: Vec::new(),
            commit_message: None,
            created_at: now,
            updated_at: now,
            created_by: new.created_by.clone(),
        };
        resolve(store, &draft).await.map_err(|error| match error {
            ResolveError::Backend(error) => ApiError::Backend(error),
            other => ApiError::InvalidBody(format!("prompt: {other}")),
        })?;
    }
    let created = store.create_version(new).await?;
    Ok(PromptView::stored(&created))
}

/// Reads one version, resolving its references unless `resolve_references` is false.
async fn read_prompt(
    store: &dyn PromptStore,
    project_id: &str,
    name: &str,
    selector: &PromptSelector,
    resolve_references: bool,
) -> Result<PromptView> {
    let version = get_prompt(store, project_id, name, selector)
        .await?
        .ok_or(ApiError::NotFound { what: PROMPT })?;
    if !resolve_references {
        return Ok(PromptView::stored(&version));
    }
    let resolved = resolve(store, &version).await?;
    Ok(PromptView::new(&version, resolved.prompt, resolved.graph))
}

/// `POST /api/public/v2/prompts`: creates the next version of a name.
pub(crate) async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<PromptView>)> {
    if !state.protected_labels.is_empty() {
        let labels = parse_create(&body, &caller.project_id, String::new(), Utc::now())?.labels;
        protected::check_labels(&state, &headers, &labels)?;
    }
    let id = Uuid::now_v7().to_string();
    let view = create_prompt(
        state.prompts.as_ref(),
        &caller.project_id,
        &body,
        id,
        Utc::now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Returns the filters and page of `GET /api/public/v2/prompts`.
fn list_query(query: &QueryParams) -> Result<(PromptListFilter, PageRequest)> {
    let limit = query
        .positive_integer("limit")?
        .unwrap_or(DEFAULT_LIST_LIMIT);
    if limit > MAX_LIMIT {
        return Err(ApiError::parameter(
            "limit",
            format!("must be at most {MAX_LIMIT}, got {limit}"),
        ));
    }
    let page = PageRequest {
        page: query.positive_integer("page")?.unwrap_or(1),
        limit,
    };
    let filter = PromptListFilter {
        name: query.string("name"),
        label: query.string("label"),
        tag: query.string("tag"),
        from_updated_at: query.datetime("fromUpdatedAt")?,
        to_updated_at: query.datetime("toUpdatedAt")?,
    };
    Ok((filter, page))
}

/// `GET /api/public/v2/prompts`: one page of names with their versions and labels.
pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<PageResponse<PromptMetaView>>> {
    let (filter, page) = list_query(&QueryParams::parse(query.as_deref()))?;
    let found = state
        .prompts
        .list(&caller.project_id, &filter, page)
        .await?;
    let data = found.items.iter().map(PromptMetaView::from).collect();
    Ok(Json(PageResponse::new(
        data,
        page.page,
        page.limit,
        found.total_items,
    )))
}

/// `GET /api/public/v2/prompts/{name}`: one version, by label (default `production`) or number;
/// `GET /api/public/v2/prompts/{name}/metrics`: the prompt's per-version usage.
pub(crate) async fn get_one(
    State(state): State<ApiState>,
    caller: Caller,
    uri: Uri,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let query = QueryParams::parse(query.as_deref());
    if let Some(prompt) = metrics::metrics_prompt_name(uri.path(), &name) {
        let response =
            metrics::prompt_metrics(state.traces.as_ref(), &caller.project_id, prompt, &query)
                .await?;
        return Ok(Json(response).into_response());
    }
    let selector = parse_selector(&query)?;
    let resolve_references = query.boolean("resolve")?.unwrap_or(true);
    let view = read_prompt(
        state.prompts.as_ref(),
        &caller.project_id,
        &name,
        &selector,
        resolve_references,
    )
    .await?;
    Ok(Json(view).into_response())
}

/// `PATCH /api/public/v2/prompts/{name}/versions/{version}`: adds labels to a version.
pub(crate) async fn update_labels(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    Path(path): Path<String>,
    body: Bytes,
) -> Result<Json<PromptView>> {
    let (name, version) = parse_version_path(&path)?;
    let labels = parse_new_labels(&body)?;
    protected::check_labels(&state, &headers, &labels)?;
    let updated = state
        .prompts
        .update_labels(&caller.project_id, &name, version, &labels)
        .await?;
    Ok(Json(PromptView::stored(&updated)))
}

/// `DELETE /api/public/v2/prompts/{name}`: deletes all versions, one (`?version=`) or the one
/// with a label (`?label=`).
pub(crate) async fn delete(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<StatusCode> {
    let target = parse_deletion(&QueryParams::parse(query.as_deref()))?;
    protected::check_deletion(&state, &headers, &caller.project_id, &name, &target).await?;
    state
        .prompts
        .delete(&caller.project_id, &name, &target)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests;
