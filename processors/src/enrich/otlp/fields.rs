//! Scalar observation fields: environment, level, model, model parameters, usage, cost,
//! completion start time and prompt (WIRE-PROTOCOL.md §10).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use periscope_core::model::{Level, ObservationType};
use periscope_proto::otlp_trace::Status;
use periscope_proto::otlp_trace::status::StatusCode;
use serde_json::{Map, Value};

use super::attributes::{Attributes, any_to_json, integer_of, json_of};
use crate::enrich::usage::{normalize_usage_attributes, normalize_usage_object};

/// Environment used when a span names none, or an invalid one.
const DEFAULT_ENVIRONMENT: &str = "default";

/// LiveKit's internal spans, shown at DEBUG level.
const LIVEKIT_DEBUG_SPAN_NAMES: [&str; 14] = [
    "user_speaking",
    "eou_detection",
    "llm_request_run",
    "tts_node",
    "tts_request",
    "tts_request_run",
    "tts_stream_adapter",
    "agent_speaking",
    "drain_agent_activity",
    "on_exit",
    "on_enter",
    "llm_fallback_adapter",
    "tts_fallback_adapter",
    "start_agent_activity",
];

/// Returns the environment: the first of `langfuse.environment`, `deployment.environment.name`,
/// `deployment.environment`, each looked up on the span and then on the resource.
pub(super) fn environment(span: &Attributes<'_>, resource: &Attributes<'_>) -> String {
    [
        "langfuse.environment",
        "deployment.environment.name",
        "deployment.environment",
    ]
    .iter()
    .find_map(|key| span.str(key).or_else(|| resource.str(key)))
    .map_or_else(|| DEFAULT_ENVIRONMENT.to_owned(), sanitize_environment)
}

/// Lower-cases an environment and strips a leading `langfuse` (reserved for Langfuse's own
/// environments); anything that is not `^[a-z0-9-_]+$` of at most 40 characters becomes
/// `default`.
pub(super) fn sanitize_environment(raw: &str) -> String {
    let lower = raw.trim().to_ascii_lowercase();
    let stripped = lower.strip_prefix("langfuse").unwrap_or(&lower);
    let valid = !stripped.is_empty()
        && stripped.len() <= 40
        && stripped
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if valid {
        stripped.to_owned()
    } else {
        DEFAULT_ENVIRONMENT.to_owned()
    }
}

/// Returns the level: `langfuse.observation.level`, else ERROR for an OTel error status, else
/// DEFAULT (DEBUG for LiveKit's internal spans).
pub(super) fn level(
    attributes: &Attributes<'_>,
    status: Option<&Status>,
    scope_name: &str,
    span_name: &str,
) -> Level {
    if let Some(level) = attributes
        .str("langfuse.observation.level")
        .and_then(Level::parse)
    {
        return level;
    }
    if status.is_some_and(|status| status.code == StatusCode::Error as i32) {
        return Level::Error;
    }
    if scope_name == "livekit-agents" && LIVEKIT_DEBUG_SPAN_NAMES.contains(&span_name) {
        return Level::Debug;
    }
    Level::Default
}

/// Returns `langfuse.observation.status_message`, else the OTel status message.
pub(super) fn status_message(
    attributes: &Attributes<'_>,
    status: Option<&Status>,
) -> Option<String> {
    attributes
        .text("langfuse.observation.status_message")
        .map(|message| message.into_owned())
        .or_else(|| {
            status
                .map(|status| status.message.as_str())
                .filter(|m| !m.is_empty())
                .map(str::to_owned)
        })
}

/// Returns the model name (the response's model before the requested one).
pub(super) fn model(attributes: &Attributes<'_>) -> Option<String> {
    attributes
        .first_text(&[
            "langfuse.observation.model.name",
            "gen_ai.response.model",
            "ai.model.id",
            "gen_ai.request.model",
            "llm.response.model",
            "llm.model_name",
            "model",
        ])
        .map(|model| model.into_owned())
}

/// Returns the model parameters: `langfuse.observation.model.parameters` (a JSON object), else
/// OpenInference `llm.invocation_parameters` and `gen_ai.request.*` (minus the model) with
/// `gen_ai.system`. Numbers and strings are kept; other values become JSON text.
pub(super) fn model_parameters(attributes: &Attributes<'_>) -> Option<Value> {
    if let Some(Value::Object(parameters)) = attributes
        .get("langfuse.observation.model.parameters")
        .map(json_of)
    {
        let sanitized: Map<String, Value> = parameters
            .into_iter()
            .map(|(key, value)| (key, scalar_parameter(value)))
            .collect();
        return (!sanitized.is_empty()).then_some(Value::Object(sanitized));
    }
    let mut parameters = Map::new();
    if let Some(Value::Object(invocation)) =
        attributes.get("llm.invocation_parameters").map(json_of)
    {
        parameters.extend(
            invocation
                .into_iter()
                .map(|(key, value)| (key, scalar_parameter(value))),
        );
    }
    for (key, value) in attributes.with_prefix("gen_ai.request.") {
        let name = &key["gen_ai.request.".len()..];
        if name != "model" {
            let value = scalar_parameter(any_to_json(value.value.as_ref()));
            parameters.entry(name.to_owned()).or_insert(value);
        }
    }
    if parameters.is_empty() {
        return None;
    }
    if let Some(system) = attributes.text("gen_ai.system") {
        parameters
            .entry("system".to_owned())
            .or_insert(Value::String(system.into_owned()));
    }
    Some(Value::Object(parameters))
}

