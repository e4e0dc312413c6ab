//! Upserting traces: merge, derive the effective timestamp, keep the tag side table in step.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use periscope_core::error::BackendResult;
use periscope_core::model::TraceRecord;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::group::{Key, PendingTrace};
use super::rows::{execute, fetch_by_keys, insert_head, rows_per_insert, upsert_tail};
use crate::sqlite::columns::{environment_column, get, get_body, get_time, micros};
use crate::sqlite::connect::{body_error, db_error};

const COLUMNS: &[&str] = &[
    "project_id",
    "id",
    "timestamp",
    "timestamp_derived",
    "name",
    "user_id",
    "session_id",
    "release",
    "version",
    "environment",
    "tags",
    "created_at",
    "updated_at",
    "body",
];

/// Earliest observation start of a trace, for traces without a timestamp of their own.
const EARLIEST_OBSERVATION_START: &str =
    "SELECT MIN(start_time) FROM observations WHERE project_id = ? AND trace_id = ?";

/// Refreshes the derived timestamp of a trace whose observations changed.
const REFRESH_DERIVED_TIMESTAMP: &str = "UPDATE traces SET timestamp = (
        SELECT MIN(start_time) FROM observations o
        WHERE o.project_id = traces.project_id AND o.trace_id = traces.id
    ) WHERE project_id = ? AND id = ? AND timestamp_derived = 1";

struct Stored {
    record: TraceRecord,
    body: String,
    timestamp: Option<i64>,
    created_at: DateTime<Utc>,
}

/// A merged trace ready to be written.
struct MergedTrace {
    record: TraceRecord,
    body: String,
    tags_json: String,
    timestamp: Option<i64>,
    created_at: i64,
    /// Tags not yet in `trace_tags`.
    new_tags: Vec<String>,
}

/// Merges `incoming` into the stored traces and writes the changed rows. Must run after the
/// batch's observations are written: a trace without a timestamp of its own takes the earliest
/// start of its observations. `observed_traces` are the traces the batch's observations belong
/// to; those missing from `incoming` get their derived timestamp refreshed.
pub(crate) async fn upsert(
    connection: &mut SqliteConnection,
    incoming: BTreeMap<Key, PendingTrace>,
    observed_traces: BTreeSet<Key>,
) -> BackendResult<()> {
    for key in observed_traces
        .iter()
        .filter(|key| !incoming.contains_key(*key))
    {
        sqlx::query(REFRESH_DERIVED_TIMESTAMP)
            .bind(key.0.as_str())
            .bind(key.1.as_str())
            .execute(&mut *connection)
            .await
            .map_err(|error| db_error("failed to refresh derived trace timestamp", error))?;
    }
    let mut stored = load(connection, &incoming.keys().collect::<Vec<_>>()).await?;
    let mut changed = Vec::with_capacity(incoming.len());
    for (key, pending) in incoming {
        let row = merge(connection, stored.remove(&key), pending).await?;
        changed.extend(row);
    }
    write_rows(connection, &changed).await
}

/// Merges one pending trace into its stored row; returns `None` when nothing changed.
async fn merge(
    connection: &mut SqliteConnection,
    stored: Option<Stored>,
    pending: PendingTrace,
) -> BackendResult<Option<MergedTrace>> {
    let (record, created_at, stored_tags, stored) = match stored {
        Some(Stored {
            mut record,
            body,
            timestamp,
            created_at,
        }) => {
            let stored_tags = record.tags.clone();
            record.merge(pending.record);
            let merged_created_at = created_at.min(pending.first_event_time);
            (
                record,
                merged_created_at,
                stored_tags,
                Some((body, timestamp, created_at)),
            )
        }
        None => (pending.record, pending.first_event_time, Vec::new(), None),
    };
    let timestamp = match record.timestamp {
        Some(own) => Some(micros(own)),
        None => earliest_observation_start(connection, &record).await?,
    };
    let body = serde_json::to_string(&record)
        .map_err(|error| body_error("failed to encode trace body", error))?;
    // A replayed batch merges to the stored row: skip rewriting it.
    let unchanged = stored.is_some_and(|(stored_body, stored_timestamp, stored_created_at)| {
        stored_body == body && stored_timestamp == timestamp && stored_created_at == created_at
    });
    if unchanged {
        return Ok(None);
    }
    let new_tags = record
        .tags
        .iter()
        .filter(|tag| !stored_tags.contains(tag))
        .cloned()
        .collect();
    let tags_json = serde_json::to_string(&record.tags)
        .map_err(|error| body_error("failed to encode trace tags", error))?;
    Ok(Some(MergedTrace {
        record,
        body,
        tags_json,
        timestamp,
        created_at: micros(created_at),
        new_tags,
    }))
}

