//! Annotation queues, Langfuse-compatible (`/api/public/annotation-queues`):
//!
//! - `POST /annotation-queues` `{name, description?, scoreConfigIds}` → AnnotationQueue;
//!   `GET /annotation-queues` (paged, oldest first) and `GET /annotation-queues/{queueId}`;
//! - items: `items.rs`; assignments: `assignments.rs`.
//!
//! Everything is scoped to the caller's project. Queue names are unique per project; every
//! `scoreConfigIds` entry must name a score config of the project.

mod assignments;
mod body;
mod items;
mod scores;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use periscope_core::annotation::{AnnotationQueue, QueueCreated};
use periscope_core::ids::new_event_id;
use serde::Serialize;

use crate::auth::Caller;
use crate::error::{ApiError, Result};
use crate::params::QueryParams;
use crate::state::ApiState;
use crate::views::{IsoTime, PageResponse};

use body::{JsonObject, invalid};

/// Returns the annotation queue routes.
pub(crate) fn router() -> Router<ApiState> {
    Router::new()
        .route("/api/public/annotation-queues", get(list).post(create))
        .route("/api/public/annotation-queues/{queue_id}", get(get_one))
        .route(
            "/api/public/annotation-queues/{queue_id}/items",
            get(items::list).post(items::create),
        )
        .route(
            "/api/public/annotation-queues/{queue_id}/items/{item_id}",
            get(items::get_one)
                .patch(items::update)
                .delete(items::delete),
        )
        .route(
            "/api/public/annotation-queues/{queue_id}/assignments",
            get(assignments::list)
                .post(assignments::create)
                .delete(assignments::delete),
        )
}

/// A queue in Langfuse's `AnnotationQueue` shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct QueueView {
    id: String,
    name: String,
    description: Option<String>,
    score_config_ids: Vec<String>,
    created_at: IsoTime,
    updated_at: IsoTime,
}

impl QueueView {
    fn from_queue(queue: &AnnotationQueue) -> Self {
        Self {
            id: queue.id.clone(),
            name: queue.name.clone(),
            description: queue.description.clone(),
            score_config_ids: queue.score_config_ids.clone(),
            created_at: IsoTime(queue.created_at),
            updated_at: IsoTime(queue.updated_at),
        }
    }
}

/// Returns the caller's queue, or 404.
async fn find_queue(state: &ApiState, caller: &Caller, queue_id: &str) -> Result<AnnotationQueue> {
    state
        .annotations
        .get_queue(&caller.project_id, queue_id)
        .await?
        .ok_or(ApiError::NotFound {
            what: "Annotation queue",
        })
}

/// Handles `POST /annotation-queues`.
async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<QueueView>> {
    let object = JsonObject::parse(&body)?;
    object.only(&["name", "description", "scoreConfigIds"])?;
    let name = object.required_string("name")?;
    let description = object.optional_string("description")?;
    let score_config_ids = object.string_list("scoreConfigIds")?;
    for config_id in &score_config_ids {
        let config = state
            .score_configs
            .get_score_config(&caller.project_id, config_id)
            .await?;
        if config.is_none() {
            return Err(invalid(format!(
                "scoreConfigIds: {config_id:?} does not name a score config of this project"
            )));
        }
    }
    let now = Utc::now();
    let queue = AnnotationQueue {
        id: new_event_id(),
        project_id: caller.project_id.clone(),
        name,
        description,
        score_config_ids,
        created_at: now,
        updated_at: now,
    };
    match state.annotations.create_queue(&queue).await? {
        QueueCreated::Created(queue) => Ok(Json(QueueView::from_queue(&queue))),
        QueueCreated::NameTaken => Err(ApiError::Rejected(format!(
            "name: an annotation queue named {:?} already exists in this project",
            queue.name
        ))),
    }
}

/// Handles `GET /annotation-queues`.
async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<PageResponse<QueueView>>> {
    let params = QueryParams::parse(query.as_deref());
    let page = params.page()?;
    let queues = state
        .annotations
        .list_queues(&caller.project_id, page)
        .await?;
    let data = queues.items.iter().map(QueueView::from_queue).collect();
    Ok(Json(PageResponse::new(
        data,
        page.page,
        page.limit,
        queues.total_items,
    )))
}

/// Handles `GET /annotation-queues/{queueId}`.
async fn get_one(
    State(state): State<ApiState>,
    caller: Caller,
    Path(queue_id): Path<String>,
) -> Result<Json<QueueView>> {
    let queue = find_queue(&state, &caller, &queue_id).await?;
    Ok(Json(QueueView::from_queue(&queue)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_annotation_routes_build() {
        let _routes: Router<ApiState> = router();
    }
}
