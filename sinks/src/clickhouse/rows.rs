//! The rows inserted into ClickHouse, built from merged records, and the derived columns they
//! carry beside the record's JSON `body`.

use chrono::{DateTime, Utc};
use clickhouse::Row;
use periscope_core::model::{ObservationRecord, TraceRecord, cost_total};
use serde::Serialize;
use serde_json::Value;

/// The environment of records that name none (Langfuse's default).
pub(crate) const DEFAULT_ENVIRONMENT: &str = "default";

/// Characters of input/output kept in the preview columns.
const PREVIEW_CHARS: usize = 200;

/// Where a trace's effective timestamp came from (`traces.timestamp_source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimestampSource {
    /// The record's own timestamp.
    Own = 0,
    /// The earliest start of the trace's observations.
    Observations = 1,
    /// None known: the column holds the first event time and reads back as no timestamp.
    Unknown = 2,
}

impl TimestampSource {
    /// Returns the source stored as `value`.
    pub(crate) fn from_column(value: u8) -> Self {
        match value {
            0 => Self::Own,
            1 => Self::Observations,
            _ => Self::Unknown,
        }
    }
}

/// Returns a time as stored: unix microseconds.
pub(crate) fn micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

/// Returns the JSON text of `value` cut to the preview length ("" when absent).
fn preview(value: Option<&Value>) -> String {
    let Some(value) = value else {
        return String::new();
    };
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    text.chars().take(PREVIEW_CHARS).collect()
}

/// Returns metadata as a `Map(String, String)` of JSON-encoded values.
fn metadata_column(metadata: &std::collections::BTreeMap<String, Value>) -> Vec<(String, String)> {
    metadata
        .iter()
        .map(|(key, value)| (key.clone(), value.to_string()))
        .collect()
}

/// One version of a trace row.
#[derive(Debug, Row, Serialize)]
pub(crate) struct TraceRow {
    pub(crate) project_id: String,
    pub(crate) id: String,
    pub(crate) timestamp: i64,
    pub(crate) timestamp_source: u8,
    pub(crate) name: Option<String>,
    pub(crate) user_id: Option<String>,
    pub(crate) session_id: Option<String>,
    pub(crate) release: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) environment: String,
    pub(crate) tags: Vec<String>,
    pub(crate) metadata: Vec<(String, String)>,
    pub(crate) input_preview: String,
    pub(crate) output_preview: String,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) body: String,
    pub(crate) row_version: u64,
    pub(crate) is_deleted: u8,
}

/// What a trace version is selected by before the newest version is picked: its sorting-key
/// time, user and session.
#[derive(Debug)]
pub(crate) struct TraceIdentity {
    pub(crate) timestamp: i64,
    pub(crate) user_id: Option<String>,
    pub(crate) session_id: Option<String>,
}

impl TraceRow {
    /// Returns the row of a merged trace.
    pub(crate) fn new(
        record: &TraceRecord,
        body: String,
        timestamp: i64,
        source: TimestampSource,
        created_at: i64,
        row_version: u64,
    ) -> Self {
        Self {
            project_id: record.project_id.clone(),
            id: record.id.clone(),
            timestamp,
            timestamp_source: source as u8,
            name: record.name.clone(),
            user_id: record.user_id.clone(),
            session_id: record.session_id.clone(),
            release: record.release.clone(),
            version: record.version.clone(),
            environment: environment_column(record.environment.as_deref()),
            tags: record.tags.clone(),
            metadata: metadata_column(&record.metadata),
            input_preview: preview(record.input.as_ref()),
            output_preview: preview(record.output.as_ref()),
            created_at,
            updated_at: micros(record.event_time),
            body,
            row_version,
            is_deleted: 0,
        }
    }

    /// Returns a deletion marker for the row version stored under `identity`: it shares that
    /// version's sorting key, so merges collapse the two, and it hides it from reads at once,
    /// also from reads that select rows by user or session before picking the newest.
    pub(crate) fn tombstone(
        project_id: &str,
        id: &str,
        identity: TraceIdentity,
        row_version: u64,
    ) -> Self {
        let TraceIdentity {
            timestamp,
            user_id,
            session_id,
        } = identity;
        Self {
            project_id: project_id.to_owned(),
            id: id.to_owned(),
            timestamp,
            timestamp_source: TimestampSource::Unknown as u8,
            name: None,
            user_id,
            session_id,
            release: None,
            version: None,
            environment: String::new(),
            tags: Vec::new(),
            metadata: Vec::new(),
            input_preview: String::new(),
            output_preview: String::new(),
            created_at: timestamp,
            updated_at: timestamp,
            body: String::new(),
            row_version,
            is_deleted: 1,
        }
    }
}

