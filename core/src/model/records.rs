//! Partial records: what the processors emit onto `periscope.records.v1` and the stores merge.
//!
//! Every field except the identity is optional, because one trace or observation is assembled
//! from many events (OTLP children before parents, legacy `*-update` before `*-create`). The
//! merge rules live in `merge.rs`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::enums::{Level, ObservationType, ScoreDataType, ScoreSource};

/// One enriched record, as carried on the records topic (JSON, tagged by `kind`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    Trace(TraceRecord),
    Observation(ObservationRecord),
    Score(ScoreRecord),
}

impl Record {
    /// Returns the project the record belongs to.
    pub fn project_id(&self) -> &str {
        match self {
            Record::Trace(t) => &t.project_id,
            Record::Observation(o) => &o.project_id,
            Record::Score(s) => &s.project_id,
        }
    }

    /// Returns the trace the record belongs to, if any (a session score has none).
    pub fn trace_id(&self) -> Option<&str> {
        match self {
            Record::Trace(t) => Some(&t.id),
            Record::Observation(o) => Some(&o.trace_id),
            Record::Score(s) => s.trace_id.as_deref(),
        }
    }
}

/// A (partial) trace. `None`/empty fields carry no information and never erase stored values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceRecord {
    pub project_id: String,
    pub id: String,
    /// Start of the trace; the earliest value seen wins (immutable in Langfuse semantics).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Immutable after the first write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// Merged key-wise.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, Value>,
    /// A set: merged by union, kept sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public: Option<bool>,
    /// When the event that produced this record happened; the newer record's fields win.
    pub event_time: DateTime<Utc>,
}

/// A (partial) observation of any of the ten types.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservationRecord {
    pub project_id: String,
    pub id: String,
    /// Immutable after the first write.
    pub trace_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_observation_id: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub observation_type: Option<ObservationType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Immutable after the first write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_start_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// A JSON object of parameter name to value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_parameters: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Immutable after the first write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Normalised usage: `input`, `output`, `total`, `input_cached_tokens`, ... (see cost).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub usage_details: BTreeMap<String, i64>,
    /// Costs given by the client; they always win over calculated ones.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cost_details: BTreeMap<String, f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_version: Option<i64>,
    /// Prices resolved by the cost processor for `model` at `start_time`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<PriceSnapshot>,
    /// True when `usage_details` was counted by Periscope because the client sent none.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub usage_estimated: bool,
    /// Derived on merge (see `ObservationRecord::finalize_costs`); never sent by processors.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub calculated_cost_details: BTreeMap<String, f64>,
    /// Derived on merge: where the cost came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_source: Option<CostSource>,
    pub event_time: DateTime<Utc>,
}

/// Prices of one model, per usage key (`input`, `output`, `input_cached_tokens`, ...), in USD
/// per unit (token).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceSnapshot {
    /// Id of the matched model definition (built-in or project-specific).
    pub model_id: String,
    /// Name of the matched model definition.
    pub model_name: String,
    pub prices: BTreeMap<String, f64>,
}

/// Where an observation's cost came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostSource {
    /// The client sent `costDetails`.
    Client,
    /// Usage × the catalog price.
    Calculated,
    /// A model was used but no price matched: flagged, never silently zero.
    Unpriced,
}

/// A score on a trace, observation, session or dataset run. Scores are upserts by `id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoreRecord {
    pub project_id: String,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_run_id: Option<String>,
    pub name: String,
    /// Numeric value: the number for NUMERIC, 1/0 for BOOLEAN, 0 (or a config mapping) for
    /// CATEGORICAL.
    pub value: f64,
    /// The label for CATEGORICAL, `"True"`/`"False"` for BOOLEAN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    pub data_type: ScoreDataType,
    pub source: ScoreSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_user_id: Option<String>,
    pub environment: String,
    pub timestamp: DateTime<Utc>,
    pub event_time: DateTime<Utc>,
}
