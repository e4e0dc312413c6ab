//! `GET /api/public/health`: unauthenticated liveness of the API and its trace store.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::ApiState;

/// Answers 200 `{"status":"OK","version"}`, or 503 `{"status":"ERROR",...}` when the trace
/// store fails its healthcheck.
pub(crate) async fn health(State(state): State<ApiState>) -> Response {
    match state.traces.healthcheck().await {
        Ok(()) => Json(json!({"status": "OK", "version": state.version})).into_response(),
        Err(error) => {
            tracing::warn!(%error, "health check failed: the trace store is unavailable");
            let body = json!({
                "status": "ERROR",
                "version": state.version,
                "message": "the trace store is unavailable",
            });
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}
