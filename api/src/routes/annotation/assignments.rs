//! Assignments of users to an annotation queue: `POST` and `DELETE
//! /annotation-queues/{queueId}/assignments` with `{userId}` (Langfuse), and `GET` of the
//! assigned users (a Periscope addition). Periscope has no user accounts, so any user id the
//! caller's tooling uses is accepted.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use chrono::Utc;
use periscope_core::annotation::QueueAssignment;
use serde_json::{Value, json};

use super::body::JsonObject;
use super::find_queue;
use crate::auth::Caller;
use crate::error::Result;
use crate::state::ApiState;
use crate::views::IsoTime;

fn parse_user_id(body: &[u8]) -> Result<String> {
    let object = JsonObject::parse(body)?;
    object.only(&["userId"])?;
    object.required_string("userId")
}

/// Handles `POST /annotation-queues/{queueId}/assignments`.
pub(super) async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    Path(queue_id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>> {
    let user_id = parse_user_id(&body)?;
    let queue = find_queue(&state, &caller, &queue_id).await?;
    let assignment = QueueAssignment {
        project_id: caller.project_id.clone(),
        queue_id: queue.id,
        user_id,
        created_at: Utc::now(),
    };
    state.annotations.assign(&assignment).await?;
    Ok(Json(json!({
        "userId": assignment.user_id,
        "queueId": assignment.queue_id,
        "projectId": assignment.project_id,
    })))
}

/// Handles `DELETE /annotation-queues/{queueId}/assignments` (idempotent).
pub(super) async fn delete(
    State(state): State<ApiState>,
    caller: Caller,
    Path(queue_id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>> {
    let user_id = parse_user_id(&body)?;
    find_queue(&state, &caller, &queue_id).await?;
    state
        .annotations
        .unassign(&caller.project_id, &queue_id, &user_id)
        .await?;
    Ok(Json(json!({ "success": true })))
}

/// Handles `GET /annotation-queues/{queueId}/assignments`.
pub(super) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    Path(queue_id): Path<String>,
) -> Result<Json<Value>> {
    find_queue(&state, &caller, &queue_id).await?;
    let assignments = state
        .annotations
        .list_assignments(&caller.project_id, &queue_id)
        .await?;
    let data: Vec<Value> = assignments
        .iter()
        .map(|assignment| {
            json!({
                "userId": assignment.user_id,
                "queueId": assignment.queue_id,
                "projectId": assignment.project_id,
                "createdAt": IsoTime(assignment.created_at),
            })
        })
        .collect();
    Ok(Json(json!({ "data": data })))
}
