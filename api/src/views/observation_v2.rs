//! Observations as `GET /v2/observations` returns them: a flat object holding only the
//! requested field groups (Langfuse's `ObservationV2`).

use periscope_core::model::{Level, ObservationRecord, ObservationType, cost_total};
use serde_json::{Map, Value, json};

use super::observation::OBJECT_METADATA_KEYS;
use super::{decode_metadata, environment_or_default, iso, seconds_between};

/// A group of fields of the v2 observation API (`fields=core,basic,usage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldGroup {
    Core,
    Basic,
    Time,
    Io,
    Metadata,
    Model,
    Usage,
    Prompt,
    Metrics,
}

impl FieldGroup {
    /// All groups, in the order Langfuse documents them.
    pub(crate) const ALL: [FieldGroup; 9] = [
        Self::Core,
        Self::Basic,
        Self::Time,
        Self::Io,
        Self::Metadata,
        Self::Model,
        Self::Usage,
        Self::Prompt,
        Self::Metrics,
    ];

    /// Returns the group's name in the `fields` parameter.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Core => "core",
            Self::Basic => "basic",
            Self::Time => "time",
            Self::Io => "io",
            Self::Metadata => "metadata",
            Self::Model => "model",
            Self::Usage => "usage",
            Self::Prompt => "prompt",
            Self::Metrics => "metrics",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|group| group.as_str().eq_ignore_ascii_case(name))
    }
}

/// Parses the `fields` parameter. `core` is always included; without the parameter, `core`
/// and `basic` are returned, as in Langfuse. Returns the unknown name on error.
pub(crate) fn parse_field_groups(fields: Option<&str>) -> Result<Vec<FieldGroup>, String> {
    let Some(fields) = fields else {
        return Ok(vec![FieldGroup::Core, FieldGroup::Basic]);
    };
    let mut groups = vec![FieldGroup::Core];
    for name in fields
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        let group = FieldGroup::parse(name).ok_or_else(|| name.to_owned())?;
        if !groups.contains(&group) {
            groups.push(group);
        }
    }
    Ok(groups)
}

/// Returns I/O as Langfuse's v2 API does: JSON values as JSON text unless `parse_io` is set.
fn io_value(value: Option<&Value>, parse_io: bool) -> Value {
    match value {
        None => Value::Null,
        Some(value) if parse_io => value.clone(),
        Some(Value::String(text)) => Value::String(text.clone()),
        Some(other) => Value::String(other.to_string()),
    }
}

