//! `POST /ui/api/scores`: the trace page's annotate form. The UI holds no key pair, and
//! `POST /api/public/scores` belongs to the ingest router, which knows only Basic and Bearer
//! auth; so the form posts here, with the session cookie, and the score takes the same way
//! into the event log as an annotation queue's scores (`ApiState::score_writer`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use periscope_core::error::BackendError;
use periscope_core::langfuse::parse_score;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::{ApiError, Result};
use crate::state::ApiState;

/// Handles `POST /ui/api/scores`: one score object, as `POST /api/public/scores` takes it.
pub(crate) async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<Value>> {
    let value: Value = serde_json::from_slice(&body)
        .map_err(|error| ApiError::InvalidBody(format!("invalid json: {error}")))?;
    if value.get("configId").is_some_and(|id| !id.is_null()) {
        // Configured scores are checked against their config by the ingest edge only.
        return Err(ApiError::InvalidBody(
            "configId: scores with a config go to POST /api/public/scores".into(),
        ));
    }
    let score = parse_score(&value).map_err(|error| ApiError::InvalidBody(error.to_string()))?;
    let writer = state.score_writer.as_ref().ok_or_else(|| {
        ApiError::Backend(BackendError::Unavailable {
            backend: "score writer",
            message: "this process has no event log to write scores to".into(),
        })
    })?;
    writer
        .write_scores(&caller.project_id, std::slice::from_ref(&score))
        .await?;
    Ok(Json(json!({ "id": score.id })))
}
