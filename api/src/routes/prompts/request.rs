//! Parsing of prompt requests: Langfuse's `CreatePromptRequest`, the PATCH body
//! `{"newLabels": [...]}`, and the `label`/`version` query of GET and DELETE. Every error names
//! the offending field or parameter.

use chrono::{DateTime, Utc};
use periscope_core::prompts::compose::parse_dependencies;
use periscope_core::prompts::validation::{
    InvalidPrompt, normalize_content, normalize_name, validate_commit_message, validate_label,
    validate_new_labels,
};
use periscope_core::prompts::{
    NewPrompt, PRODUCTION_LABEL, PromptDeletion, PromptSelector, PromptType,
};
use serde_json::{Map, Value, json};

use crate::error::{ApiError, Result};
use crate::params::QueryParams;

/// Who created versions made through the public API (Langfuse's value).
pub(crate) const CREATED_BY_API: &str = "API";

fn invalid_body(error: InvalidPrompt) -> ApiError {
    ApiError::InvalidBody(error.to_string())
}

fn body_error(message: impl Into<String>) -> ApiError {
    ApiError::InvalidBody(message.into())
}

/// Parses a JSON object body.
fn object(body: &[u8]) -> Result<Map<String, Value>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(body_error("expected a JSON object")),
        Err(error) => Err(body_error(format!("malformed JSON: {error}"))),
    }
}

/// Returns a field's value; absent and `null` are the same.
fn field<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).filter(|value| !value.is_null())
}

/// Returns a list of strings, or `None` when absent or `null`.
fn string_list(object: &Map<String, Value>, name: &str) -> Result<Option<Vec<String>>> {
    let Some(value) = field(object, name) else {
        return Ok(None);
    };
    let Value::Array(items) = value else {
        return Err(body_error(format!("{name} must be a list of strings")));
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| match item {
            Value::String(text) => Ok(text.clone()),
            _ => Err(body_error(format!("{name}[{index}] must be a string"))),
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// Parses a `CreatePromptRequest` (text when `type` is absent) into a version to create.
pub(crate) fn parse_create(
    body: &[u8],
    project_id: &str,
    id: String,
    now: DateTime<Utc>,
) -> Result<NewPrompt> {
    let object = object(body)?;
    let name = match field(&object, "name") {
        Some(Value::String(name)) => normalize_name(name).map_err(invalid_body)?,
        Some(_) => return Err(body_error("name must be a string")),
        None => return Err(body_error("name is required")),
    };
    let prompt_type = match field(&object, "type") {
        None => PromptType::Text,
        Some(Value::String(wire)) => PromptType::parse(wire).ok_or_else(|| {
            body_error(format!("type must be \"text\" or \"chat\", got {wire:?}"))
        })?,
        Some(_) => return Err(body_error("type must be \"text\" or \"chat\"")),
    };
    let content = field(&object, "prompt").ok_or_else(|| body_error("prompt is required"))?;
    let prompt = normalize_content(prompt_type, content).map_err(invalid_body)?;
    let config = field(&object, "config")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let labels = string_list(&object, "labels")?.unwrap_or_default();
    let labels = validate_new_labels(&labels, "labels").map_err(invalid_body)?;
    let tags = string_list(&object, "tags")?.map(|tags| {
        let mut unique: Vec<String> = Vec::with_capacity(tags.len());
        for tag in tags {
            if !unique.contains(&tag) {
                unique.push(tag);
            }
        }
        unique
    });
    let commit_message = match field(&object, "commitMessage") {
        None => None,
        Some(Value::String(message)) => {
            validate_commit_message(message).map_err(invalid_body)?;
            Some(message.clone())
        }
        Some(_) => return Err(body_error("commitMessage must be a string")),
    };
    let dependencies = parse_dependencies(&prompt);
    Ok(NewPrompt {
        id,
        project_id: project_id.to_owned(),
        name,
        prompt_type,
        prompt,
        config,
        labels,
        tags,
        commit_message,
        created_by: CREATED_BY_API.to_owned(),
        created_at: now,
        dependencies,
    })
}

/// Parses the PATCH body `{"newLabels": [...]}` into the labels to add.
pub(crate) fn parse_new_labels(body: &[u8]) -> Result<Vec<String>> {
    let object = object(body)?;
    let labels = string_list(&object, "newLabels")?
        .ok_or_else(|| body_error("newLabels is required (a list of labels)"))?;
    validate_new_labels(&labels, "newLabels").map_err(invalid_body)
}

/// Parses the `version` and `label` parameters; giving both is ambiguous and refused.
fn version_and_label(query: &QueryParams) -> Result<(Option<i64>, Option<String>)> {
    let version = query
        .positive_integer("version")?
        .map(|version| {
            i64::try_from(version).map_err(|_| ApiError::parameter("version", "is too large"))
        })
        .transpose()?;
    let label = query.string("label");
    if let Some(label) = &label {
        validate_label(label, "label")
            .map_err(|error| ApiError::parameter("label", error.reason))?;
    }
    if version.is_some() && label.is_some() {
        return Err(ApiError::parameter(
            "label",
            "cannot be combined with version; give one of them",
        ));
    }
    Ok((version, label))
}

/// Returns which version `GET /v2/prompts/{name}` reads: `?version=`, `?label=`, or the
/// `production` label.
pub(crate) fn parse_selector(query: &QueryParams) -> Result<PromptSelector> {
    Ok(match version_and_label(query)? {
        (Some(version), _) => PromptSelector::Version(version),
        (None, Some(label)) => PromptSelector::Label(label),
        (None, None) => PromptSelector::Label(PRODUCTION_LABEL.to_owned()),
    })
}

/// Returns which versions `DELETE /v2/prompts/{name}` removes: one version, the one with a
/// label, or (with neither) all of them.
pub(crate) fn parse_deletion(query: &QueryParams) -> Result<PromptDeletion> {
    Ok(match version_and_label(query)? {
        (Some(version), _) => PromptDeletion::Version(version),
        (None, Some(label)) => PromptDeletion::Label(label),
        (None, None) => PromptDeletion::All,
    })
}

/// Splits the decoded path of `PATCH /v2/prompts/{name}/versions/{version}` into the name
/// (which may contain `/`) and the version. GET and DELETE take the whole path as the name, as
/// Langfuse does.
pub(crate) fn parse_version_path(path: &str) -> Result<(String, i64)> {
    let parsed = path.rsplit_once('/').and_then(|(head, version)| {
        let name = head.strip_suffix("/versions")?;
        Some((name, version))
    });
    let Some((name, version)) = parsed.filter(|(name, _)| !name.is_empty()) else {
        return Err(ApiError::parameter(
            "path",
            "expected /api/public/v2/prompts/{name}/versions/{version}",
        ));
    };
    let version = version
        .parse::<i64>()
        .ok()
        .filter(|version| *version > 0)
        .ok_or_else(|| {
            ApiError::parameter(
                "version",
                format!("expected a positive integer, got {version:?}"),
            )
        })?;
    Ok((name.to_owned(), version))
}

#[cfg(test)]
mod tests;
