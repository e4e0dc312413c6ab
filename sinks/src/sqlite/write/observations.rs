//! Upserting observations: merge each batch-merged record into its stored row, then write the
//! changed rows in multi-row statements.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use periscope_core::error::BackendResult;
use periscope_core::model::ObservationRecord;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::group::Key;
use super::rows::{execute, fetch_by_keys, insert_head, rows_per_insert, upsert_tail};
use crate::sqlite::columns::{
    environment_column, get, get_body, observation_total_cost, optional_micros, usage_columns,
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

/// A stored observation and its body exactly as stored.
struct Stored {
    record: ObservationRecord,
    body: String,
}

/// Merges `incoming` into the stored observations and writes the changed rows. Returns the
/// `(project_id, trace_id)` of every observation in the batch.
pub(crate) async fn upsert(
    connection: &mut SqliteConnection,
    incoming: BTreeMap<Key, ObservationRecord>,
) -> BackendResult<BTreeSet<Key>> {
    let t0 = std::time::Instant::now();
    let mut stored = load(connection, &incoming.keys().collect::<Vec<_>>()).await?;
    let t1 = t0.elapsed();
    let mut traces = BTreeSet::new();
    let mut changed: Vec<(ObservationRecord, String)> = Vec::with_capacity(incoming.len());
    for (key, record) in incoming {
        let (merged, stored_body) = match stored.remove(&key) {
            Some(Stored {
                record: mut stored_record,
                body,
            }) => {
                stored_record.merge(record);
                (stored_record, Some(body))
            }
            None => {
                let mut record = record;
                // `merge` derives costs; a record seen for the first time needs it too.
                record.finalize_costs();
                (record, None)
            }
        };
        traces.insert((merged.project_id.clone(), merged.trace_id.clone()));
        let body = serde_json::to_string(&merged)
            .map_err(|error| body_error("failed to encode observation body", error))?;
        // A replayed batch merges to the stored row: skip rewriting it.
        if stored_body.as_deref() != Some(body.as_str()) {
            changed.push((merged, body));
        }
    }
    let t2 = t0.elapsed();
    for chunk in changed.chunks(rows_per_insert(COLUMNS.len())) {
        let mut query = QueryBuilder::<Sqlite>::new(insert_head("observations", COLUMNS));
        query.push_values(chunk, |mut row, (record, body)| {
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
        execute(connection, query, "failed to upsert observations").await?;
    }
    eprintln!("  obs load {t1:?} merge {t2:?} insert {:?}", t0.elapsed());
    Ok(traces)
}

async fn load(
    connection: &mut SqliteConnection,
    keys: &[&Key],
) -> BackendResult<HashMap<Key, Stored>> {
    let rows = fetch_by_keys(connection, "observations", "project_id, id, body", keys).await?;
    let mut stored = HashMap::with_capacity(rows.len());
    for row in rows {
        let key: Key = (get(&row, "project_id")?, get(&row, "id")?);
        let body: String = get(&row, "body")?;
        let record: ObservationRecord = get_body(&row)?;
        stored.insert(key, Stored { record, body });
    }
    Ok(stored)
}
