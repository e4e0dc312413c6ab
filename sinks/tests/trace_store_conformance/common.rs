//! The two backends under test and the record builders the scenarios share.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration as StdDuration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Duration, TimeZone, Utc};
use periscope_core::config::ClickHouseConfig;
use periscope_core::model::{
    ObservationRecord, ObservationType, PriceSnapshot, Record, ScoreDataType, ScoreRecord,
    ScoreSource, Trace, TraceRecord,
};
use periscope_core::store::{PageRequest, TraceFilter, TraceStore};
use periscope_sinks::{ClickHouseTraceStore, SqliteTraceStore};
use tempfile::TempDir;

/// Bound on the memory of each ClickHouse query of the tests (1 GiB): the shared test server
/// must never be pushed to its own limit.
const MAX_QUERY_MEMORY: &str = "1073741824";

/// One store under test.
pub(crate) struct Backend {
    pub(crate) name: &'static str,
    pub(crate) store: Box<dyn TraceStore>,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[expect(dead_code, reason = "held to delete the directory on drop")] TempDir),
    ClickHouse {
        client: Box<clickhouse::Client>,
        database: String,
        store: Box<ClickHouseTraceStore>,
    },
}

impl Backend {
    /// Releases the backend's storage (drops the ClickHouse database).
    pub(crate) async fn finish(self) {
        if let Cleanup::ClickHouse {
            client, database, ..
        } = self.cleanup
        {
            client
                .query(&format!("DROP DATABASE IF EXISTS {database}"))
                .execute()
                .await
                .unwrap();
        }
    }

    /// Returns the concrete store of a ClickHouse backend (for its other traits).
    pub(crate) fn clickhouse_store(&self) -> Option<ClickHouseTraceStore> {
        match &self.cleanup {
            Cleanup::ClickHouse { store, .. } => Some(store.as_ref().clone()),
            Cleanup::Sqlite(_) => None,
        }
    }

    /// Returns the ClickHouse client and database of a ClickHouse backend.
    pub(crate) fn clickhouse(&self) -> Option<(clickhouse::Client, &str)> {
        match &self.cleanup {
            Cleanup::ClickHouse {
                client, database, ..
            } => Some((
                client.clone().with_database(database.as_str()),
                database.as_str(),
            )),
            Cleanup::Sqlite(_) => None,
        }
    }
}

/// Returns the URL of the test ClickHouse server, failing with instructions when it is unset.
pub(crate) fn clickhouse_url() -> String {
    std::env::var("PERISCOPE__CLICKHOUSE__URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| {
            panic!(
                "PERISCOPE__CLICKHOUSE__URL is not set: start the services: \
                 eval \"$(deploy/dev-services.sh start)\""
            )
        })
}

/// Returns a database name no other test run uses.
fn random_database() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "periscope_test_{}_{nanos}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

pub(crate) async fn sqlite() -> Backend {
    let directory = tempfile::tempdir().unwrap();
    let store = SqliteTraceStore::open(&directory.path().join("traces.db"))
        .await
        .unwrap();
    Backend {
        name: "sqlite",
        store: Box::new(store),
        cleanup: Cleanup::Sqlite(directory),
    }
}

/// The configuration of a ClickHouse store on the test server's database `database`.
pub(crate) fn clickhouse_config(database: &str) -> ClickHouseConfig {
    ClickHouseConfig {
        url: clickhouse_url(),
        database: database.to_owned(),
        user: "default".into(),
        password: String::new(),
        retention: StdDuration::ZERO,
        insert_timeout: StdDuration::from_secs(30),
        batch_max_records: 20_000,
        batch_max_wait: StdDuration::from_secs(1),
    }
}

pub(crate) async fn clickhouse() -> Backend {
    let url = clickhouse_url();
    let database = random_database();
    let config = clickhouse_config(&database);
    let store = ClickHouseTraceStore::connect(&config)
        .await
        .unwrap()
        .with_setting("max_memory_usage", MAX_QUERY_MEMORY);
    let client = clickhouse::Client::default()
        .with_url(url)
        .with_user("default");
    Backend {
        name: "clickhouse",
        store: Box::new(store.clone()),
        cleanup: Cleanup::ClickHouse {
            client: Box::new(client),
            database,
            store: Box::new(store.clone()),
        },
    }
}

/// Runs `scenario` against every backend, naming the backend when it fails.
pub(crate) async fn for_each_backend(scenario: impl AsyncFn(&Backend)) {
    for backend in [sqlite().await, clickhouse().await] {
        scenario(&backend).await;
        backend.finish().await;
    }
}

/// 2026-11-27 00:00:00 UTC plus `seconds`.
pub(crate) fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0)
        .single()
        .unwrap()
        + Duration::seconds(seconds)
}

/// `day` days after 2026-11-27 at `hour`.
pub(crate) fn on_day(day: i64, hour: i64) -> DateTime<Utc> {
    at(day * 86_400 + hour * 3_600)
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

/// A version of trace `t1` in project `p` with user, session, time and event time (seconds).
pub(crate) fn trace_version(user: &str, session: &str, second: i64, event: i64) -> Record {
    Record::Trace(TraceRecord {
        user_id: Some(user.into()),
        session_id: Some(session.into()),
        event_time: at(event),
        ..trace("p", "t1", at(second))
    })
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

/// Returns the traces of project `p` matching `filter` (newest first), checking the total.
pub(crate) async fn listed(store: &dyn TraceStore, filter: &TraceFilter) -> Vec<Trace> {
    let page = store
        .list_traces(
            "p",
            filter,
            PageRequest {
                page: 1,
                limit: 100,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.total_items, page.items.len() as u64, "{filter:?}");
    page.items
}
