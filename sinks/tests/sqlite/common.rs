//! Fixtures shared by the SQLite store tests: record builders, a store in a temporary
//! directory, and a raw dump of the database for byte-for-byte comparisons.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, TimeZone, Utc};
use periscope_core::model::{
    ObservationRecord, ObservationType, PriceSnapshot, ScoreDataType, ScoreRecord, ScoreSource,
    TraceRecord,
};
use periscope_sinks::SqliteTraceStore;
use sqlx::{Connection, Row, SqliteConnection};
use tempfile::TempDir;

/// A store in its own temporary directory (deleted on drop).
pub(crate) struct TestStore {
    pub(crate) store: SqliteTraceStore,
    pub(crate) path: PathBuf,
    _directory: TempDir,
}

pub(crate) async fn open_store() -> TestStore {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("nested").join("traces.db");
    let store = SqliteTraceStore::open(&path).await.unwrap();
    TestStore {
        store,
        path,
        _directory: directory,
    }
}

/// 2026-11-27 00:00:00 UTC plus `seconds`.
pub(crate) fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0)
        .single()
        .unwrap()
        + Duration::seconds(seconds)
}

pub(crate) fn trace(project_id: &str, id: &str, timestamp: DateTime<Utc>) -> TraceRecord {
    TraceRecord {
        project_id: project_id.into(),
        id: id.into(),
        timestamp: Some(timestamp),
        event_time: timestamp,
        ..TraceRecord::default()
    }
}

pub(crate) fn observation(
    project_id: &str,
    id: &str,
    trace_id: &str,
    start: DateTime<Utc>,
) -> ObservationRecord {
    ObservationRecord {
        project_id: project_id.into(),
        id: id.into(),
        trace_id: trace_id.into(),
        observation_type: Some(ObservationType::Span),
        start_time: Some(start),
        event_time: start,
        ..ObservationRecord::default()
    }
}

/// A priced generation: 1000 input tokens at 0.001 and 100 output tokens at 0.002 (cost 1.2).
pub(crate) fn generation(
    project_id: &str,
    id: &str,
    trace_id: &str,
    start: DateTime<Utc>,
    model: &str,
) -> ObservationRecord {
    ObservationRecord {
        observation_type: Some(ObservationType::Generation),
        end_time: Some(start + Duration::seconds(2)),
        model: Some(model.into()),
        usage_details: [("input".to_string(), 1000), ("output".to_string(), 100)].into(),
        price: Some(PriceSnapshot {
            model_id: model.into(),
            model_name: model.into(),
            prices: [("input".to_string(), 0.001), ("output".to_string(), 0.002)].into(),
        }),
        ..observation(project_id, id, trace_id, start)
    }
}

pub(crate) fn score(
    project_id: &str,
    id: &str,
    trace_id: Option<&str>,
    time: DateTime<Utc>,
) -> ScoreRecord {
    ScoreRecord {
        project_id: project_id.into(),
        id: id.into(),
        trace_id: trace_id.map(Into::into),
        observation_id: None,
        session_id: None,
        dataset_run_id: None,
        name: "accuracy".into(),
        value: 0.9,
        string_value: None,
        data_type: ScoreDataType::Numeric,
        source: ScoreSource::Api,
        comment: None,
        metadata: None,
        config_id: None,
        queue_id: None,
        author_user_id: None,
        environment: "default".into(),
        timestamp: time,
        event_time: time,
    }
}

/// Returns every row (row ids included) of every trace table, as text, in key order.
pub(crate) async fn dump(path: &Path) -> Vec<String> {
    let mut connection = SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let mut lines = Vec::new();
    for (table, order) in [
        ("traces", "project_id, id"),
        ("observations", "project_id, id"),
        ("scores", "project_id, id"),
        ("trace_tags", "project_id, tag, trace_id"),
    ] {
        let columns: String = sqlx::query(
            "SELECT group_concat('quote(' || name || ')', ' || ''|'' || ') FROM pragma_table_info(?)",
        )
        .bind(table)
        .fetch_one(&mut connection)
        .await
        .unwrap()
        .get(0);
        let sql = format!("SELECT {columns} FROM {table} ORDER BY {order}");
        for row in sqlx::query(&sql).fetch_all(&mut connection).await.unwrap() {
            lines.push(format!("{table}: {}", row.get::<String, _>(0)));
        }
    }
    lines
}

/// Runs raw SQL on the database file beside the store (to inject failures).
pub(crate) async fn execute_raw(path: &Path, sql: &str) {
    let mut connection = SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::query(sql).execute(&mut connection).await.unwrap();
}