/// One version of an observation row.
#[derive(Debug, Row, Serialize)]
pub(crate) struct ObservationRow {
    pub(crate) project_id: String,
    pub(crate) id: String,
    pub(crate) trace_id: String,
    pub(crate) parent_observation_id: Option<String>,
    #[serde(rename = "type")]
    pub(crate) observation_type: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) timestamp: i64,
    pub(crate) start_time: Option<i64>,
    pub(crate) end_time: Option<i64>,
    pub(crate) level: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) environment: String,
    pub(crate) model: Option<String>,
    pub(crate) total_cost: Option<f64>,
    pub(crate) usage_input: Option<i64>,
    pub(crate) usage_output: Option<i64>,
    pub(crate) usage_total: Option<i64>,
    pub(crate) usage_details: Vec<(String, i64)>,
    pub(crate) cost_details: Vec<(String, f64)>,
    pub(crate) metadata: Vec<(String, String)>,
    pub(crate) input_preview: String,
    pub(crate) output_preview: String,
    pub(crate) body: String,
    pub(crate) row_version: u64,
    pub(crate) is_deleted: u8,
}

/// Returns the sorting-key time of an observation: its start, else its event time.
pub(crate) fn observation_key_time(record: &ObservationRecord) -> i64 {
    micros(record.start_time.unwrap_or(record.event_time))
}

impl ObservationRow {
    /// Returns the row of a merged observation (costs already finalized).
    pub(crate) fn new(record: &ObservationRecord, body: String, row_version: u64) -> Self {
        let usage = usage_columns(record);
        Self {
            project_id: record.project_id.clone(),
            id: record.id.clone(),
            trace_id: record.trace_id.clone(),
            parent_observation_id: record.parent_observation_id.clone(),
            observation_type: record.observation_type.map(|kind| kind.as_str().to_owned()),
            name: record.name.clone(),
            timestamp: observation_key_time(record),
            start_time: record.start_time.map(micros),
            end_time: record.end_time.map(micros),
            level: record.level.map(|level| level.as_str().to_owned()),
            version: record.version.clone(),
            environment: environment_column(record.environment.as_deref()),
            model: record.model.clone(),
            total_cost: cost_total(&record.calculated_cost_details),
            usage_input: usage.input,
            usage_output: usage.output,
            usage_total: usage.total,
            usage_details: record
                .usage_details
                .iter()
                .map(|(key, units)| (key.clone(), *units))
                .collect(),
            cost_details: record
                .calculated_cost_details
                .iter()
                .map(|(key, cost)| (key.clone(), *cost))
                .collect(),
            metadata: metadata_column(&record.metadata),
            input_preview: preview(record.input.as_ref()),
            output_preview: preview(record.output.as_ref()),
            body,
            row_version,
            is_deleted: 0,
        }
    }

    /// Returns a deletion marker for the row version stored under `timestamp` (see
    /// [`TraceRow::tombstone`]).
    pub(crate) fn tombstone(
        project_id: &str,
        id: &str,
        trace_id: &str,
        timestamp: i64,
        row_version: u64,
    ) -> Self {
        Self {
            project_id: project_id.to_owned(),
            id: id.to_owned(),
            trace_id: trace_id.to_owned(),
            parent_observation_id: None,
            observation_type: None,
            name: None,
            timestamp,
            start_time: None,
            end_time: None,
            level: None,
            version: None,
            environment: String::new(),
            model: None,
            total_cost: None,
            usage_input: None,
            usage_output: None,
            usage_total: None,
            usage_details: Vec::new(),
            cost_details: Vec::new(),
            metadata: Vec::new(),
            input_preview: String::new(),
            output_preview: String::new(),
            body: String::new(),
            row_version,
            is_deleted: 1,
        }
    }
}

/// Returns the stored environment of a record.
fn environment_column(environment: Option<&str>) -> String {
    environment.unwrap_or(DEFAULT_ENVIRONMENT).to_owned()
}

/// Usage totals stored beside an observation for daily metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct UsageColumns {
    input: Option<i64>,
    output: Option<i64>,
    /// The `total` key when the client sent one, else input + output.
    total: Option<i64>,
}

fn usage_columns(observation: &ObservationRecord) -> UsageColumns {
    let input = observation.usage_details.get("input").copied();
    let output = observation.usage_details.get("output").copied();
    let total = observation
        .usage_details
        .get("total")
        .copied()
        .or(match (input, output) {
            (None, None) => None,
            (input, output) => Some(input.unwrap_or(0).saturating_add(output.unwrap_or(0))),
        });
    UsageColumns {
        input,
        output,
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn previews_are_cut_on_character_boundaries() {
        let long = "é".repeat(500);
        assert_eq!(preview(Some(&json!(long))).chars().count(), PREVIEW_CHARS);
        assert_eq!(preview(Some(&json!({"a": 1}))), "{\"a\":1}");
        assert_eq!(preview(None), "");
    }

    #[test]
    fn usage_total_prefers_the_clients_total_and_else_adds_input_and_output() {
        let mut observation = ObservationRecord {
            usage_details: [("input".to_string(), 3), ("output".to_string(), 4)].into(),
            ..ObservationRecord::default()
        };
        assert_eq!(usage_columns(&observation).total, Some(7));
        observation.usage_details.insert("total".into(), 10);
        assert_eq!(usage_columns(&observation).total, Some(10));
        observation.usage_details.clear();
        assert_eq!(usage_columns(&observation).total, None);
    }
}
