//! The rows of the score and experiment tables, built from records.

use clickhouse::Row;
use periscope_core::datasets::ExperimentSpan;
use periscope_core::model::{ObservationRecord, ScoreRecord};
use serde::Serialize;

use super::rows::micros;

/// One version of a score row.
#[derive(Debug, Row, Serialize)]
pub(crate) struct ScoreRow {
    pub(crate) project_id: String,
    pub(crate) id: String,
    pub(crate) trace_id: Option<String>,
    pub(crate) observation_id: Option<String>,
    pub(crate) session_id: Option<String>,
    pub(crate) dataset_run_id: Option<String>,
    pub(crate) name: String,
    pub(crate) data_type: String,
    pub(crate) source: String,
    pub(crate) timestamp: i64,
    pub(crate) environment: String,
    pub(crate) config_id: Option<String>,
    pub(crate) event_time: i64,
    pub(crate) body: String,
    pub(crate) row_version: u64,
    pub(crate) is_deleted: u8,
}

impl ScoreRow {
    /// Returns the row of a score.
    pub(crate) fn new(record: &ScoreRecord, body: String, row_version: u64) -> Self {
        Self {
            project_id: record.project_id.clone(),
            id: record.id.clone(),
            trace_id: record.trace_id.clone(),
            observation_id: record.observation_id.clone(),
            session_id: record.session_id.clone(),
            dataset_run_id: record.dataset_run_id.clone(),
            name: record.name.clone(),
            data_type: record.data_type.as_str().to_owned(),
            source: record.source.as_str().to_owned(),
            timestamp: micros(record.timestamp),
            environment: record.environment.clone(),
            config_id: record.config_id.clone(),
            event_time: micros(record.event_time),
            body,
            row_version,
            is_deleted: 0,
        }
    }

    /// Returns a deletion marker for the row version stored under `timestamp` (see
    /// [`TraceRow::tombstone`](super::rows::TraceRow::tombstone)).
    pub(crate) fn tombstone(project_id: &str, id: &str, timestamp: i64, row_version: u64) -> Self {
        Self {
            project_id: project_id.to_owned(),
            id: id.to_owned(),
            trace_id: None,
            observation_id: None,
            session_id: None,
            dataset_run_id: None,
            name: String::new(),
            data_type: String::new(),
            source: String::new(),
            timestamp,
            environment: String::new(),
            config_id: None,
            event_time: timestamp,
            body: String::new(),
            row_version,
            is_deleted: 1,
        }
    }
}

/// One observation's view of a dataset experiment run item (`experiment_items`).
#[derive(Debug, Row, Serialize)]
pub(crate) struct ExperimentItemRow {
    pub(crate) project_id: String,
    pub(crate) dataset_id: String,
    pub(crate) run_id: String,
    pub(crate) run_name: String,
    pub(crate) dataset_item_id: String,
    pub(crate) trace_id: String,
    pub(crate) span_id: String,
    pub(crate) observation_id: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) metadata: Option<String>,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) row_version: u64,
}

impl ExperimentItemRow {
    /// Returns the row of a merged observation whose metadata names a dataset experiment.
    pub(crate) fn from_observation(record: &ObservationRecord, row_version: u64) -> Option<Self> {
        let span = ExperimentSpan::from_metadata(&record.metadata)?;
        let time = micros(record.start_time.unwrap_or(record.event_time));
        Some(Self {
            project_id: record.project_id.clone(),
            dataset_id: span.dataset_id,
            run_id: span.run_id,
            run_name: span.run_name,
            dataset_item_id: span.dataset_item_id,
            trace_id: record.trace_id.clone(),
            span_id: record.id.clone(),
            observation_id: span.root_observation_id,
            description: span.description,
            metadata: span.metadata,
            created_at: time,
            updated_at: time,
            row_version,
        })
    }
}
