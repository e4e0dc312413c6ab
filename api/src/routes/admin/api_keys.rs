//! `/projects/{projectId}/apiKeys`: list, create and revoke a project's API keys.
//!
//! A revoked key stops authenticating as soon as the authenticator's cache forgets it, at
//! most `auth.cache_ttl` later (the cache holds keys by the hash of the pair, which the
//! revoking request does not know).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use std::sync::Arc;

use periscope_core::error::BackendError;
use periscope_core::sharing::api_keys::{ApiKeyAdmin, ApiKeyEntry, generate_api_key};
use serde::Serialize;
use serde_json::{Value, json};

use super::AdminCaller;
use crate::error::{ApiError, Result};
use crate::state::ApiState;
use crate::views::IsoTime;

/// Longest note accepted on a key.
const MAX_NOTE_CHARS: usize = 1000;

/// A key in Langfuse's `ApiKeySummary` shape (never the secret).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiKeySummary {
    id: String,
    created_at: IsoTime,
    expires_at: Option<IsoTime>,
    last_used_at: Option<IsoTime>,
    note: Option<String>,
    public_key: String,
    display_secret_key: String,
}

impl ApiKeySummary {
    fn from_entry(entry: &ApiKeyEntry) -> Self {
        Self {
            id: entry.key.id.clone(),
            created_at: IsoTime(entry.key.created_at),
            // Periscope keys do not expire and their use is not tracked.
            expires_at: None,
            last_used_at: None,
            note: entry.note.clone(),
            public_key: entry.key.public_key.clone(),
            display_secret_key: entry.key.display_secret.clone(),
        }
    }
}

/// Returns the key administration of the meta store, or 503 where it has none.
fn key_admin(state: &ApiState) -> Result<&Arc<dyn ApiKeyAdmin>> {
    state.api_keys.as_ref().ok_or_else(|| {
        ApiError::Backend(BackendError::Unavailable {
            backend: "meta store",
            message: "api key administration is not available on this meta store".into(),
        })
    })
}

async fn require_project(state: &ApiState, project_id: &str) -> Result<()> {
    match state.meta.get_project(project_id).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::NotFound { what: "Project" }),
    }
}

/// Parses `{"note"?: string}`; an empty body is no note.
fn parse_note(body: &[u8]) -> Result<Option<String>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let object = match serde_json::from_slice(body) {
        Ok(Value::Object(object)) => object,
        Ok(_) => return Err(ApiError::InvalidBody("body must be a JSON object".into())),
        Err(error) => {
            return Err(ApiError::InvalidBody(format!(
                "body is not valid JSON: {error}"
            )));
        }
    };
    if let Some(other) = object.keys().find(|key| key.as_str() != "note") {
        return Err(ApiError::InvalidBody(format!(
            "{other} is not a known field (expected: note)"
        )));
    }
    match object.get("note") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(note)) if note.chars().count() <= MAX_NOTE_CHARS => {
            Ok(Some(note.clone()))
        }
        Some(Value::String(_)) => Err(ApiError::InvalidBody(format!(
            "note has more than {MAX_NOTE_CHARS} characters"
        ))),
        Some(_) => Err(ApiError::InvalidBody("note must be a string".into())),
    }
}

/// Handles `GET /projects/{projectId}/apiKeys`.
pub(super) async fn list(
    State(state): State<ApiState>,
    caller: AdminCaller,
    Path(project_id): Path<String>,
) -> Result<Json<Value>> {
    caller.authorize(&project_id)?;
    require_project(&state, &project_id).await?;
    let keys = key_admin(&state)?.list_api_keys(&project_id).await?;
    let keys: Vec<ApiKeySummary> = keys.iter().map(ApiKeySummary::from_entry).collect();
    Ok(Json(json!({ "apiKeys": keys })))
}

/// Handles `POST /projects/{projectId}/apiKeys`.
pub(super) async fn create(
    State(state): State<ApiState>,
    caller: AdminCaller,
    Path(project_id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>> {
    caller.authorize(&project_id)?;
    let note = parse_note(&body)?;
    require_project(&state, &project_id).await?;
    let new = generate_api_key(&project_id, note).map_err(|error| {
        ApiError::Backend(BackendError::Unavailable {
            backend: "random number generator",
            message: error.to_string(),
        })
    })?;
    key_admin(&state)?.create_api_key(&new.entry).await?;
    let key = &new.entry.key;
    tracing::info!(project_id, public_key = %key.public_key, "created an api key");
    Ok(Json(json!({
        "id": key.id,
        "createdAt": IsoTime(key.created_at),
        "publicKey": key.public_key,
        "secretKey": new.secret_key,
        "displaySecretKey": key.display_secret,
        "note": new.entry.note,
    })))
}

/// Handles `DELETE /projects/{projectId}/apiKeys/{apiKeyId}`.
pub(super) async fn revoke(
    State(state): State<ApiState>,
    caller: AdminCaller,
    Path((project_id, key_id)): Path<(String, String)>,
) -> Result<Json<Value>> {
    caller.authorize(&project_id)?;
    let revoked = key_admin(&state)?
        .revoke_api_key(&project_id, &key_id)
        .await?;
    let key = revoked.ok_or(ApiError::NotFound { what: "API key" })?;
    tracing::info!(project_id, public_key = %key.public_key, "revoked an api key");
    Ok(Json(json!({ "success": true })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_is_optional_and_checked() {
        assert_eq!(parse_note(b"").unwrap(), None);
        assert_eq!(parse_note(b"{}").unwrap(), None);
        assert_eq!(
            parse_note(br#"{"note": "ci"}"#).unwrap(),
            Some("ci".to_owned())
        );
        for body in [&br#"{"note": 3}"#[..], br#"{"nope": "x"}"#, b"[]"] {
            assert!(parse_note(body).is_err());
        }
        let long = format!(r#"{{"note": "{}"}}"#, "x".repeat(MAX_NOTE_CHARS + 1));
        assert!(parse_note(long.as_bytes()).is_err());
    }
}
