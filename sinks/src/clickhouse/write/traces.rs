//! Upserting traces: merge, and derive the effective timestamp of traces without one of their
//! own from the earliest start of their observations.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use clickhouse::{Client, Row};
use periscope_core::error::BackendResult;
use periscope_core::model::TraceRecord;
use serde::Deserialize;

use super::group::{Key, PendingTrace, by_project};
use super::{IDS_PER_QUERY, Writer, next_version};
use crate::clickhouse::connect::{body_error, ch_error};
use crate::clickhouse::rows::{TimestampSource, TraceIdentity, TraceRow, micros};
use crate::clickhouse::sql::Sql;

/// The newest stored version of a trace.
#[derive(Debug, Row, Deserialize)]
struct Stored {
    id: String,
    timestamp: i64,
    timestamp_source: u8,
    user_id: Option<String>,
    session_id: Option<String>,
    created_at: i64,
    body: String,
    row_version: u64,
    is_deleted: u8,
}

const STORED_COLUMNS: &str = "id, timestamp, timestamp_source, user_id, session_id, created_at, \
    body, row_version, is_deleted";

#[derive(Debug, Row, Deserialize)]
struct EarliestStart {
    trace_id: String,
    earliest: Option<i64>,
}

/// Merges `incoming` into the stored traces and inserts the changed rows. Runs before the
/// batch's observations are inserted: `batch_starts` holds the traces they belong to (whose
/// derived timestamps may move) with the earliest start among them.
pub(crate) async fn upsert(
    writer: &Writer<'_>,
    incoming: BTreeMap<Key, PendingTrace>,
    batch_starts: &BTreeMap<Key, Option<i64>>,
) -> BackendResult<()> {
    let touched: BTreeSet<&Key> = incoming.keys().chain(batch_starts.keys()).collect();
    let mut stored: HashMap<Key, Stored> = HashMap::with_capacity(touched.len());
    for (project_id, ids) in by_project(touched.iter().copied()) {
        let rows: Vec<Stored> = writer
            .load_latest("traces", STORED_COLUMNS, &project_id, &ids)
            .await?;
        for row in rows.into_iter().filter(|row| row.is_deleted == 0) {
            stored.insert((project_id.clone(), row.id.clone()), row);
        }
    }
    // Traces that take their timestamp from their observations: incoming ones without a
    // timestamp of their own (stored or new), and stored ones whose observations changed.
    let own_timestamp = |key: &Key| {
        stored.get(key).is_some_and(|row| {
            TimestampSource::from_column(row.timestamp_source) == TimestampSource::Own
        })
    };
    let derived: Vec<&Key> = touched
        .iter()
        .copied()
        .filter(|key| match incoming.get(*key) {
            Some(pending) => pending.record.timestamp.is_none() && !own_timestamp(key),
            None => stored.contains_key(*key) && !own_timestamp(key),
        })
        .collect();
    let mut earliest_starts = earliest_observation_starts(writer.client, &derived).await?;
    for key in derived {
        if let Some(&Some(batch_start)) = batch_starts.get(key) {
            let earliest = earliest_starts.entry(key.clone()).or_insert(batch_start);
            *earliest = (*earliest).min(batch_start);
        }
    }

    let mut rows = Vec::new();
    for (key, pending) in incoming {
        let previous = stored.remove(&key);
        let earliest = earliest_starts.get(&key).copied();
        let (record, created_at) = match &previous {
            Some(previous) => {
                let mut record: TraceRecord = serde_json::from_str(&previous.body)
                    .map_err(|error| body_error("failed to decode stored trace body", error))?;
                record.merge(pending.record);
                let created_at = previous.created_at.min(micros(pending.first_event_time));
                (record, created_at)
            }
            None => (pending.record, micros(pending.first_event_time)),
        };
        push_row(&mut rows, record, created_at, earliest, previous)?;
    }
    // Stored traces not in the batch whose derived timestamp moved.
    for (key, previous) in stored {
        let Some(&earliest) = earliest_starts.get(&key) else {
            continue;
        };
        if TimestampSource::from_column(previous.timestamp_source) == TimestampSource::Own
            || previous.timestamp == earliest
        {
            continue;
        }
        let record: TraceRecord = serde_json::from_str(&previous.body)
            .map_err(|error| body_error("failed to decode stored trace body", error))?;
        let created_at = previous.created_at;
        push_row(
            &mut rows,
            record,
            created_at,
            Some(earliest),
            Some(previous),
        )?;
    }
    writer.insert("traces", &rows).await
}

/// Appends the row of a merged trace (and a tombstone when its sorting key moved), unless it
/// equals the stored version.
fn push_row(
    rows: &mut Vec<TraceRow>,
    record: TraceRecord,
    created_at: i64,
    earliest_observation_start: Option<i64>,
    previous: Option<Stored>,
) -> BackendResult<()> {
    let (timestamp, source) = match (record.timestamp, earliest_observation_start) {
        (Some(own), _) => (micros(own), TimestampSource::Own),
        (None, Some(earliest)) => (earliest, TimestampSource::Observations),
        (None, None) => (created_at, TimestampSource::Unknown),
    };
    let body = serde_json::to_string(&record)
        .map_err(|error| body_error("failed to encode trace body", error))?;
    let unchanged = previous.as_ref().is_some_and(|previous| {
        previous.body == body
            && previous.timestamp == timestamp
            && previous.timestamp_source == source as u8
            && previous.created_at == created_at
    });
    if unchanged {
        return Ok(());
    }
    let version = next_version(previous.as_ref().map(|previous| previous.row_version));
    // The version stored under another time, user or session gets a tombstone carrying those:
    // then the newest row a read finds under a time range, a user or a session is live only if
    // it is the trace's newest version, which lets reads select by them before picking the
    // newest version (docs/adr/0022).
    let moved = |previous: &Stored| {
        previous.timestamp != timestamp
            || previous.user_id != record.user_id
            || previous.session_id != record.session_id
    };
    if let Some(previous) = previous.filter(moved) {
        rows.push(TraceRow::tombstone(
            &record.project_id,
            &record.id,
            TraceIdentity {
                timestamp: previous.timestamp,
                user_id: previous.user_id,
                session_id: previous.session_id,
            },
            version - 1,
        ));
    }
    rows.push(TraceRow::new(
        &record, body, timestamp, source, created_at, version,
    ));
    Ok(())
}

/// Returns the earliest observation start of each trace of `keys` that has one. Start times
/// only ever move earlier on merge, so the minimum over all stored versions is the minimum
/// over the newest ones.
async fn earliest_observation_starts(
    client: &Client,
    keys: &[&Key],
) -> BackendResult<HashMap<Key, i64>> {
    let mut starts = HashMap::with_capacity(keys.len());
    for (project_id, ids) in by_project(keys.iter().copied()) {
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let mut sql = Sql::new(
                "SELECT trace_id, min(start_time) AS earliest FROM observations \
                 WHERE is_deleted = 0 AND project_id = ",
            );
            sql.bind_text(&project_id).push(" AND trace_id IN ");
            sql.bind_texts(chunk).push(" GROUP BY trace_id");
            let rows = sql
                .query(client)
                .fetch_all::<EarliestStart>()
                .await
                .map_err(|error| ch_error("failed to read earliest observation starts", error))?;
            for row in rows {
                if let Some(earliest) = row.earliest {
                    starts.insert((project_id.clone(), row.trace_id), earliest);
                }
            }
        }
    }
    Ok(starts)
}
