//! Public sharing (docs/adr/0014-public-sharing.md):
//!
//! - `PATCH /traces/{id}` and `PATCH /sessions/{id}` with `{"public": true|false}` set the
//!   sharing toggle of the caller's object (Basic auth);
//! - `GET /share/traces/{id}` and `GET /share/sessions/{id}` need **no credentials** and return
//!   the same JSON as the authenticated detail reads, for public objects only.
//!
//! A trace is public when its toggle says so, or, without a toggle, when its record carries
//! `public: true`. A share request never learns more than "not found" about anything else.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::{get, patch};
use axum::{Json, Router};
use chrono::Utc;
use periscope_core::model::Trace;
use periscope_core::sharing::{RecordShareFlag, ShareObjectType, ShareResolution};
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::{ApiError, Result};
use crate::state::ApiState;
use crate::views::session::SessionDetailView;
use crate::views::trace::TraceDetailView;

/// A trace id without a share row is looked up in every project only up to this many
/// projects; beyond, record-flagged traces need the share rows the trace sink writes.
const MAX_FALLBACK_PROJECTS: usize = 64;

/// Returns the sharing routes.
pub(crate) fn router() -> Router<ApiState> {
    Router::new()
        .route("/api/public/traces/{id}", patch(set_trace_public))
        .route("/api/public/sessions/{id}", patch(set_session_public))
        .route("/api/public/share/traces/{id}", get(shared_trace))
        .route("/api/public/share/sessions/{id}", get(shared_session))
}

/// Parses `{"public": true|false}`; any other field is refused, so a caller does not believe
/// it changed something else.
fn parse_toggle(body: &[u8]) -> Result<bool> {
    let object = match serde_json::from_slice(body) {
        Ok(Value::Object(object)) => object,
        Ok(_) => return Err(ApiError::InvalidBody("body must be a JSON object".into())),
        Err(error) => {
            return Err(ApiError::InvalidBody(format!(
                "body is not valid JSON: {error}"
            )));
        }
    };
    if let Some(other) = object.keys().find(|key| key.as_str() != "public") {
        return Err(ApiError::InvalidBody(format!(
            "{other} cannot be changed here; only public (true or false) can"
        )));
    }
    match object.get("public") {
        Some(Value::Bool(public)) => Ok(*public),
        _ => Err(ApiError::InvalidBody(
            "public is required and must be true or false".into(),
        )),
    }
}

async fn set_public(
    state: &ApiState,
    caller: &Caller,
    object_type: ShareObjectType,
    object_id: &str,
    body: &[u8],
) -> Result<Json<Value>> {
    let public = parse_toggle(body)?;
    state
        .shares
        .set_public(
            &caller.project_id,
            object_type,
            object_id,
            public,
            Utc::now(),
        )
        .await?;
    Ok(Json(json!({ "id": object_id, "public": public })))
}

/// Handles `PATCH /traces/{id}`.
async fn set_trace_public(
    State(state): State<ApiState>,
    caller: Caller,
    Path(trace_id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>> {
    set_public(&state, &caller, ShareObjectType::Trace, &trace_id, &body).await
}

/// Handles `PATCH /sessions/{id}`.
async fn set_session_public(
    State(state): State<ApiState>,
    caller: Caller,
    Path(session_id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>> {
    set_public(
        &state,
        &caller,
        ShareObjectType::Session,
        &session_id,
        &body,
    )
    .await
}

/// Handles `GET /share/traces/{id}` (no credentials).
async fn shared_trace(
    State(state): State<ApiState>,
    Path(trace_id): Path<String>,
) -> Result<Json<TraceDetailView>> {
    let not_found = ApiError::NotFound { what: "Trace" };
    let mut trace = match state
        .shares
        .resolve(ShareObjectType::Trace, &trace_id)
        .await?
    {
        ShareResolution::Public { project_id } => state
            .traces
            .get_trace(&project_id, &trace_id)
            .await?
            .ok_or(not_found)?,
        ShareResolution::NotPublic => return Err(not_found),
        ShareResolution::Unknown => find_flagged_trace(&state, &trace_id)
            .await?
            .ok_or(not_found)?,
    };
    let project_id = trace.record.project_id.clone();
    super::scores::apply_config_values(&state, &project_id, &mut trace.scores).await?;
    let mut view = TraceDetailView::from_trace(&trace);
    view.trace.public = true;
    Ok(Json(view))
}

/// Finds a trace whose record says `public: true` when no share row names it yet (the trace
/// sink may not report record flags), and remembers it so the next request needs no search.
async fn find_flagged_trace(state: &ApiState, trace_id: &str) -> Result<Option<Trace>> {
    let projects = state.meta.list_projects().await?;
    if projects.len() > MAX_FALLBACK_PROJECTS {
        return Ok(None);
    }
    let mut found = None;
    for project in &projects {
        let Some(trace) = state.traces.get_trace(&project.id, trace_id).await? else {
            continue;
        };
        if trace.record.public != Some(true) {
            continue;
        }
        if found.is_some() {
            // Two projects publish the same id: refuse rather than guess (see `ShareStore`).
            return Ok(None);
        }
        found = Some(trace);
    }
    if let Some(trace) = &found {
        let flag = RecordShareFlag {
            project_id: trace.record.project_id.clone(),
            trace_id: trace_id.to_owned(),
            public: true,
        };
        state
            .shares
            .record_public_flags(&[flag], Utc::now())
            .await?;
    }
    Ok(found)
}

/// Handles `GET /share/sessions/{id}` (no credentials).
async fn shared_session(
    State(state): State<ApiState>,
    Path(session_id): Path<String>,
) -> Result<Json<SessionDetailView>> {
    let not_found = ApiError::NotFound { what: "Session" };
    let ShareResolution::Public { project_id } = state
        .shares
        .resolve(ShareObjectType::Session, &session_id)
        .await?
    else {
        return Err(not_found);
    };
    let session = state
        .traces
        .get_session(&project_id, &session_id)
        .await?
        .ok_or(not_found)?;
    Ok(Json(SessionDetailView::from_session(&session)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_toggle_body_must_be_exactly_a_public_boolean() {
        assert!(parse_toggle(br#"{"public": true}"#).unwrap());
        assert!(!parse_toggle(br#"{"public": false}"#).unwrap());
        for (body, named) in [
            (&br#"{"public": "yes"}"#[..], "public"),
            (br#"{}"#, "public"),
            (br#"{"public": true, "name": "x"}"#, "name"),
            (br#"[true]"#, "object"),
            (br#"{"#, "JSON"),
        ] {
            let error = parse_toggle(body).unwrap_err().to_string();
            assert!(error.contains(named), "{error}");
        }
    }

    #[test]
    fn the_sharing_routes_merge_with_the_authenticated_reads() {
        // The authenticated `GET /traces/{id}` lives in the main route table; axum panics on
        // overlapping method routes, so this checks that PATCH merges with it.
        let main: Router<ApiState> = Router::new()
            .route("/api/public/traces/{id}", get(|| async {}))
            .route("/api/public/sessions/{id}", get(|| async {}));
        let _merged = main.merge(router());
    }
}
