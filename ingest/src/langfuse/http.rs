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
use serde_json::{Value, json};

use super::configs::ConfigChecker;
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
    let size = bytes.len();
    let (parsed, permit) = decode_wire(state, bytes, encoding, permit, move |bytes| {
        Ok(parse_ingestion_batch(bytes))
    })
    .await?;
    let mut events = match parsed {
        Ok(events) => events,
        Err(error) => return Ok(envelope_error_response(&error)),
    };
    if let Some(store) = state.score_configs() {
        ConfigChecker::new(store.clone(), &caller.project_id)
            .check_events(&mut events)
            .await?;
    }
    let project_id = caller.project_id.clone();
    let LegacyBatch {
        records,
        envelope_ids,
        outcomes,
    } = state
        .run_decode(size, true, move || Ok(build_batch(events, &caller)))
        .await?;
    state
        .append_once(&project_id, records, &envelope_ids)
        .await?;
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

/// A parsed `/scores` body: an array (202/207) or a single object (200/400). Each score
/// carries whether its `dataType` was given (a config check compares only a given type).
enum ScoresRequest {
    Many {
        scores: Vec<(usize, ScoreBody, bool)>,
        errors: Vec<String>,
    },
    One {
        score: Box<ScoreBody>,
        explicit_type: bool,
    },
}

async fn create_scores(state: &IngestState, headers: &HeaderMap, body: Body) -> Result<Response> {
    let encoding = content_encoding(headers)?;
    // Bearer (scores-only) keys may create scores, so any valid key is enough here.
    let auth = state.authenticate(authorization(headers)).await?;
    let project_id = auth.project_id;
    let (bytes, permit) = read_body(state, headers, body).await?;
    let (request, permit) =
        decode_wire(state, bytes, encoding, permit, parse_scores_request).await?;
    let mut checker = state
        .score_configs()
        .map(|store| ConfigChecker::new(store.clone(), &project_id));
    let response = match request {
        ScoresRequest::One {
            mut score,
            explicit_type,
        } => {
            if let Some(checker) = &mut checker
                && let Err(message) = checker.check(&mut score, explicit_type).await?
            {
                return Err(IngestError::InvalidBody(format!(
                    "{INVALID_REQUEST_MESSAGE}: {message}"
                )));
            }
            state
                .append(vec![score_record(&score, &project_id)])
                .await?;
            (StatusCode::OK, Json(json!({ "id": score.id }))).into_response()
        }
        ScoresRequest::Many { scores, mut errors } => {
            let mut records = Vec::with_capacity(scores.len());
            for (index, mut score, explicit_type) in scores {
                if let Some(checker) = &mut checker
                    && let Err(message) = checker.check(&mut score, explicit_type).await?
                {
                    errors.push(format!("[{index}]: {message}"));
                    continue;
                }
                records.push(score_record(&score, &project_id));
            }
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
fn parse_scores_request(bytes: &[u8]) -> Result<ScoresRequest> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|error| IngestError::InvalidBody(format!("body: invalid json: {error}")))?;
    let explicit_type = |item: &Value| item.get("dataType").is_some_and(|t| !t.is_null());
    match value {
        Value::Array(items) => {
            let mut scores = Vec::with_capacity(items.len());
            let mut errors = Vec::new();
            for (index, item) in items.iter().enumerate() {
                match parse_score(item) {
                    Ok(score) => scores.push((index, score, explicit_type(item))),
                    Err(error) => {
                        errors.push(format!("[{index}]{}", error_path(&error.to_string())))
                    }
                }
            }
            Ok(ScoresRequest::Many { scores, errors })
        }
        Value::Object(_) => {
            let score: ScoreBody = parse_score(&value).map_err(|error| {
                IngestError::InvalidBody(format!("{INVALID_REQUEST_MESSAGE}: {error}"))
            })?;
            Ok(ScoresRequest::One {
                explicit_type: explicit_type(&value),
                score: Box::new(score),
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