fn scalar_parameter(value: Value) -> Value {
    match value {
        Value::Number(_) | Value::String(_) => value,
        other => Value::String(other.to_string()),
    }
}

/// Returns the usage: `langfuse.observation.usage_details` (a JSON object, normalised) wins,
/// else the `gen_ai.usage.*`, `llm.token_count.*` and Traceloop `llm.usage.total_tokens` counts,
/// and for model calls the Vercel AI SDK's `ai.usage.*`. (The SDK repeats a call's usage on the
/// enclosing `ai.generateText` span, which must not count it a second time.)
pub(super) fn usage_details(
    attributes: &Attributes<'_>,
    observation_type: ObservationType,
) -> BTreeMap<String, i64> {
    if let Some(usage) = attributes
        .get("langfuse.observation.usage_details")
        .map(json_of)
        && usage.is_object()
    {
        return normalize_usage_object(&usage);
    }
    let provider = attributes.first_str(&[
        "gen_ai.provider.name",
        "gen_ai.system",
        "llm.provider",
        "llm.system",
    ]);
    let is_model_call = matches!(
        observation_type,
        ObservationType::Generation | ObservationType::Embedding
    );
    let prefixes: &[&str] = if is_model_call {
        &[
            "gen_ai.usage.",
            "llm.token_count.",
            "llm.usage.total_tokens",
            "ai.usage.",
        ]
    } else {
        &[
            "gen_ai.usage.",
            "llm.token_count.",
            "llm.usage.total_tokens",
        ]
    };
    let counts = prefixes
        .iter()
        .flat_map(|prefix| attributes.with_prefix(prefix))
        .filter_map(|(key, value)| Some((*key, integer_of(value.value.as_ref()?)?)));
    normalize_usage_attributes(counts, provider)
}

/// Returns the costs given by the client: `langfuse.observation.cost_details` (a JSON object),
/// else `gen_ai.usage.cost` or `llm.cost.total` as `{total}`. Negative values are dropped.
pub(super) fn cost_details(attributes: &Attributes<'_>) -> BTreeMap<String, f64> {
    let is_cost = |cost: &f64| cost.is_finite() && *cost >= 0.0;
    if let Some(Value::Object(costs)) = attributes
        .get("langfuse.observation.cost_details")
        .map(json_of)
    {
        return costs
            .into_iter()
            .filter_map(|(key, value)| Some((key, value.as_f64().filter(is_cost)?)))
            .collect();
    }
    ["gen_ai.usage.cost", "llm.cost.total"]
        .iter()
        .find_map(|key| attributes.float(key))
        .filter(is_cost)
        .map(|total| BTreeMap::from([("total".to_owned(), total)]))
        .unwrap_or_default()
}

/// Returns the completion start time: `langfuse.observation.completion_start_time` (an ISO
/// time, JSON-quoted by the SDK or plain), else the Vercel AI SDK's milliseconds to first chunk.
pub(super) fn completion_start_time(
    attributes: &Attributes<'_>,
    start_time: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if let Some(text) = attributes.str("langfuse.observation.completion_start_time") {
        let unquoted = match serde_json::from_str::<Value>(text) {
            Ok(Value::String(inner)) => Some(inner),
            _ => None,
        };
        if let Some(time) = parse_time(unquoted.as_deref().unwrap_or(text)) {
            return Some(time);
        }
    }
    let milliseconds = ["ai.response.msToFirstChunk", "ai.stream.msToFirstChunk"]
        .iter()
        .find_map(|key| attributes.float(key))
        .filter(|ms| (0.0..1.0e12).contains(ms))?;
    start_time.checked_add_signed(TimeDelta::milliseconds(milliseconds.ceil() as i64))
}

/// Parses RFC 3339, or an ISO time without offset (Python's naive `isoformat()`) as UTC.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|naive| naive.and_utc())
}

/// Returns the linked prompt's name and version: `langfuse.observation.prompt.*`, the older
/// `langfuse.prompt.*`, or the Vercel AI SDK's `ai.telemetry.metadata.langfusePrompt` JSON.
pub(super) fn prompt(attributes: &Attributes<'_>) -> (Option<String>, Option<i64>) {
    let mut name = attributes
        .first_text(&["langfuse.observation.prompt.name", "langfuse.prompt.name"])
        .map(|name| name.into_owned());
    let mut version = [
        "langfuse.observation.prompt.version",
        "langfuse.prompt.version",
    ]
    .iter()
    .find_map(|key| attributes.integer(key));
    if (name.is_none() || version.is_none())
        && let Some(Value::Object(vercel)) = attributes
            .get("ai.telemetry.metadata.langfusePrompt")
            .map(json_of)
    {
        name = name.or_else(|| vercel.get("name")?.as_str().map(str::to_owned));
        version = version.or_else(|| vercel.get("version")?.as_i64());
    }
    (name, version)
}
