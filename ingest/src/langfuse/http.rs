//! `POST /api/public/ingestion` (legacy batches, 207) and `POST /api/public/scores` (one score
//! or an array of them), answered exactly as Langfuse clients expect (WIRE-PROTOCOL.md §5, §11).

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use periscope_core::langfuse::{
    EnvelopeError, INVALID_REQUEST_MESSAGE, ScoreBody, parse_ingestion_batch, parse_score,
};
use periscope_core::log::LogRecord;
use serde_json::{Value, json};

use super::{Caller, EventOutcome, LegacyBatch, build_batch, score_record};
use crate::body::{authorization, content_encoding, decode_wire, read_body};
use crate::error::{IngestError, Result};
use crate::state::IngestState;

/// Handles a legacy ingestion batch.
pub(crate) async fn ingestion(
    State(state): State<IngestState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    state
        .with_timeout(ingest_batch(&state, &headers, body))
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn ingest_batch(state: &IngestState, headers: &HeaderMap, body: Body) -> Result<Response> {
    let encoding = content_encoding(headers)?;
    // Bearer keys pass here and are limited per event to score-create.
    let auth = state.authenticate(authorization(headers)).await?;
    let caller = Caller {
        project_id: auth.project_id,
        scope: auth.scope,
    };
    let (bytes, permit) = read_body(state, headers, body).await?;
    let (parsed, permit) = decode_wire(state, bytes, encoding, permit, move |bytes| {
        Ok(parse_ingestion_batch(bytes).map(|events| build_batch(events, &caller)))
    })
    .await?;
    let LegacyBatch { records, outcomes } = match parsed {
        Ok(batch) => batch,
        Err(error) => return Ok(envelope_error_response(&error)),
    };
    state.append(records).await?;
    drop(permit);
    Ok(multi_status(outcomes))
}

/// Returns 400 for a body that is not `{"batch": [...]}`.
fn envelope_error_response(error: &EnvelopeError) -> Response {
    tracing::debug!(%error, "rejected an ingestion batch");
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let details = error.to_string();
    let body = json!({ "message": error.message(), "error": details, "errors": [details] });
    (status, Json(body)).into_response()
}

/// Returns the 207 body: accepted events under `successes`, failed ones under `errors`, and
/// `sdk-log` events in neither.
fn multi_status(outcomes: Vec<(Option<String>, EventOutcome)>) -> Response {
    let mut successes = Vec::new();
    let mut errors = Vec::new();
    for (id, outcome) in outcomes {
        match outcome {
            EventOutcome::Accepted => successes.push(json!({ "id": id, "status": 201 })),
            EventOutcome::NotStored => {}
            EventOutcome::Rejected {
                status,
                message,
                error,
            } => errors
                .push(json!({ "id": id, "status": status, "message": message, "error": error })),
        }
    }
    let body = json!({ "successes": successes, "errors": errors });
    (StatusCode::MULTI_STATUS, Json(body)).into_response()
}

/// Handles `POST /api/public/scores`.
pub(crate) async fn scores(
    State(state): State<IngestState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    state
        .with_timeout(create_scores(&state, &headers, body))
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// A parsed `/scores` body: an array (202/207) or a single object (200/400).
enum ScoresRequest {
    Many {
        records: Vec<LogRecord>,
        errors: Vec<String>,
    },
    One {
        record: LogRecord,
        id: String,
    },
}

async fn create_scores(state: &IngestState, headers: &HeaderMap, body: Body) -> Result<Response> {
    let encoding = content_encoding(headers)?;
    // Bearer (scores-only) keys may create scores, so any valid key is enough here.
    let auth = state.authenticate(authorization(headers)).await?;
    let project_id = auth.project_id;
    let (bytes, permit) = read_body(state, headers, body).await?;
    let (request, permit) = decode_wire(state, bytes, encoding, permit, move |bytes| {
        parse_scores_request(bytes, &project_id)
    })
    .await?;
    let response = match request {
        ScoresRequest::One { record, id } => {
            state.append(vec![record]).await?;
            (StatusCode::OK, Json(json!({ "id": id }))).into_response()
        }
        ScoresRequest::Many { records, errors } => {
            let accepted = records.len();
            state.append(records).await?;
            if errors.is_empty() {
                (StatusCode::ACCEPTED, Json(json!({ "message": "Accepted" }))).into_response()
            } else {
                let errors: Vec<Value> = errors
                    .into_iter()
                    .map(|message| json!({ "message": message }))
                    .collect();
                let body =
                    json!({ "accepted": accepted, "rejected": errors.len(), "errors": errors });
                (StatusCode::MULTI_STATUS, Json(body)).into_response()
            }
        }
    };
    drop(permit);
    Ok(response)
}

/// Parses a score array (each element on its own) or a single score object.
fn parse_scores_request(bytes: &[u8], project_id: &str) -> Result<ScoresRequest> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|error| IngestError::InvalidBody(format!("body: invalid json: {error}")))?;
    match value {
        Value::Array(items) => {
            let mut records = Vec::with_capacity(items.len());
            let mut errors = Vec::new();
            for (index, item) in items.iter().enumerate() {
                match parse_score(item) {
                    Ok(score) => records.push(score_record(&score, project_id)),
                    Err(error) => {
                        errors.push(format!("[{index}]{}", error_path(&error.to_string())))
                    }
                }
            }
            Ok(ScoresRequest::Many { records, errors })
        }
        Value::Object(_) => {
            let score: ScoreBody = parse_score(&value).map_err(|error| {
                IngestError::InvalidBody(format!("{INVALID_REQUEST_MESSAGE}: {error}"))
            })?;
            Ok(ScoresRequest::One {
                record: score_record(&score, project_id),
                id: score.id,
            })
        }
        _ => Err(IngestError::InvalidBody(
            "body: expected a score object or an array of score objects".to_owned(),
        )),
    }
}

/// Joins an element index and a field error: `[2]` + `value: …` gives `[2].value: …`.
fn error_path(error: &str) -> String {
    if error.starts_with('[') {
        error.to_owned()
    } else {
        format!(".{error}")
    }
}
