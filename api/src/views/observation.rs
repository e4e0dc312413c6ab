//! `ObservationsView`: one observation as `GET /observations` and `GET /traces/{id}` return it.

use std::collections::BTreeMap;

use periscope_core::model::{Level, ObservationRecord, ObservationType, cost_total};
use serde::Serialize;
use serde_json::Value;

use super::{IsoTime, decode_metadata, environment_or_default, iso_opt, seconds_between};

/// Observation metadata keys that Langfuse stores as objects, returned without decoding.
pub(crate) const OBJECT_METADATA_KEYS: &[&str] = &["resourceAttributes", "scope", "attributes"];

/// The unit of the legacy `usage` object; Langfuse always reports tokens there.
const USAGE_UNIT: &str = "TOKENS";

/// Langfuse's legacy `usage` object, derived from `usageDetails`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct UsageView {
    pub(crate) input: i64,
    pub(crate) output: i64,
    pub(crate) total: i64,
    pub(crate) unit: &'static str,
}

/// Input, output and total reduced from a usage or cost map, the way Langfuse reads them:
/// every `input*` key adds to input, every `output*` key to output (so `input_cached_tokens`
/// counts as input), and total is the `total` key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Reduced<T> {
    pub(crate) input: Option<T>,
    pub(crate) output: Option<T>,
    pub(crate) total: Option<T>,
}

/// Reduces a usage or cost map (see `Reduced`).
pub(crate) fn reduce_details<T>(details: &BTreeMap<String, T>) -> Reduced<T>
where
    T: Copy + std::ops::Add<Output = T>,
{
    let sum_prefixed = |prefix: &str| {
        details
            .iter()
            .filter(|(key, _)| key.starts_with(prefix))
            .map(|(_, value)| *value)
            .reduce(|a, b| a + b)
    };
    Reduced {
        input: sum_prefixed("input"),
        output: sum_prefixed("output"),
        total: details.get("total").copied(),
    }
}

/// Returns the legacy `usage` object of an observation.
pub(crate) fn usage_view(usage_details: &BTreeMap<String, i64>) -> UsageView {
    let reduced = reduce_details(usage_details);
    let input = reduced.input.unwrap_or(0);
    let output = reduced.output.unwrap_or(0);
    UsageView {
        input,
        output,
        // Records always carry a total once they carry usage; fall back to the sum anyway.
        total: reduced.total.unwrap_or(input + output),
        unit: USAGE_UNIT,
    }
}

/// One observation in Langfuse's `ObservationsView` shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ObservationView {
    pub(crate) id: String,
    pub(crate) trace_id: String,
    pub(crate) project_id: String,
    #[serde(rename = "type")]
    pub(crate) observation_type: &'static str,
    pub(crate) name: Option<String>,
    pub(crate) start_time: IsoTime,
    pub(crate) end_time: Option<IsoTime>,
    pub(crate) completion_start_time: Option<IsoTime>,
    pub(crate) model: Option<String>,
    pub(crate) model_parameters: Option<Value>,
    pub(crate) input: Option<Value>,
    pub(crate) output: Option<Value>,
    pub(crate) version: Option<String>,
    pub(crate) metadata: BTreeMap<String, Value>,
    pub(crate) usage: UsageView,
    pub(crate) level: &'static str,
    pub(crate) status_message: Option<String>,
    pub(crate) parent_observation_id: Option<String>,
    pub(crate) prompt_id: Option<String>,
    pub(crate) prompt_name: Option<String>,
    pub(crate) prompt_version: Option<i64>,
    pub(crate) usage_details: BTreeMap<String, i64>,
    pub(crate) cost_details: BTreeMap<String, f64>,
    pub(crate) environment: String,
    pub(crate) calculated_input_cost: Option<f64>,
    pub(crate) calculated_output_cost: Option<f64>,
    pub(crate) calculated_total_cost: Option<f64>,
    pub(crate) latency: Option<f64>,
    pub(crate) time_to_first_token: Option<f64>,
    pub(crate) model_id: Option<String>,
    pub(crate) input_price: Option<f64>,
    pub(crate) output_price: Option<f64>,
    pub(crate) total_price: Option<f64>,
}

