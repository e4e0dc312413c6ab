//! Tests of the batched statements of the write path that the integration tests only reach
//! with one key: refreshing the derived timestamps of many traces across projects.

use chrono::{DateTime, Duration, TimeZone, Utc};
use periscope_core::model::{ObservationRecord, Record, TraceRecord};
use periscope_core::store::TraceStore;

use crate::SqliteTraceStore;

/// More traces per project than one keyed statement holds (`KEYS_PER_SELECT` is 500).
const TRACES: usize = 700;

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0)
        .single()
        .unwrap()
        + Duration::seconds(seconds)
}

/// A trace record without a timestamp of its own: its rows take their observations' earliest.
fn untimed_trace(project_id: &str, trace: usize) -> Record {
    Record::Trace(TraceRecord {
        project_id: project_id.into(),
        id: format!("t{trace}"),
        event_time: at(100),
        ..TraceRecord::default()
    })
}

fn observation(project_id: &str, id: String, trace: usize, start: DateTime<Utc>) -> Record {
    Record::Observation(ObservationRecord {
        project_id: project_id.into(),
        id,
        trace_id: format!("t{trace}"),
        start_time: Some(start),
        event_time: start,
        ..ObservationRecord::default()
    })
}

#[tokio::test]
async fn observations_alone_refresh_the_derived_timestamp_of_every_trace_they_touch() {
    let directory = tempfile::tempdir().unwrap();
    let store = SqliteTraceStore::open(&directory.path().join("traces.db"))
        .await
        .unwrap();
    let projects = ["p", "q"];
    let first: Vec<Record> = projects
        .iter()
        .flat_map(|project| {
            (0..TRACES).flat_map(move |trace| {
                [
                    untimed_trace(project, trace),
                    observation(project, format!("a{trace}"), trace, at(100)),
                ]
            })
        })
        .collect();
    store.write(first).await.unwrap();
    // Earlier spans of every other trace, again without trace records.
    let second: Vec<Record> = projects
        .iter()
        .flat_map(|project| {
            (0..TRACES)
                .step_by(2)
                .map(move |trace| observation(project, format!("b{trace}"), trace, at(10)))
        })
        .collect();
    store.write(second).await.unwrap();

    for project in projects {
        for trace in [0, 1, 598, 599, TRACES - 2, TRACES - 1] {
            let read = store
                .get_trace(project, &format!("t{trace}"))
                .await
                .unwrap()
                .unwrap();
            let expected = if trace % 2 == 0 { at(10) } else { at(100) };
            assert_eq!(read.record.timestamp, Some(expected), "{project}/t{trace}");
        }
    }
}

#[tokio::test]
async fn rows_of_traces_and_observations_feed_only_the_indexes_reads_use() {
    use sqlx::{Connection, Row, SqliteConnection};

    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("traces.db");
    drop(SqliteTraceStore::open(&path).await.unwrap());
    let mut connection = SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    // `sql IS NOT NULL` leaves out SQLite's automatic indexes (none on these tables).
    let names: Vec<String> = sqlx::query(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
         AND tbl_name IN ('traces', 'observations') ORDER BY name",
    )
    .fetch_all(&mut connection)
    .await
    .unwrap()
    .iter()
    .map(|row| row.get("name"))
    .collect();
    assert_eq!(
        names,
        [
            "observations_key",
            "observations_name",
            "observations_start",
            "observations_trace",
            "traces_key",
            "traces_name",
            "traces_session",
            "traces_timestamp",
            "traces_user",
        ]
    );
}
