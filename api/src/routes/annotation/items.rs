//! Items of an annotation queue:
//!
//! - `POST /annotation-queues/{queueId}/items` `{objectId, objectType, status?}` → item (the
//!   same object added twice returns the first item);
//! - `GET …/items?status=&page=&limit=` (oldest first) and `GET …/items/{itemId}`;
//! - `PATCH …/items/{itemId}` `{status?, scores?}`: `scores` (a Periscope addition) are the
//!   reviewer's scores, written with source `ANNOTATION` before the status changes;
//! - `DELETE …/items/{itemId}` → `{success, message}`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use chrono::Utc;
use periscope_core::annotation::{AnnotationObjectType, AnnotationQueueItem, AnnotationStatus};
use periscope_core::error::BackendError;
use periscope_core::ids::new_event_id;
use serde::Serialize;
use serde_json::{Value, json};

use super::body::{JsonObject, invalid};
use super::{find_queue, scores};
use crate::auth::Caller;
use crate::error::{ApiError, Result};
use crate::params::QueryParams;
use crate::state::ApiState;
use crate::views::{IsoTime, PageResponse, iso_opt};

const OBJECT_TYPES: &str = "TRACE, OBSERVATION, SESSION";
const STATUSES: &str = "PENDING, COMPLETED";

/// An item in Langfuse's `AnnotationQueueItem` shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ItemView {
    id: String,
    queue_id: String,
    object_id: String,
    object_type: &'static str,
    status: &'static str,
    completed_at: Option<IsoTime>,
    created_at: IsoTime,
    updated_at: IsoTime,
}

impl ItemView {
    fn from_item(item: &AnnotationQueueItem) -> Self {
        Self {
            id: item.id.clone(),
            queue_id: item.queue_id.clone(),
            object_id: item.object_id.clone(),
            object_type: item.object_type.as_str(),
            status: item.status.as_str(),
            completed_at: iso_opt(item.completed_at),
            created_at: IsoTime(item.created_at),
            updated_at: IsoTime(item.updated_at),
        }
    }
}

type ItemPath = Path<(String, String)>;

fn item_not_found() -> ApiError {
    ApiError::NotFound {
        what: "Annotation queue item",
    }
}

/// Handles `POST /annotation-queues/{queueId}/items`.
pub(super) async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    Path(queue_id): Path<String>,
    body: Bytes,
) -> Result<Json<ItemView>> {
    let queue = find_queue(&state, &caller, &queue_id).await?;
    let object = JsonObject::parse(&body)?;
    object.only(&["objectId", "objectType", "status"])?;
    let object_id = object.required_string("objectId")?;
    let object_type = object
        .optional_enum("objectType", AnnotationObjectType::parse, OBJECT_TYPES)?
        .ok_or_else(|| invalid(format!("objectType is required: one of {OBJECT_TYPES}")))?;
    let status = object
        .optional_enum("status", AnnotationStatus::parse, STATUSES)?
        .unwrap_or_default();
    let now = Utc::now();
    let item = AnnotationQueueItem {
        id: new_event_id(),
        project_id: caller.project_id.clone(),
        queue_id: queue.id,
        object_id,
        object_type,
        status,
        completed_at: (status == AnnotationStatus::Completed).then_some(now),
        created_at: now,
        updated_at: now,
    };
    let stored = state.annotations.add_item(&item).await?;
    Ok(Json(ItemView::from_item(&stored)))
}

/// Handles `GET /annotation-queues/{queueId}/items`.
pub(super) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    Path(queue_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<PageResponse<ItemView>>> {
    let params = QueryParams::parse(query.as_deref());
    let page = params.page()?;
    let status = params.parsed(
        "status",
        |value| AnnotationStatus::parse(&value.to_ascii_uppercase()),
        STATUSES,
    )?;
    find_queue(&state, &caller, &queue_id).await?;
    let items = state
        .annotations
        .list_items(&caller.project_id, &queue_id, status, page)
        .await?;
    let data = items.items.iter().map(ItemView::from_item).collect();
    Ok(Json(PageResponse::new(
        data,
        page.page,
        page.limit,
        items.total_items,
    )))
}

/// Handles `GET /annotation-queues/{queueId}/items/{itemId}`.
pub(super) async fn get_one(
    State(state): State<ApiState>,
    caller: Caller,
    Path((queue_id, item_id)): ItemPath,
) -> Result<Json<ItemView>> {
    let item = state
        .annotations
        .get_item(&caller.project_id, &queue_id, &item_id)
        .await?
        .ok_or_else(item_not_found)?;
    Ok(Json(ItemView::from_item(&item)))
}

/// Handles `PATCH /annotation-queues/{queueId}/items/{itemId}`.
pub(super) async fn update(
    State(state): State<ApiState>,
    caller: Caller,
    Path((queue_id, item_id)): ItemPath,
    body: Bytes,
) -> Result<Json<ItemView>> {
    let object = JsonObject::parse(&body)?;
    object.only(&["status", "scores"])?;
    let status = object.optional_enum("status", AnnotationStatus::parse, STATUSES)?;
    let queue = find_queue(&state, &caller, &queue_id).await?;
    let item = state
        .annotations
        .get_item(&caller.project_id, &queue_id, &item_id)
        .await?
        .ok_or_else(item_not_found)?;
    if let Some(given) = object.0.get("scores").filter(|scores| !scores.is_null()) {
        let given = given
            .as_array()
            .ok_or_else(|| invalid("scores must be a list of score objects"))?;
        let bodies = scores::annotation_scores(&state, &queue, &item, given).await?;
        let writer = state.score_writer.as_ref().ok_or_else(|| {
            ApiError::Backend(BackendError::Unavailable {
                backend: "score writer",
                message: "this process has no event log to write annotation scores to".into(),
            })
        })?;
        writer.write_scores(&caller.project_id, &bodies).await?;
    }
    let Some(status) = status else {
        return Ok(Json(ItemView::from_item(&item)));
    };
    let item = state
        .annotations
        .set_item_status(&caller.project_id, &queue_id, &item_id, status, Utc::now())
        .await?
        .ok_or_else(item_not_found)?;
    Ok(Json(ItemView::from_item(&item)))
}

/// Handles `DELETE /annotation-queues/{queueId}/items/{itemId}`.
pub(super) async fn delete(
    State(state): State<ApiState>,
    caller: Caller,
    Path((queue_id, item_id)): ItemPath,
) -> Result<Json<Value>> {
    let deleted = state
        .annotations
        .delete_item(&caller.project_id, &queue_id, &item_id)
        .await?;
    if !deleted {
        return Err(item_not_found());
    }
    Ok(Json(
        json!({ "success": true, "message": "Item removed from the annotation queue" }),
    ))
}
