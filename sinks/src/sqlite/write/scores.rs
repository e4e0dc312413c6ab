//! Upserting scores: whole-record upserts by id, where the newer event time wins. A deleted
//! score (in `deleted_scores`) is written again only by an event newer than its deletion.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use periscope_core::error::BackendResult;
use periscope_core::model::ScoreRecord;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool};

use super::group::Key;
use super::rows::{execute, fetch_by_keys, insert_head, rows_per_insert, upsert_tail};
use crate::sqlite::columns::{get, micros};
use crate::sqlite::connect::{body_error, db_error};

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
    let select = "SELECT project_id, id, deleted_at FROM deleted_scores WHERE project_id = ";
    let rows = fetch_by_keys(connection, select, "id", "", &keys).await?;
    let mut deleted_at = HashMap::with_capacity(rows.len());
    for row in rows {
        let key: Key = (get(&row, "project_id")?, get(&row, "id")?);
        deleted_at.insert(key, get::<i64>(&row, "deleted_at")?);
    }
    let mut changed = Vec::with_capacity(incoming.len());
    for (key, score) in incoming {
        let event_time = micros(score.event_time);
        let newer = stored_event_times
            .get(&key)
            .is_none_or(|stored_event_time| event_time >= *stored_event_time)
            && deleted_at
                .get(&key)
                .is_none_or(|deleted_at| event_time > *deleted_at);
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

/// Deletes one score and records the deletion (see the module docs); returns whether the
/// score existed.
pub(crate) async fn delete(
    writer: &SqlitePool,
    project_id: &str,
    score_id: &str,
) -> BackendResult<bool> {
    let mut transaction = writer
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(|error| db_error("failed to begin score deletion", error))?;
    let deleted = sqlx::query("DELETE FROM scores WHERE project_id = ? AND id = ?")
        .bind(project_id)
        .bind(score_id)
        .execute(&mut *transaction)
        .await
        .map_err(|error| db_error("failed to delete score", error))?
        .rows_affected()
        > 0;
    sqlx::query(
        "INSERT INTO deleted_scores (project_id, id, deleted_at) VALUES (?, ?, ?) \
         ON CONFLICT (project_id, id) DO UPDATE SET deleted_at = excluded.deleted_at",
    )
    .bind(project_id)
    .bind(score_id)
    .bind(micros(Utc::now()))
    .execute(&mut *transaction)
    .await
    .map_err(|error| db_error("failed to record score deletion", error))?;
    transaction
        .commit()
        .await
        .map_err(|error| db_error("failed to commit score deletion", error))?;
    Ok(deleted)
}