/// Converts an observation into a v2 object with the fields of `groups`.
pub(crate) fn observation_v2(
    record: &ObservationRecord,
    groups: &[FieldGroup],
    parse_io: bool,
) -> Map<String, Value> {
    let mut object = Map::new();
    let mut put = |key: &str, value: Value| {
        object.insert(key.to_owned(), value);
    };
    let time = |time: Option<chrono::DateTime<chrono::Utc>>| json!(time.map(iso));
    let price = |usage_key: &str| {
        // Langfuse serialises v2 prices as decimal strings; `Display` of f64 never uses an
        // exponent, so 2.5e-6 reads "0.0000025".
        json!(
            record
                .price
                .as_ref()
                .and_then(|price| price.prices.get(usage_key))
                .map(|price| price.to_string())
        )
    };
    for group in groups {
        match group {
            FieldGroup::Core => {
                put("id", json!(record.id));
                put("traceId", json!(record.trace_id));
                put(
                    "startTime",
                    time(Some(record.start_time.unwrap_or(record.event_time))),
                );
                put("endTime", time(record.end_time));
                put("projectId", json!(record.project_id));
                put("parentObservationId", json!(record.parent_observation_id));
                let kind = record.observation_type.unwrap_or(ObservationType::Span);
                put("type", json!(kind.as_str()));
            }
            FieldGroup::Basic => {
                put("name", json!(record.name));
                put(
                    "level",
                    json!(record.level.unwrap_or(Level::Default).as_str()),
                );
                put("statusMessage", json!(record.status_message));
                put("version", json!(record.version));
                put(
                    "environment",
                    json!(environment_or_default(record.environment.as_deref())),
                );
                put("bookmarked", json!(false));
                // Trace-level fields that observation records do not carry.
                put("public", json!(false));
                put("userId", Value::Null);
                put("sessionId", Value::Null);
            }
            FieldGroup::Time => {
                put("completionStartTime", time(record.completion_start_time));
                put("createdAt", Value::Null);
                put("updatedAt", time(Some(record.event_time)));
            }
            FieldGroup::Io => {
                put("input", io_value(record.input.as_ref(), parse_io));
                put("output", io_value(record.output.as_ref(), parse_io));
            }
            FieldGroup::Metadata => {
                put(
                    "metadata",
                    json!(decode_metadata(&record.metadata, OBJECT_METADATA_KEYS)),
                );
            }
            FieldGroup::Model => {
                let model_id = record.price.as_ref().map(|price| price.model_id.clone());
                put("providedModelName", json!(record.model));
                put("internalModelId", json!(model_id));
                put("modelParameters", json!(record.model_parameters));
                put("modelId", json!(model_id));
                put("inputPrice", price("input"));
                put("outputPrice", price("output"));
                put("totalPrice", price("total"));
            }
            FieldGroup::Usage => {
                put("usageDetails", json!(record.usage_details));
                put("costDetails", json!(record.calculated_cost_details));
                put(
                    "totalCost",
                    json!(cost_total(&record.calculated_cost_details)),
                );
                put("providedUsageDetails", json!(record.usage_details));
                put("providedCostDetails", json!(record.cost_details));
            }
            FieldGroup::Prompt => {
                put("promptId", Value::Null);
                put("promptName", json!(record.prompt_name));
                put("promptVersion", json!(record.prompt_version));
            }
            FieldGroup::Metrics => {
                put(
                    "latency",
                    json!(seconds_between(record.start_time, record.end_time)),
                );
                let first_token = seconds_between(record.start_time, record.completion_start_time);
                put("timeToFirstToken", json!(first_token));
            }
        }
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use periscope_core::model::PriceSnapshot;

    fn record() -> ObservationRecord {
        let at = |millis: i64| {
            Utc.timestamp_millis_opt(1_795_743_651_000 + millis)
                .unwrap()
        };
        ObservationRecord {
            project_id: "p1".into(),
            id: "o1".into(),
            trace_id: "t1".into(),
            observation_type: Some(ObservationType::Generation),
            name: Some("llm".into()),
            start_time: Some(at(0)),
            end_time: Some(at(1_000)),
            completion_start_time: Some(at(250)),
            model: Some("gpt-4o".into()),
            input: Some(json!({"q": "why"})),
            output: Some(json!("because")),
            metadata: [("n".to_owned(), json!("3"))].into(),
            usage_details: [("input".to_owned(), 10), ("total".to_owned(), 10)].into(),
            price: Some(PriceSnapshot {
                model_id: "m1".into(),
                model_name: "gpt-4o".into(),
                prices: [("input".to_owned(), 0.0000025)].into(),
            }),
            event_time: at(2_000),
            ..Default::default()
        }
    }

    #[test]
    fn default_groups_are_core_and_basic() {
        let groups = parse_field_groups(None).unwrap();
        let object = observation_v2(&record(), &groups, false);
        let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "bookmarked",
                "endTime",
                "environment",
                "id",
                "level",
                "name",
                "parentObservationId",
                "projectId",
                "public",
                "sessionId",
                "startTime",
                "statusMessage",
                "traceId",
                "type",
                "userId",
                "version"
            ]
        );
        assert_eq!(object["type"], "GENERATION");
        assert_eq!(object["startTime"], "2026-11-27T01:40:51.000Z");
    }

    #[test]
    fn field_groups_parse_and_reject_unknown_names() {
        assert_eq!(
            parse_field_groups(Some("usage, IO,usage")).unwrap(),
            vec![FieldGroup::Core, FieldGroup::Usage, FieldGroup::Io]
        );
        assert_eq!(parse_field_groups(Some("core,costs")).unwrap_err(), "costs");
    }

    #[test]
    fn io_is_json_text_unless_parsing_is_asked_for() {
        let raw = observation_v2(&record(), &[FieldGroup::Io], false);
        assert_eq!(raw["input"], json!("{\"q\":\"why\"}"));
        assert_eq!(raw["output"], json!("because"));
        let parsed = observation_v2(&record(), &[FieldGroup::Io], true);
        assert_eq!(parsed["input"], json!({"q": "why"}));
    }

    #[test]
    fn model_usage_and_metrics_groups() {
        let groups = [
            FieldGroup::Model,
            FieldGroup::Usage,
            FieldGroup::Metrics,
            FieldGroup::Metadata,
        ];
        let mut with_costs = record();
        with_costs.finalize_costs();
        let object = observation_v2(&with_costs, &groups, false);
        assert_eq!(object["providedModelName"], "gpt-4o");
        assert_eq!(object["internalModelId"], "m1");
        assert_eq!(object["inputPrice"], "0.0000025");
        assert_eq!(object["outputPrice"], Value::Null);
        assert_eq!(object["usageDetails"], json!({"input": 10, "total": 10}));
        assert_eq!(
            object["costDetails"],
            json!({"input": 0.000025, "total": 0.000025})
        );
        assert_eq!(object["totalCost"], json!(0.000025));
        assert_eq!(object["providedCostDetails"], json!({}));
        assert_eq!(object["latency"], json!(1.0));
        assert_eq!(object["timeToFirstToken"], json!(0.25));
        assert_eq!(object["metadata"], json!({"n": 3}));
        assert!(
            !object.contains_key("id"),
            "core is added by parse_field_groups, not here"
        );
    }
}