impl ObservationView {
    /// Converts a merged observation.
    pub(crate) fn from_record(record: &ObservationRecord) -> Self {
        let costs = reduce_details(&record.calculated_cost_details);
        let price = |usage_key: &str| {
            record
                .price
                .as_ref()
                .and_then(|price| price.prices.get(usage_key).copied())
        };
        Self {
            id: record.id.clone(),
            trace_id: record.trace_id.clone(),
            project_id: record.project_id.clone(),
            observation_type: record
                .observation_type
                .unwrap_or(ObservationType::Span)
                .as_str(),
            name: record.name.clone(),
            // `startTime` is required by the schema; a record that never got one (an update
            // without its create) shows when it was last written.
            start_time: IsoTime(record.start_time.unwrap_or(record.event_time)),
            end_time: iso_opt(record.end_time),
            completion_start_time: iso_opt(record.completion_start_time),
            model: record.model.clone(),
            model_parameters: record.model_parameters.clone(),
            input: record.input.clone(),
            output: record.output.clone(),
            version: record.version.clone(),
            metadata: decode_metadata(&record.metadata, OBJECT_METADATA_KEYS),
            usage: usage_view(&record.usage_details),
            level: record.level.unwrap_or(Level::Default).as_str(),
            status_message: record.status_message.clone(),
            parent_observation_id: record.parent_observation_id.clone(),
            prompt_id: None,
            prompt_name: record.prompt_name.clone(),
            prompt_version: record.prompt_version,
            usage_details: record.usage_details.clone(),
            cost_details: record.calculated_cost_details.clone(),
            environment: environment_or_default(record.environment.as_deref()),
            calculated_input_cost: costs.input,
            calculated_output_cost: costs.output,
            calculated_total_cost: cost_total(&record.calculated_cost_details),
            latency: seconds_between(record.start_time, record.end_time),
            time_to_first_token: seconds_between(record.start_time, record.completion_start_time),
            model_id: record.price.as_ref().map(|price| price.model_id.clone()),
            input_price: price("input"),
            output_price: price("output"),
            total_price: price("total"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, TimeZone, Utc};
    use periscope_core::model::PriceSnapshot;
    use serde_json::json;

    fn at(millis: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(1_795_743_651_000 + millis)
            .unwrap()
    }

    fn generation() -> ObservationRecord {
        let mut record = ObservationRecord {
            project_id: "p1".into(),
            id: "282309a565e05723".into(),
            trace_id: "a32c2498e2200160b10a8d302e6917c6".into(),
            parent_observation_id: Some("root".into()),
            observation_type: Some(ObservationType::Generation),
            name: Some("llm-call".into()),
            start_time: Some(at(0)),
            end_time: Some(at(2_500)),
            completion_start_time: Some(at(400)),
            model: Some("gpt-4o-mini".into()),
            model_parameters: Some(json!({"temperature": 0.2})),
            input: Some(json!([{"role": "user", "content": "hi"}])),
            output: Some(json!({"role": "assistant", "content": "hello"})),
            metadata: [
                ("region".to_owned(), json!("\"eu\"")),
                ("attributes".to_owned(), json!({"k": "\"v\""})),
            ]
            .into(),
            level: Some(Level::Warning),
            status_message: Some("slow".into()),
            version: Some("v2".into()),
            environment: Some("staging".into()),
            usage_details: [
                ("input".to_owned(), 100),
                ("input_cached_tokens".to_owned(), 20),
                ("output".to_owned(), 45),
                ("total".to_owned(), 165),
            ]
            .into(),
            prompt_name: Some("qa".into()),
            prompt_version: Some(3),
            price: Some(PriceSnapshot {
                model_id: "builtin-gpt-4o-mini".into(),
                model_name: "gpt-4o-mini".into(),
                prices: [
                    ("input".to_owned(), 0.5),
                    ("input_cached_tokens".to_owned(), 0.25),
                    ("output".to_owned(), 2.0),
                ]
                .into(),
            }),
            event_time: at(3_000),
            ..Default::default()
        };
        record.finalize_costs();
        record
    }

    #[test]
    fn every_field_of_a_generation_is_converted() {
        let view = serde_json::to_value(ObservationView::from_record(&generation())).unwrap();
        assert_eq!(
            view,
            json!({
                "id": "282309a565e05723",
                "traceId": "a32c2498e2200160b10a8d302e6917c6",
                "projectId": "p1",
                "type": "GENERATION",
                "name": "llm-call",
                "startTime": "2026-11-27T01:40:51.000Z",
                "endTime": "2026-11-27T01:40:53.500Z",
                "completionStartTime": "2026-11-27T01:40:51.400Z",
                "model": "gpt-4o-mini",
                "modelParameters": {"temperature": 0.2},
                "input": [{"role": "user", "content": "hi"}],
                "output": {"role": "assistant", "content": "hello"},
                "version": "v2",
                "metadata": {"region": "eu", "attributes": {"k": "\"v\""}},
                "usage": {"input": 120, "output": 45, "total": 165, "unit": "TOKENS"},
                "level": "WARNING",
                "statusMessage": "slow",
                "parentObservationId": "root",
                "promptId": null,
                "promptName": "qa",
                "promptVersion": 3,
                "usageDetails": {"input": 100, "input_cached_tokens": 20, "output": 45, "total": 165},
                "costDetails": {"input": 50.0, "input_cached_tokens": 5.0, "output": 90.0, "total": 145.0},
                "environment": "staging",
                "calculatedInputCost": 55.0,
                "calculatedOutputCost": 90.0,
                "calculatedTotalCost": 145.0,
                "latency": 2.5,
                "timeToFirstToken": 0.4,
                "modelId": "builtin-gpt-4o-mini",
                "inputPrice": 0.5,
                "outputPrice": 2.0,
                "totalPrice": null,
            })
        );
    }

    #[test]
    fn a_bare_span_gets_defaults_and_nulls() {
        let record = ObservationRecord {
            project_id: "p1".into(),
            id: "s".into(),
            trace_id: "t".into(),
            event_time: at(7),
            ..Default::default()
        };
        let view = serde_json::to_value(ObservationView::from_record(&record)).unwrap();
        assert_eq!(view["type"], "SPAN");
        assert_eq!(view["level"], "DEFAULT");
        assert_eq!(view["environment"], "default");
        assert_eq!(view["startTime"], "2026-11-27T01:40:51.007Z");
        assert_eq!(
            view["usage"],
            json!({"input": 0, "output": 0, "total": 0, "unit": "TOKENS"})
        );
        assert_eq!(view["metadata"], json!({}));
        for key in [
            "endTime",
            "latency",
            "timeToFirstToken",
            "calculatedTotalCost",
            "modelId",
            "input",
        ] {
            assert!(view[key].is_null(), "{key} should be null");
        }
    }

    #[test]
    fn client_costs_are_reported_as_cost_details() {
        let mut record = generation();
        record.cost_details = [("input".to_owned(), 0.1), ("output".to_owned(), 0.2)].into();
        record.finalize_costs();
        let view = ObservationView::from_record(&record);
        assert_eq!(view.calculated_input_cost, Some(0.1));
        assert_eq!(view.calculated_output_cost, Some(0.2));
        let total = view.calculated_total_cost.unwrap();
        assert!((total - 0.3).abs() < 1e-12);
    }

    #[test]
    fn usage_without_total_falls_back_to_the_sum() {
        let usage = usage_view(&[("input".to_owned(), 3), ("output".to_owned(), 4)].into());
        assert_eq!(
            usage,
            UsageView {
                input: 3,
                output: 4,
                total: 7,
                unit: "TOKENS"
            }
        );
    }
}
