//! LLM connections: the OpenAI-compatible endpoints that judge prompts are sent to.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

/// An OpenAI-compatible endpoint (OpenAI, LiteLLM, vLLM, ...) of one project.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmConnection {
    pub id: String,
    pub project_id: String,
    /// Unique within the project.
    pub name: String,
    /// The API root, e.g. `https://api.openai.com/v1`; requests go to `{base_url}/chat/completions`.
    pub base_url: String,
    /// The model used when an evaluator names none.
    pub default_model: String,
    /// Headers sent with every request (e.g. an organisation id).
    pub extra_headers: BTreeMap<String, String>,
    /// The API key sealed by [`super::SecretCipher`]; empty when the endpoint needs no key.
    pub sealed_api_key: String,
    /// A masked preview of the key (`sk-…abcd`), the only form of the key ever shown.
    pub key_preview: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl LlmConnection {
    /// Returns the context a connection's key is sealed with, so a sealed key copied into
    /// another row (or project) cannot be opened there.
    pub fn seal_context(project_id: &str, connection_id: &str) -> String {
        format!("periscope/llm-connection/{project_id}/{connection_id}")
    }

    /// Returns the URL of the chat completions endpoint.
    pub fn chat_completions_url(&self) -> String {
        format!("{}/chat/completions", self.base_url.trim_end_matches('/'))
    }
}

/// Returns a masked preview of an API key: its first three and last four characters, or only
/// `…` when the key is too short to show any of it safely.
pub fn key_preview(api_key: &str) -> String {
    let chars: Vec<char> = api_key.chars().collect();
    if chars.is_empty() {
        return String::new();
    }
    if chars.len() < 12 {
        return "…".to_owned();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// Checks a connection's fields; the message names the field.
pub fn validate_connection(connection: &LlmConnection) -> Result<(), String> {
    if connection.name.trim().is_empty() {
        return Err("name is required and must be a non-empty string".to_owned());
    }
    let url = connection.base_url.trim();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err("baseURL must start with http:// or https://".to_owned());
    }
    if !has_host(url) {
        return Err(format!("baseURL {url:?} is not a valid URL"));
    }
    if connection.default_model.trim().is_empty() {
        return Err("defaultModel is required and must be a non-empty string".to_owned());
    }
    for (name, value) in &connection.extra_headers {
        let valid_name = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
        if !valid_name {
            return Err(format!("extraHeaders: {name:?} is not a valid header name"));
        }
        if value.bytes().any(|b| b < 0x20 || b == 0x7f) {
            return Err(format!(
                "extraHeaders: the value of {name:?} has control characters"
            ));
        }
        if name.eq_ignore_ascii_case("authorization") {
            return Err(
                "extraHeaders: set the key with apiKey, not an Authorization header".to_owned(),
            );
        }
    }
    Ok(())
}

/// Returns whether `url` (known to start with a scheme) names a host and has no whitespace.
fn has_host(url: &str) -> bool {
    let rest = url.split_once("://").map_or("", |(_, rest)| rest);
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    !host.is_empty() && !host.starts_with(':') && !url.chars().any(char::is_whitespace)
}
