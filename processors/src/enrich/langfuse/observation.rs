//! Span, generation, event and (deprecated) observation events → observation records.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use periscope_core::langfuse::{EventError, EventType, IngestionEvent};
use periscope_core::model::{Level, ObservationRecord, ObservationType};
use serde_json::Value;

use super::body::Body;
use crate::enrich::usage::normalize_usage_object;

/// Legacy `usage` cost keys and the cost keys they become.
const LEGACY_COST_KEYS: [(&str, &str); 3] = [
    ("inputCost", "input"),
    ("outputCost", "output"),
    ("totalCost", "total"),
];

/// Which optional field groups an event type carries (the rest Langfuse strips).
#[derive(Debug, Clone, Copy)]
struct Shape {
    observation_type: ObservationType,
    is_create: bool,
    has_end_time: bool,
    has_generation_fields: bool,
    has_prompt_link: bool,
}

fn shape(event_type: EventType, body: &Body<'_>) -> Result<Shape, EventError> {
    let simple = |observation_type, is_create, has_end_time| Shape {
        observation_type,
        is_create,
        has_end_time,
        has_generation_fields: false,
        has_prompt_link: false,
    };
    let shape = match event_type {
        EventType::SpanCreate => simple(ObservationType::Span, true, true),
        EventType::SpanUpdate => simple(ObservationType::Span, false, true),
        EventType::EventCreate => simple(ObservationType::Event, true, false),
        EventType::GenerationCreate | EventType::GenerationUpdate => Shape {
            has_generation_fields: true,
            has_prompt_link: true,
            ..simple(
                ObservationType::Generation,
                event_type == EventType::GenerationCreate,
                true,
            )
        },
        EventType::ObservationCreate | EventType::ObservationUpdate => {
            let observation_type = body
                .str("type")
                .and_then(ObservationType::parse)
                .ok_or_else(|| EventError::invalid("body.type", "expected an observation type"))?;
            Shape {
                has_generation_fields: true,
                ..simple(
                    observation_type,
                    event_type == EventType::ObservationCreate,
                    true,
                )
            }
        }
        EventType::TraceCreate | EventType::ScoreCreate | EventType::SdkLog => {
            return Err(EventError::invalid("type", "expected an observation event"));
        }
    };
    Ok(shape)
}

/// Maps an observation event. A create without `startTime` starts at the event's time; an
/// update without one leaves the start alone (the merge keeps the earliest start).
pub(super) fn map_observation(
    project_id: &str,
    event: &IngestionEvent,
    event_time: DateTime<Utc>,
) -> Result<ObservationRecord, EventError> {
    let body = Body::new(&event.body);
    let shape = shape(event.event_type, &body)?;
    let mut record = ObservationRecord {
        project_id: project_id.to_owned(),
        id: body.required_id()?,
        // Empty when unknown: the merge fills it from the first record that names the trace.
        trace_id: body.string("traceId").unwrap_or_default(),
        parent_observation_id: body.string("parentObservationId"),
        observation_type: Some(shape.observation_type),
        name: body.string("name"),
        start_time: body
            .time("startTime")
            .or(shape.is_create.then_some(event_time)),
        input: body.json("input"),
        output: body.json("output"),
        metadata: body.metadata(),
        level: body.str("level").and_then(Level::parse),
        status_message: body.string("statusMessage"),
        version: body.string("version"),
        environment: body.string("environment"),
        event_time,
        ..Default::default()
    };
    if shape.has_end_time {
        record.end_time = body.time("endTime");
    }
    if shape.has_generation_fields {
        record.completion_start_time = body.time("completionStartTime");
        record.model = body.string("model");
        record.model_parameters = body
            .object("modelParameters")
            .map(|map| Value::Object(map.clone()));
        record.usage_details = usage_details(&body);
        record.cost_details = cost_details(&body);
    }
    if shape.has_prompt_link {
        // Validation guarantees both or neither; an empty name or version 0 counts as neither.
        let prompt_name = body.string("promptName").filter(|name| !name.is_empty());
        let prompt_version = body
            .integer("promptVersion")
            .filter(|version| *version != 0);
        if let (Some(name), Some(version)) = (prompt_name, prompt_version) {
            record.prompt_name = Some(name);
            record.prompt_version = Some(version);
        }
    }
    Ok(record)
}

/// `usageDetails` wins; the legacy `usage` object is the fallback.
fn usage_details(body: &Body<'_>) -> BTreeMap<String, i64> {
    if let Some(details) = body.get("usageDetails").filter(|value| value.is_object()) {
        let normalized = normalize_usage_object(details);
        if !normalized.is_empty() {
            return normalized;
        }
    }
    // The normaliser reads both legacy shapes and skips `unit` and the `*Cost` fields.
    body.get("usage")
        .map(normalize_usage_object)
        .unwrap_or_default()
}

/// `costDetails` wins; the legacy `usage.inputCost/outputCost/totalCost` is the fallback.
fn cost_details(body: &Body<'_>) -> BTreeMap<String, f64> {
    let given: BTreeMap<String, f64> = body
        .object("costDetails")
        .into_iter()
        .flatten()
        .filter_map(|(key, value)| value.as_f64().map(|cost| (key.clone(), cost)))
        .collect();
    if !given.is_empty() {
        return given;
    }
    let Some(usage) = body.object("usage") else {
        return BTreeMap::new();
    };
    LEGACY_COST_KEYS
        .into_iter()
        .filter_map(|(legacy, key)| {
            usage
                .get(legacy)
                .and_then(Value::as_f64)
                .map(|cost| (key.to_owned(), cost))
        })
        .collect()
}
