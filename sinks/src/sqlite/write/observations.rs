//! Upserting observations: merge each batch-merged record into its stored row, then write the
//! changed rows in multi-row statements.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use periscope_core::error::BackendResult;
use periscope_core::model::ObservationRecord;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::experiments;
use super::group::Key;
use super::rows::{execute, fetch_by_keys, insert_head, rows_per_insert, upsert_tail};
use crate::sqlite::columns::{
    environment_column, get, observation_total_cost, optional_micros, usage_columns,
};
use crate::sqlite::connect::body_error;

const COLUMNS: &[&str] = &[
    "project_id",
    "id",
    "trace_id",
    "parent_observation_id",
    "type",
    "name",
    "start_time",
    "end_time",
    "level",
    "version",
    "environment",
    "model",
    "total_cost",
    "usage_input",
    "usage_output",
    "usage_total",
    "body",
];

/// Merges `incoming` into the stored observations and writes the changed rows. Returns the
/// `(project_id, trace_id)` of every observation in the batch.
pub(crate) async fn upsert(
    connection: &mut SqliteConnection,
    incoming: BTreeMap<Key, ObservationRecord>,
) -> BackendResult<BTreeSet<Key>> {
    let mut merger = Merger {
        stored: load(connection, &incoming.keys().collect::<Vec<_>>()).await?,
        incoming: incoming.into_iter(),
        traces: BTreeSet::new(),
    };
    let rows_per_statement = rows_per_insert(COLUMNS.len());
    let mut ready = merger.next_rows(rows_per_statement)?;
    while !ready.is_empty() {
        // Encode the next rows while SQLite (on its worker thread) inserts these: the two
        // halves of a write take about as long as each other, and the machine has two cores.
        let (inserted, next) = tokio::join!(
            biased;
            insert(connection, &ready),
            async { merger.next_rows(rows_per_statement) },
        );
        inserted?;
        experiments::index(connection, &ready).await?;
        ready = next?;
    }
    Ok(merger.traces)
}

/// Merges incoming records into stored ones, a statement's worth of rows at a time.
struct Merger {
    /// Stored bodies by key, decoded only when merged (in the overlapped half of a write).
    stored: HashMap<Key, String>,
    incoming: std::collections::btree_map::IntoIter<Key, ObservationRecord>,
    traces: BTreeSet<Key>,
}

impl Merger {
    /// Returns up to `limit` merged rows that differ from the stored ones, with their bodies.
    fn next_rows(&mut self, limit: usize) -> BackendResult<Vec<(ObservationRecord, String)>> {
        let mut rows = Vec::with_capacity(limit);
        while rows.len() < limit {
            let Some((key, record)) = self.incoming.next() else {
                break;
            };
            let (merged, stored_body) = match self.stored.remove(&key) {
                Some(body) => {
                    let mut stored: ObservationRecord =
                        serde_json::from_str(&body).map_err(|error| {
                            body_error("failed to decode stored observation body", error)
                        })?;
                    stored.merge(record);
                    (stored, Some(body))
                }
                None => {
                    let mut record = record;
                    // `merge` derives costs; a record seen for the first time needs it too.
                    record.finalize_costs();
                    (record, None)
                }
            };
            self.traces.insert((key.0, merged.trace_id.clone()));
            let body = serde_json::to_string(&merged)
                .map_err(|error| body_error("failed to encode observation body", error))?;
            // A replayed batch merges to the stored row: skip rewriting it.
            if stored_body.as_deref() != Some(body.as_str()) {
                rows.push((merged, body));
            }
        }
        Ok(rows)
    }
}

async fn insert(
    connection: &mut SqliteConnection,
    rows: &[(ObservationRecord, String)],
) -> BackendResult<()> {
    let mut query = QueryBuilder::<Sqlite>::new(insert_head("observations", COLUMNS));
    query.push_values(rows, |mut row, (record, body)| {
        let usage = usage_columns(record);
        row.push_bind(record.project_id.as_str())
            .push_bind(record.id.as_str())
            .push_bind(record.trace_id.as_str())
            .push_bind(record.parent_observation_id.as_deref())
            .push_bind(record.observation_type.map(|kind| kind.as_str()))
            .push_bind(record.name.as_deref())
            .push_bind(optional_micros(record.start_time))
            .push_bind(optional_micros(record.end_time))
            .push_bind(record.level.map(|level| level.as_str()))
            .push_bind(record.version.as_deref())
            .push_bind(environment_column(record.environment.as_deref()))
            .push_bind(record.model.as_deref())
            .push_bind(observation_total_cost(record))
            .push_bind(usage.input)
            .push_bind(usage.output)
            .push_bind(usage.total)
            .push_bind(body.as_str());
    });
    query.push(upsert_tail(COLUMNS));
    execute(connection, query, "failed to upsert observations").await
}

async fn load(
    connection: &mut SqliteConnection,
    keys: &[&Key],
) -> BackendResult<HashMap<Key, String>> {
    let select = "SELECT project_id, id, body FROM observations WHERE project_id = ";
    let rows = fetch_by_keys(connection, select, "id", "", keys).await?;
    let mut stored = HashMap::with_capacity(rows.len());
    for row in rows {
        stored.insert(
            (get(&row, "project_id")?, get(&row, "id")?),
            get(&row, "body")?,
        );
    }
    Ok(stored)
}
