//! Upserting scores: whole-record upserts by id, where the newer event time wins.

use std::collections::{BTreeMap, HashMap};

use periscope_core::error::BackendResult;
use periscope_core::model::ScoreRecord;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::group::Key;
use super::rows::{execute, fetch_by_keys, insert_head, rows_per_insert, upsert_tail};
use crate::sqlite::columns::{get, micros};
use crate::sqlite::connect::body_error;

const COLUMNS: &[&str] = &[
    "project_id",
    "id",
    "trace_id",
    "observation_id",
    "session_id",
    "dataset_run_id",
    "name",
    "data_type",
    "source",
    "timestamp",
    "environment",
    "config_id",
    "event_time",
    "body",
];

/// Writes the scores of `incoming` that are at least as new as the stored ones.
pub(crate) async fn upsert(
    connection: &mut SqliteConnection,
    incoming: BTreeMap<Key, ScoreRecord>,
) -> BackendResult<()> {
    let keys: Vec<&Key> = incoming.keys().collect();
    let select = "SELECT project_id, id, event_time FROM scores WHERE project_id = ";
    let rows = fetch_by_keys(connection, select, "id", "", &keys).await?;
    let mut stored_event_times = HashMap::with_capacity(rows.len());
    for row in rows {
        let key: Key = (get(&row, "project_id")?, get(&row, "id")?);
        stored_event_times.insert(key, get::<i64>(&row, "event_time")?);
    }
    let mut changed = Vec::with_capacity(incoming.len());
    for (key, score) in incoming {
        let newer = stored_event_times
            .get(&key)
            .is_none_or(|stored_event_time| micros(score.event_time) >= *stored_event_time);
        if newer {
            let body = serde_json::to_string(&score)
                .map_err(|error| body_error("failed to encode score body", error))?;
            changed.push((score, body));
        }
    }
    for chunk in changed.chunks(rows_per_insert(COLUMNS.len())) {
        let mut query = QueryBuilder::<Sqlite>::new(insert_head("scores", COLUMNS));
        query.push_values(chunk, |mut values, (score, body)| {
            values
                .push_bind(score.project_id.as_str())
                .push_bind(score.id.as_str())
                .push_bind(score.trace_id.as_deref())
                .push_bind(score.observation_id.as_deref())
                .push_bind(score.session_id.as_deref())
                .push_bind(score.dataset_run_id.as_deref())
                .push_bind(score.name.as_str())
                .push_bind(score.data_type.as_str())
                .push_bind(score.source.as_str())
                .push_bind(micros(score.timestamp))
                .push_bind(score.environment.as_str())
                .push_bind(score.config_id.as_deref())
                .push_bind(micros(score.event_time))
                .push_bind(body.as_str());
        });
        query.push(upsert_tail(COLUMNS));
        execute(connection, query, "failed to upsert scores").await?;
    }
    Ok(())
}
