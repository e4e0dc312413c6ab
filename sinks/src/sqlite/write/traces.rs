//! Upserting traces: merge, derive the effective timestamp, keep the tag side table in step.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use periscope_core::error::BackendResult;
use periscope_core::model::TraceRecord;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::group::{Key, PendingTrace};
use super::rows::{execute, fetch_by_keys, insert_head, rows_per_insert, upsert_tail};
use crate::sqlite::columns::{environment_column, get, get_time, micros};
use crate::sqlite::connect::body_error;

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

/// Refreshes the derived timestamp of traces whose observations changed; the keys follow.
const REFRESH_DERIVED_TIMESTAMPS: &str = "UPDATE traces SET timestamp = (
        SELECT MIN(start_time) FROM observations o
        WHERE o.project_id = traces.project_id AND o.trace_id = traces.id
    ) WHERE timestamp_derived = 1 AND project_id = ";

/// A stored trace row, its body still encoded.
struct Stored {
    body: String,
    timestamp: Option<i64>,
    timestamp_derived: bool,
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
    // One statement per few hundred traces rather than one round trip to SQLite's worker
    // thread per trace: spans often arrive in batches without their trace record.
    let refreshed: Vec<&Key> = observed_traces
        .iter()
        .filter(|key| !incoming.contains_key(*key))
        .collect();
    fetch_by_keys(connection, REFRESH_DERIVED_TIMESTAMPS, "id", "", &refreshed).await?;
    let keys: Vec<&Key> = incoming.keys().collect();
    let stored = load(connection, &keys).await?;
    // Merging keeps the earliest timestamp, so a merged trace lacks one only when neither the
    // stored nor the incoming record has one.
    let untimed: Vec<&Key> = keys
        .iter()
        .filter(|key| {
            incoming[**key].record.timestamp.is_none()
                && stored
                    .get(**key)
                    .is_none_or(|stored| stored.timestamp_derived)
        })
        .copied()
        .collect();
    let earliest_starts = earliest_observation_starts(connection, &untimed).await?;
    let mut merger = Merger {
        stored,
        earliest_starts,
        incoming: incoming.into_iter(),
    };
    let rows_per_statement = rows_per_insert(COLUMNS.len());
    let mut ready = merger.next_rows(rows_per_statement)?;
    while !ready.is_empty() {
        // As for observations: encode the next rows while SQLite inserts these.
        let (inserted, next) = tokio::join!(
            biased;
            insert(connection, &ready),
            async { merger.next_rows(rows_per_statement) },
        );
        inserted?;
        ready = next?;
    }
    Ok(())
}

/// Merges incoming traces into stored ones, a statement's worth of rows at a time.
struct Merger {
    stored: HashMap<Key, Stored>,
    earliest_starts: HashMap<Key, i64>,
    incoming: std::collections::btree_map::IntoIter<Key, PendingTrace>,
}

impl Merger {
    /// Returns up to `limit` merged rows that differ from the stored ones.
    fn next_rows(&mut self, limit: usize) -> BackendResult<Vec<MergedTrace>> {
        let mut rows = Vec::with_capacity(limit);
        while rows.len() < limit {
            let Some((key, pending)) = self.incoming.next() else {
                break;
            };
            let stored = self.stored.remove(&key);
            let earliest_start = self.earliest_starts.get(&key).copied();
            rows.extend(merge(stored, pending, earliest_start)?);
        }
        Ok(rows)
    }
}

/// Merges one pending trace into its stored row; returns `None` when nothing changed.
fn merge(
    stored: Option<Stored>,
    pending: PendingTrace,
    earliest_observation_start: Option<i64>,
) -> BackendResult<Option<MergedTrace>> {
    let (record, created_at, stored_tags) = match &stored {
        Some(stored) => {
            let mut record: TraceRecord = serde_json::from_str(&stored.body)
                .map_err(|error| body_error("failed to decode stored trace body", error))?;
            let stored_tags = record.tags.clone();
            record.merge(pending.record);
            (
                record,
                stored.created_at.min(pending.first_event_time),
                stored_tags,
            )
        }
        None => (pending.record, pending.first_event_time, Vec::new()),
    };
    let timestamp = record.timestamp.map(micros).or(earliest_observation_start);
    let body = serde_json::to_string(&record)
        .map_err(|error| body_error("failed to encode trace body", error))?;
    // A replayed batch merges to the stored row: skip rewriting it.
    let unchanged = stored.is_some_and(|stored| {
        stored.body == body && stored.timestamp == timestamp && stored.created_at == created_at
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

async fn insert(connection: &mut SqliteConnection, rows: &[MergedTrace]) -> BackendResult<()> {
    let mut query = QueryBuilder::<Sqlite>::new(insert_head("traces", COLUMNS));
    query.push_values(rows, |mut values, row| {
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

    let new_tags: Vec<(&str, &str, &str)> = rows
        .iter()
        .flat_map(|row| {
            let record = &row.record;
            row.new_tags
                .iter()
                .map(|tag| (record.project_id.as_str(), tag.as_str(), record.id.as_str()))
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

/// Returns the earliest observation start of each trace of `keys` that has observations.
async fn earliest_observation_starts(
    connection: &mut SqliteConnection,
    keys: &[&Key],
) -> BackendResult<HashMap<Key, i64>> {
    let select = "SELECT project_id, trace_id, MIN(start_time) AS earliest FROM observations \
        WHERE project_id = ";
    let rows = fetch_by_keys(connection, select, "trace_id", " GROUP BY trace_id", keys).await?;
    let mut starts = HashMap::with_capacity(rows.len());
    for row in rows {
        if let Some(earliest) = get::<Option<i64>>(&row, "earliest")? {
            starts.insert((get(&row, "project_id")?, get(&row, "trace_id")?), earliest);
        }
    }
    Ok(starts)
}

async fn load(
    connection: &mut SqliteConnection,
    keys: &[&Key],
) -> BackendResult<HashMap<Key, Stored>> {
    let select = "SELECT project_id, id, timestamp, timestamp_derived, created_at, body \
        FROM traces WHERE project_id = ";
    let rows = fetch_by_keys(connection, select, "id", "", keys).await?;
    let mut stored = HashMap::with_capacity(rows.len());
    for row in rows {
        let key: Key = (get(&row, "project_id")?, get(&row, "id")?);
        let timestamp_derived: i64 = get(&row, "timestamp_derived")?;
        stored.insert(
            key,
            Stored {
                body: get(&row, "body")?,
                timestamp: get(&row, "timestamp")?,
                timestamp_derived: timestamp_derived != 0,
                created_at: get_time(&row, "created_at")?,
            },
        );
    }
    Ok(stored)
}
