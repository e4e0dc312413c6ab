//! Upserting observations: merge each batch-merged record into its newest stored version and
//! insert the rows that changed, and index the dataset experiment spans among them
//! (`experiment_items`, docs/adr/0007).
//!
//! Preparing and inserting are two steps so that the batch's traces can be written in between:
//! a reader that finds an observation then also finds its trace's record (ClickHouse has no
//! snapshot to hide the gap the other order leaves).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use clickhouse::Row;
use periscope_core::error::BackendResult;
use periscope_core::model::{ObservationRecord, merge_earliest};
use serde::Deserialize;

use super::group::{Key, by_project};
use super::{Writer, next_version};
use crate::clickhouse::connect::body_error;
use crate::clickhouse::rows::{ObservationRow, micros, observation_key_time};
use crate::clickhouse::score_rows::ExperimentItemRow;
use crate::clickhouse::sql::Sql;

/// The newest stored version of an observation.
#[derive(Debug, Row, Deserialize)]
struct Stored {
    id: String,
    timestamp: i64,
    body: String,
    row_version: u64,
    is_deleted: u8,
}

const STORED_COLUMNS: &str = "id, timestamp, body, row_version, is_deleted";

/// The rows a batch of observations adds, merged but not yet inserted.
pub(crate) struct Prepared {
    rows: Vec<ObservationRow>,
    experiment_items: Vec<ExperimentItemRow>,
    /// Every `(project_id, trace_id)` of the batch's observations, with the earliest start
    /// time among them (if any has one).
    pub(crate) trace_starts: BTreeMap<Key, Option<i64>>,
}

impl Prepared {
    /// Inserts the prepared rows.
    pub(crate) async fn insert(self, writer: &Writer<'_>) -> BackendResult<()> {
        writer.insert("observations", &self.rows).await?;
        writer
            .insert("experiment_items", &self.experiment_items)
            .await
    }
}

/// Merges `incoming` into the stored observations and returns the rows that changed.
pub(crate) async fn prepare(
    writer: &Writer<'_>,
    incoming: BTreeMap<Key, ObservationRecord>,
) -> BackendResult<Prepared> {
    let mut stored: HashMap<Key, Stored> = HashMap::with_capacity(incoming.len());
    for (project_id, ids) in by_project(incoming.keys()) {
        let trace_of = |id: &String| {
            incoming
                .get(&(project_id.clone(), id.clone()))
                .map_or("", |record| record.trace_id.as_str())
        };
        // An update may come without its trace id: those rows are looked up by id alone.
        let (with_trace, without_trace): (Vec<String>, Vec<String>) =
            ids.into_iter().partition(|id| !trace_of(id).is_empty());
        // An observation never changes its trace, and the trace id leads the id in the sorting
        // key (docs/adr/0021): without it, the id bloom filter alone let a 500-id lookup read
        // about half of all granules. "" also finds rows first stored without a trace id.
        let in_traces = |sql: &mut Sql, chunk: &[String]| {
            let mut trace_ids: BTreeSet<&str> = chunk.iter().map(trace_of).collect();
            trace_ids.insert("");
            let trace_ids: Vec<String> = trace_ids.into_iter().map(str::to_owned).collect();
            sql.push(" AND trace_id IN ");
            sql.bind_texts(&trace_ids);
        };
        let mut rows: Vec<Stored> = writer
            .load_latest_narrowed(
                "observations",
                STORED_COLUMNS,
                &project_id,
                &with_trace,
                in_traces,
            )
            .await?;
        rows.extend(
            writer
                .load_latest::<Stored>("observations", STORED_COLUMNS, &project_id, &without_trace)
                .await?,
        );
        for row in rows {
            stored.insert((project_id.clone(), row.id.clone()), row);
        }
    }
    let mut trace_starts: BTreeMap<Key, Option<i64>> = BTreeMap::new();
    let mut rows = Vec::with_capacity(incoming.len());
    let mut experiment_items = Vec::new();
    for (key, record) in incoming {
        let previous = stored.remove(&key);
        let (merged, previous) = match previous {
            Some(previous) if previous.is_deleted == 0 => {
                let mut merged: ObservationRecord =
                    serde_json::from_str(&previous.body).map_err(|error| {
                        body_error("failed to decode stored observation body", error)
                    })?;
                merged.merge(record);
                (merged, Some(previous))
            }
            deleted_or_missing => {
                let mut record = record;
                // `merge` derives costs; a record seen for the first time needs it too.
                record.finalize_costs();
                (record, deleted_or_missing)
            }
        };
        merge_earliest(
            trace_starts
                .entry((key.0.clone(), merged.trace_id.clone()))
                .or_default(),
            merged.start_time.map(micros),
        );
        let body = serde_json::to_string(&merged)
            .map_err(|error| body_error("failed to encode observation body", error))?;
        let key_time = observation_key_time(&merged);
        // A replayed batch merges to the stored row: skip rewriting it.
        let unchanged = previous.as_ref().is_some_and(|previous| {
            previous.is_deleted == 0 && previous.body == body && previous.timestamp == key_time
        });
        if unchanged {
            continue;
        }
        let version = next_version(previous.as_ref().map(|previous| previous.row_version));
        if let Some(previous) = previous.filter(|previous| previous.timestamp != key_time) {
            // The sorting key moved: hide the version stored under the old key.
            rows.push(ObservationRow::tombstone(
                &merged.project_id,
                &merged.id,
                &merged.trace_id,
                previous.timestamp,
                version - 1,
            ));
        }
        experiment_items.extend(ExperimentItemRow::from_observation(&merged, version));
        rows.push(ObservationRow::new(&merged, body, version));
    }
    Ok(Prepared {
        rows,
        experiment_items,
        trace_starts,
    })
}
