//! Body schemas of the trace and observation events (WIRE-PROTOCOL.md §11).
//!
//! Unknown keys are ignored, as Langfuse's schemas strip them. Only shapes are checked here;
//! the mapping to records lives in the enrich processor.

use serde_json::Value;

use super::error::EventError;
use super::fields::{Fields, json_integer};
use crate::model::ObservationType;

/// Longest trace name Langfuse accepts.
const MAX_TRACE_NAME_CHARS: usize = 1000;

/// Units of the legacy `usage` object.
const USAGE_UNITS: [&str; 6] = [
    "CHARACTERS",
    "TOKENS",
    "MILLISECONDS",
    "SECONDS",
    "IMAGES",
    "REQUESTS",
];

/// Which fields an observation event may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ObservationSchema {
    /// `event-create`: the common fields.
    Event,
    /// `span-create` / `span-update`: adds `endTime`.
    Span,
    /// `generation-create` / `generation-update`: adds model, usage, cost and prompt fields.
    Generation,
    /// The deprecated `observation-create` / `observation-update`: generation fields without the
    /// prompt link, plus a required `type`.
    Legacy,
}

impl ObservationSchema {
    fn has_end_time(self) -> bool {
        !matches!(self, Self::Event)
    }

    fn has_generation_fields(self) -> bool {
        matches!(self, Self::Generation | Self::Legacy)
    }
}

/// Validates the body of a `trace-create` event.
pub(crate) fn validate_trace_body(body: &Fields<'_>) -> Result<(), EventError> {
    body.required_id("id")?;
    body.datetime("timestamp")?;
    if let Some(name) = body.string("name")?
        && name.chars().count() > MAX_TRACE_NAME_CHARS
    {
        return Err(EventError::invalid(
            body.path_of("name"),
            "must be at most 1000 characters",
        ));
    }
    for key in ["externalId", "userId", "sessionId", "release", "version"] {
        body.string(key)?;
    }
    body.environment("environment")?;
    body.boolean("public")?;
    body.string_array("tags")
}

/// Validates the body of an observation event of the given schema.
pub(crate) fn validate_observation_body(
    body: &Fields<'_>,
    schema: ObservationSchema,
) -> Result<(), EventError> {
    body.required_id("id")?;
    body.id("traceId")?;
    body.environment("environment")?;
    for key in ["name", "statusMessage", "parentObservationId", "version"] {
        body.string(key)?;
    }
    body.datetime("startTime")?;
    body.level("level")?;
    if schema.has_end_time() {
        body.datetime("endTime")?;
    }
    if schema == ObservationSchema::Legacy {
        let type_name = body.required_string("type")?;
        if ObservationType::parse(type_name).is_none() {
            return Err(EventError::invalid(
                body.path_of("type"),
                "expected an observation type such as SPAN, GENERATION or EVENT",
            ));
        }
    }
    if schema.has_generation_fields() {
        body.datetime("completionStartTime")?;
        body.string("model")?;
        validate_model_parameters(body)?;
        validate_usage(body)?;
        validate_usage_details(body)?;
        validate_cost_details(body)?;
    }
    if schema == ObservationSchema::Generation {
        validate_prompt_link(body)?;
    }
    Ok(())
}

/// Each parameter is a string, number, boolean, string array or string map.
fn validate_model_parameters(body: &Fields<'_>) -> Result<(), EventError> {
    let Some(parameters) = body.object("modelParameters")? else {
        return Ok(());
    };
    for (key, value) in parameters.entries() {
        let allowed = match value {
            Value::String(_) | Value::Number(_) | Value::Bool(_) => true,
            Value::Array(items) => items.iter().all(Value::is_string),
            Value::Object(map) => map.values().all(Value::is_string),
            Value::Null => true,
        };
        if !allowed {
            return Err(EventError::invalid(
                parameters.path_of(key),
                "expected a string, number, boolean, string array or string map",
            ));
        }
    }
    Ok(())
}

/// The legacy `usage` object: `{input, output, total, unit, inputCost, outputCost, totalCost}`
/// or `{promptTokens, completionTokens, totalTokens}`.
fn validate_usage(body: &Fields<'_>) -> Result<(), EventError> {
    let Some(usage) = body.object("usage")? else {
        return Ok(());
    };
    for key in [
        "input",
        "output",
        "total",
        "promptTokens",
        "completionTokens",
        "totalTokens",
    ] {
        usage.integer(key)?;
    }
    for key in ["inputCost", "outputCost", "totalCost"] {
        usage.number(key)?;
    }
    if let Some(unit) = usage.string("unit")?
        && !USAGE_UNITS
            .iter()
            .any(|known| known.eq_ignore_ascii_case(unit))
    {
        return Err(EventError::invalid(
            usage.path_of("unit"),
            format!("expected one of {}", USAGE_UNITS.join(", ")),
        ));
    }
    Ok(())
}

/// `usageDetails`: a map of non-negative integers, or an OpenAI Chat/Responses usage object
/// whose `*_details` entries are maps of non-negative integers.
fn validate_usage_details(body: &Fields<'_>) -> Result<(), EventError> {
    let Some(details) = body.object("usageDetails")? else {
        return Ok(());
    };
    for (key, value) in details.entries() {
        if value.is_object() || key.ends_with("_details") {
            let nested = Fields::from_value(value, &details.path_of(key))?;
            for (nested_key, nested_value) in nested.entries() {
                check_non_negative_integer(&nested, nested_key, nested_value)?;
            }
        } else {
            check_non_negative_integer(&details, key, value)?;
        }
    }
    Ok(())
}

fn check_non_negative_integer(
    parent: &Fields<'_>,
    key: &str,
    value: &Value,
) -> Result<(), EventError> {
    match json_integer(value) {
        Some(count) if count >= 0 => Ok(()),
        _ => Err(EventError::invalid(
            parent.path_of(key),
            "expected a non-negative integer",
        )),
    }
}

/// `costDetails`: a map of non-negative numbers (USD).
fn validate_cost_details(body: &Fields<'_>) -> Result<(), EventError> {
    let Some(costs) = body.object("costDetails")? else {
        return Ok(());
    };
    for (key, value) in costs.entries() {
        match value.as_f64() {
            Some(cost) if cost >= 0.0 => {}
            _ => {
                return Err(EventError::invalid(
                    costs.path_of(key),
                    "expected a non-negative number",
                ));
            }
        }
    }
    Ok(())
}

/// `promptName` and `promptVersion` come both or neither (empty and zero count as absent, as in
/// Langfuse).
fn validate_prompt_link(body: &Fields<'_>) -> Result<(), EventError> {
    let name = body.string("promptName")?.filter(|name| !name.is_empty());
    let version = body
        .integer("promptVersion")?
        .filter(|version| *version != 0);
    match (name, version) {
        (Some(_), None) => Err(EventError::invalid(
            body.path_of("promptVersion"),
            "is required when promptName is given",
        )),
        (None, Some(_)) => Err(EventError::invalid(
            body.path_of("promptName"),
            "is required when promptVersion is given",
        )),
        _ => Ok(()),
    }
}
