//! Evaluators, LLM-as-a-judge (docs/adr/0013-evaluators.md):
//!
//! - `/llm-connections`: OpenAI-compatible endpoints; the API key is sealed with
//!   `PERISCOPE_ENCRYPTION_KEY` and only ever shown as a masked preview;
//! - `/evaluator-templates`: judge prompts, built-in and per project, versioned by name;
//! - `/evaluators`: what to judge, how often and with which model; every `PATCH` is a new
//!   version; `/evaluators/{id}/funnel` and `/evaluators/{id}/jobs` show what happened;
//! - `/evaluators/{id}/backfills`: the evaluator over history, estimated first, with
//!   progress, pause, resume and cancel.
//!
//! Handlers are thin: the logic functions take the [`EvalServices`] and the caller's project,
//! so tests run them against a real store without a whole server.

mod backfills;
mod connections;
mod crud;
mod jobs;
mod templates;
#[cfg(test)]
mod tests;

use axum::Router;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use periscope_core::evals::EvalServices;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, Result};
use crate::state::ApiState;

/// Returns the evaluator routes, merged into the API's route table.
pub(crate) fn router() -> Router<ApiState> {
    Router::new()
        .route(
            "/api/public/llm-connections",
            get(connections::list).post(connections::create),
        )
        .route(
            "/api/public/llm-connections/{id}",
            get(connections::get_one).delete(connections::delete),
        )
        .route(
            "/api/public/evaluator-templates",
            get(templates::list).post(templates::create),
        )
        .route(
            "/api/public/evaluator-templates/{name}",
            get(templates::get_one),
        )
        .route("/api/public/evaluators", get(crud::list).post(crud::create))
        .route(
            "/api/public/evaluators/{id}",
            get(crud::get_one).patch(crud::update).delete(crud::delete),
        )
        .route("/api/public/evaluators/{id}/funnel", get(jobs::funnel))
        .route("/api/public/evaluators/{id}/jobs", get(jobs::list))
        .route(
            "/api/public/evaluators/{id}/backfills",
            get(backfills::list).post(backfills::create),
        )
        .route(
            "/api/public/evaluators/{id}/backfills/{backfill_id}",
            get(backfills::get_one),
        )
        .route(
            "/api/public/evaluators/{id}/backfills/{backfill_id}/pause",
            post(backfills::pause),
        )
        .route(
            "/api/public/evaluators/{id}/backfills/{backfill_id}/resume",
            post(backfills::resume),
        )
        .route(
            "/api/public/evaluators/{id}/backfills/{backfill_id}/cancel",
            post(backfills::cancel),
        )
}

/// Returns the evaluator services, or why this server has none.
fn services(state: &ApiState) -> Result<&EvalServices> {
    state.evals.as_ref().ok_or_else(|| {
        ApiError::Rejected(
            "evaluators are not available on this server: its meta store has no evaluator \
             storage (run with the embedded SQLite meta store)"
                .to_owned(),
        )
    })
}

/// Returns `now` at the microsecond precision the stores keep, so a created object equals
/// its re-read.
fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// Parses a JSON body; serde's message names the offending field.
fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|error| ApiError::InvalidBody(error.to_string()))
}