async fn earliest_observation_start(
    connection: &mut SqliteConnection,
    record: &TraceRecord,
) -> BackendResult<Option<i64>> {
    sqlx::query(EARLIEST_OBSERVATION_START)
        .bind(record.project_id.as_str())
        .bind(record.id.as_str())
        .fetch_one(&mut *connection)
        .await
        .and_then(|row| row.try_get(0))
        .map_err(|error| db_error("failed to read earliest observation start", error))
}

async fn write_rows(connection: &mut SqliteConnection, rows: &[MergedTrace]) -> BackendResult<()> {
    for chunk in rows.chunks(rows_per_insert(COLUMNS.len())) {
        let mut query = QueryBuilder::<Sqlite>::new(insert_head("traces", COLUMNS));
        query.push_values(chunk, |mut values, row| {
            let record = &row.record;
            values
                .push_bind(record.project_id.as_str())
                .push_bind(record.id.as_str())
                .push_bind(row.timestamp)
                .push_bind(i64::from(record.timestamp.is_none()))
                .push_bind(record.name.as_deref())
                .push_bind(record.user_id.as_deref())
                .push_bind(record.session_id.as_deref())
                .push_bind(record.release.as_deref())
                .push_bind(record.version.as_deref())
                .push_bind(environment_column(record.environment.as_deref()))
                .push_bind(row.tags_json.as_str())
                .push_bind(row.created_at)
                .push_bind(micros(record.event_time))
                .push_bind(row.body.as_str());
        });
        query.push(upsert_tail(COLUMNS));
        execute(connection, query, "failed to upsert traces").await?;
    }
    let new_tags: Vec<(&str, &str, &str)> = rows
        .iter()
        .flat_map(|row| {
            row.new_tags.iter().map(|tag| {
                (
                    row.record.project_id.as_str(),
                    tag.as_str(),
                    row.record.id.as_str(),
                )
            })
        })
        .collect();
    for chunk in new_tags.chunks(rows_per_insert(3)) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT OR IGNORE INTO trace_tags (project_id, tag, trace_id) ",
        );
        query.push_values(chunk, |mut values, (project_id, tag, trace_id)| {
            values
                .push_bind(*project_id)
                .push_bind(*tag)
                .push_bind(*trace_id);
        });
        execute(connection, query, "failed to insert trace tags").await?;
    }
    Ok(())
}

async fn load(
    connection: &mut SqliteConnection,
    keys: &[&Key],
) -> BackendResult<HashMap<Key, Stored>> {
    let rows = fetch_by_keys(
        connection,
        "traces",
        "project_id, id, timestamp, created_at, body",
        keys,
    )
    .await?;
    let mut stored = HashMap::with_capacity(rows.len());
    for row in rows {
        let key: Key = (get(&row, "project_id")?, get(&row, "id")?);
        stored.insert(
            key,
            Stored {
                record: get_body(&row)?,
                body: get(&row, "body")?,
                timestamp: get(&row, "timestamp")?,
                created_at: get_time(&row, "created_at")?,
            },
        );
    }
    Ok(stored)
}
