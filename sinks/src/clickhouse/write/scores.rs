//! Upserting and deleting scores: whole-record upserts by id where the newer event time wins.
//! A deleted score (in `deleted_scores`) is written again only by an event newer than its
//! deletion.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use clickhouse::{Client, Row};
use periscope_core::error::BackendResult;
use periscope_core::model::ScoreRecord;
use serde::{Deserialize, Serialize};

use super::group::{Key, by_project};
use super::{IDS_PER_QUERY, Writer, next_version};
use crate::clickhouse::connect::{body_error, ch_error};
use crate::clickhouse::rows::micros;
use crate::clickhouse::score_rows::ScoreRow;
use crate::clickhouse::sql::Sql;

/// The newest stored version of a score.
#[derive(Debug, Row, Deserialize)]
struct Stored {
    id: String,
    timestamp: i64,
    event_time: i64,
    body: String,
    row_version: u64,
    is_deleted: u8,
}

const STORED_COLUMNS: &str = "id, timestamp, event_time, body, row_version, is_deleted";

#[derive(Debug, Row, Deserialize)]
struct Deletion {
    id: String,
    deleted_at: i64,
}

#[derive(Debug, Row, Serialize)]
struct DeletionRow {
    project_id: String,
    id: String,
    deleted_at: i64,
}

/// Writes the scores of `incoming` that are at least as new as the stored ones and newer than
/// their deletion.
pub(crate) async fn upsert(
    writer: &Writer<'_>,
    incoming: BTreeMap<Key, ScoreRecord>,
) -> BackendResult<()> {
    let mut stored: HashMap<Key, Stored> = HashMap::with_capacity(incoming.len());
    let mut deleted_at: HashMap<Key, i64> = HashMap::new();
    for (project_id, ids) in by_project(incoming.keys()) {
        let rows: Vec<Stored> = writer
            .load_latest("scores", STORED_COLUMNS, &project_id, &ids)
            .await?;
        for row in rows {
            stored.insert((project_id.clone(), row.id.clone()), row);
        }
        for deletion in load_deletions(writer.client, &project_id, &ids).await? {
            deleted_at.insert((project_id.clone(), deletion.id), deletion.deleted_at);
        }
    }
    let mut rows = Vec::with_capacity(incoming.len());
    for (key, score) in incoming {
        let event_time = micros(score.event_time);
        let previous = stored.remove(&key);
        let live = previous
            .as_ref()
            .filter(|previous| previous.is_deleted == 0);
        let newer = live.is_none_or(|live| event_time >= live.event_time)
            && deleted_at
                .get(&key)
                .is_none_or(|deleted_at| event_time > *deleted_at);
        if !newer {
            continue;
        }
        let body = serde_json::to_string(&score)
            .map_err(|error| body_error("failed to encode score body", error))?;
        let key_time = micros(score.timestamp);
        if live.is_some_and(|live| live.body == body && live.timestamp == key_time) {
            continue;
        }
        let version = next_version(previous.as_ref().map(|previous| previous.row_version));
        if let Some(live) = live.filter(|live| live.timestamp != key_time) {
            rows.push(ScoreRow::tombstone(
                &score.project_id,
                &score.id,
                live.timestamp,
                version - 1,
            ));
        }
        rows.push(ScoreRow::new(&score, body, version));
    }
    writer.insert("scores", &rows).await
}

async fn load_deletions(
    client: &Client,
    project_id: &str,
    ids: &[String],
) -> BackendResult<Vec<Deletion>> {
    let mut deletions = Vec::new();
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let mut sql = Sql::new(
            "SELECT id, max(deleted_at) AS deleted_at FROM deleted_scores WHERE project_id = ",
        );
        sql.bind_text(project_id).push(" AND id IN ");
        sql.bind_texts(chunk).push(" GROUP BY id");
        let mut fetched = sql
            .query(client)
            .fetch_all::<Deletion>()
            .await
            .map_err(|error| ch_error("failed to load score deletions", error))?;
        deletions.append(&mut fetched);
    }
    Ok(deletions)
}

/// Deletes one score and records the deletion; returns whether the score existed.
pub(crate) async fn delete(
    writer: &Writer<'_>,
    project_id: &str,
    score_id: &str,
) -> BackendResult<bool> {
    let ids = [score_id.to_owned()];
    let stored: Vec<Stored> = writer
        .load_latest("scores", STORED_COLUMNS, project_id, &ids)
        .await?;
    let previous = stored.into_iter().next();
    let existed = previous.as_ref().is_some_and(|row| row.is_deleted == 0);
    // The deletion is recorded first: should the tombstone fail, a retry still finds it.
    let deletion = DeletionRow {
        project_id: project_id.to_owned(),
        id: score_id.to_owned(),
        deleted_at: micros(Utc::now()),
    };
    writer.insert("deleted_scores", &[deletion]).await?;
    if let Some(previous) = previous.filter(|row| row.is_deleted == 0) {
        let version = next_version(Some(previous.row_version));
        let tombstone = ScoreRow::tombstone(project_id, score_id, previous.timestamp, version);
        writer.insert("scores", &[tombstone]).await?;
    }
    Ok(existed)
}
