//! `POST /api/public/projects` `{name, id?}`: creates a project (admin token only; a project's
//! keys cannot create other projects). Idempotent for the same id. The new project has no key
//! yet: create one with `POST /projects/{projectId}/apiKeys`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::AdminCaller;
use crate::error::{ApiError, Result};
use crate::state::ApiState;

/// Longest project name accepted.
const MAX_NAME_CHARS: usize = 200;

pub(crate) async fn create(
    State(state): State<ApiState>,
    caller: AdminCaller,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>)> {
    if caller != AdminCaller::Admin {
        return Err(ApiError::Forbidden(
            "creating projects needs the admin token (Authorization: Bearer \
             <PERISCOPE_ADMIN_TOKEN>)"
                .into(),
        ));
    }
    let (name, id) = parse(&body)?;
    let project = state.meta.upsert_project(&id, &name).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": project.id, "name": project.name, "metadata": {}})),
    ))
}

/// Reads `{name, id?}`; the id defaults to the name in lower-case kebab form.
fn parse(body: &[u8]) -> Result<(String, String)> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| ApiError::InvalidBody(format!("body is not valid JSON: {error}")))?;
    let name = value
        .get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|name| !name.is_empty() && name.chars().count() <= MAX_NAME_CHARS)
        .ok_or_else(|| {
            ApiError::InvalidBody(format!(
                "name: a non-empty string of at most {MAX_NAME_CHARS} characters is required"
            ))
        })?;
    let id = match value.get("id") {
        None | Some(Value::Null) => periscope_core::ids::project_slug(name),
        Some(Value::String(id)) if valid_id(id) => id.clone(),
        Some(_) => {
            return Err(ApiError::InvalidBody(
                "id: use 1-64 characters of a-z, 0-9, '-' and '_'".into(),
            ));
        }
    };
    if !valid_id(&id) {
        return Err(ApiError::InvalidBody(
            "name: cannot derive a project id from it; give an id (a-z, 0-9, '-', '_')".into(),
        ));
    }
    Ok((name.to_owned(), id))
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids_are_checked_and_ids_derived() {
        assert_eq!(
            parse(br#"{"name":"My App"}"#).unwrap(),
            ("My App".to_owned(), "my-app".to_owned())
        );
        assert_eq!(parse(br#"{"name":"x","id":"team_1"}"#).unwrap().1, "team_1");
        for (body, field) in [
            (&br#"{"name":""}"#[..], "name"),
            (br#"{"id":"a"}"#, "name"),
            (br#"{"name":"x","id":"Bad Id"}"#, "id"),
            (br#"{"name":"!!!"}"#, "name"),
            (b"not json", "JSON"),
        ] {
            let error = parse(body).unwrap_err().to_string();
            assert!(error.contains(field), "{error}");
        }
    }
}
