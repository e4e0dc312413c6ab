//! ClickHouse migration 5 (docs/adr/0021) rebuilds `traces` and `observations` in a new layout.
//! A process killed anywhere in the rebuild leaves one of three states; the next start must
//! finish the rebuild from each of them, keeping every row and showing no duplicate.
//! Migration 6 (docs/adr/0022) gives trace versions written before it the tombstones that let
//! reads select by user and session first.

use periscope_core::model::Record;
use periscope_core::store::{ObservationFilter, PageRequest, TraceFilter, TraceStore};
use periscope_sinks::ClickHouseTraceStore;

use crate::common::{
    at, clickhouse, clickhouse_config, generation, observation, trace, trace_version,
};

const REBUILT: [&str; 2] = ["traces", "observations"];

/// The old layout of both tables (migrations 1 and 2).
const OLD_LAYOUT: &str = "ENGINE = ReplacingMergeTree(row_version, is_deleted) \
    PARTITION BY toYYYYMM(timestamp) ORDER BY (project_id, toDate(timestamp), id) COMMENT ''";

async fn execute(client: &clickhouse::Client, statement: &str) {
    client
        .query(statement)
        .execute()
        .await
        .unwrap_or_else(|error| panic!("{statement}: {error}"));
}

/// Makes the next start run the migrations from `version` on again.
async fn forget_migrations_from(client: &clickhouse::Client, version: u32) {
    execute(
        client,
        &format!(
            "ALTER TABLE schema_migrations DELETE WHERE version >= {version} \
             SETTINGS mutations_sync = 2"
        ),
    )
    .await;
}

/// Tables of the test database with their comment and sorting key, by name.
async fn tables(client: &clickhouse::Client) -> Vec<(String, String, String)> {
    client
        .query(
            "SELECT name, comment, sorting_key FROM system.tables \
             WHERE database = currentDatabase() AND name IN \
             ('traces', 'observations', 'traces_previous', 'observations_previous') ORDER BY name",
        )
        .fetch_all::<(String, String, String)>()
        .await
        .unwrap()
}

/// What the store returns: the trace's observation ids and the list totals.
async fn visible(store: &dyn TraceStore) -> (Vec<String>, u64, u64) {
    let page = PageRequest { page: 1, limit: 50 };
    let trace = store.get_trace("p", "t1").await.unwrap().expect("trace t1");
    let ids = trace.observations.iter().map(|o| o.id.clone()).collect();
    let traces = store
        .list_traces("p", &TraceFilter::default(), page)
        .await
        .unwrap();
    let observations = store
        .list_observations("p", &ObservationFilter::default(), page)
        .await
        .unwrap();
    (ids, traces.total_items, observations.total_items)
}

#[tokio::test]
async fn an_interrupted_table_rebuild_is_finished_by_the_next_start() {
    let backend = clickhouse().await;
    let (client, database) = backend.clickhouse().unwrap();
    backend
        .store
        .write(vec![
            Record::Trace(trace("p", "t1", at(0))),
            Record::Observation(observation("p", "o1", "t1", at(1))),
            Record::Observation(generation("p", "o2", "t1", at(2), "gpt-4o")),
            Record::Trace(trace("p", "t2", at(5))),
            Record::Observation(observation("p", "o3", "t2", at(6))),
        ])
        .await
        .unwrap();
    let expected = (vec!["o1".to_owned(), "o2".to_owned()], 2, 3);
    assert_eq!(visible(backend.store.as_ref()).await, expected);

    // Each state an interrupted rebuild can leave, made from the rebuilt tables' rows (before
    // migration 6, so without the projections it adds to `traces`).
    let states: [(&str, &[&str]); 3] = [
        (
            "killed before the rename: the tables are in the old layout",
            &[
                "ALTER TABLE {t} DROP PROJECTION IF EXISTS by_user",
                "ALTER TABLE {t} DROP PROJECTION IF EXISTS by_session",
                "CREATE TABLE {t}_old AS {t} {old}",
                "INSERT INTO {t}_old SELECT * FROM {t}",
                "DROP TABLE {t}",
                "RENAME TABLE {t}_old TO {t}",
            ],
        ),
        (
            "killed after the rename, before the copy: the rows are only in {t}_previous",
            &[
                "ALTER TABLE {t} DROP PROJECTION IF EXISTS by_user",
                "ALTER TABLE {t} DROP PROJECTION IF EXISTS by_session",
                "CREATE TABLE {t}_previous AS {t} {old}",
                "INSERT INTO {t}_previous SELECT * FROM {t}",
                "TRUNCATE TABLE {t}",
            ],
        ),
        (
            "killed after the copy, before the drop: the rows are in both tables",
            &[
                "ALTER TABLE {t} DROP PROJECTION IF EXISTS by_user",
                "ALTER TABLE {t} DROP PROJECTION IF EXISTS by_session",
                "CREATE TABLE {t}_previous AS {t} {old}",
                "INSERT INTO {t}_previous SELECT * FROM {t}",
            ],
        ),
    ];
    for (state, statements) in states {
        for table in REBUILT {
            for statement in statements {
                let statement = statement.replace("{t}", table).replace("{old}", OLD_LAYOUT);
                execute(&client, &statement).await;
            }
        }
        // An interrupted migration 5 means migration 6 never ran.
        forget_migrations_from(&client, 5).await;

        let reopened = ClickHouseTraceStore::connect(&clickhouse_config(database))
            .await
            .unwrap();
        assert_eq!(visible(&reopened).await, expected, "{state}");
        assert_eq!(
            tables(&client).await,
            [
                (
                    "observations".to_owned(),
                    "periscope layout 2".to_owned(),
                    "project_id, toDate(timestamp), trace_id, id".to_owned()
                ),
                (
                    "traces".to_owned(),
                    "periscope layout 2".to_owned(),
                    "project_id, toDate(timestamp), id".to_owned()
                ),
            ],
            "{state}"
        );
        assert_eq!(
            reopened.schema_versions().await.unwrap(),
            [1, 2, 3, 4, 5, 6]
        );
    }
    backend.finish().await;
}

/// Trace rows as a release before migration 6 left them: versions superseded by one under
/// another user, session or time had no tombstone carrying those.
#[tokio::test]
async fn migration_6_hides_versions_superseded_before_it() {
    let backend = clickhouse().await;
    let (client, database) = backend.clickhouse().unwrap();
    for record in [
        trace_version("u1", "s1", 10, 1),
        trace_version("u2", "s2", 20, 2),
    ] {
        backend.store.write(vec![record]).await.unwrap();
    }
    // Drop the tombstones this release wrote: the old versions are then found again under the
    // old user and session, as reads before the backfill would find them.
    execute(
        &client,
        "ALTER TABLE traces DELETE WHERE is_deleted = 1 SETTINGS mutations_sync = 2",
    )
    .await;
    let by_user = |user: &str| TraceFilter {
        user_id: Some(user.into()),
        ..Default::default()
    };
    let by_session = |session: &str| TraceFilter {
        session_id: Some(session.into()),
        ..Default::default()
    };
    let totals = async |store: &dyn TraceStore| {
        let mut totals = Vec::new();
        for filter in [
            by_user("u1"),
            by_user("u2"),
            by_session("s1"),
            by_session("s2"),
        ] {
            let page = store
                .list_traces("p", &filter, PageRequest::default())
                .await
                .unwrap();
            totals.push(page.total_items);
        }
        totals
    };
    assert_eq!(
        totals(backend.store.as_ref()).await,
        [1, 1, 1, 1],
        "the legacy rows show under the old user and session"
    );

    forget_migrations_from(&client, 6).await;
    let reopened = ClickHouseTraceStore::connect(&clickhouse_config(database))
        .await
        .unwrap();
    assert_eq!(totals(&reopened).await, [0, 1, 0, 1]);
    // A second run finds nothing left to hide.
    let tombstones = async || -> u64 {
        client
            .query("SELECT count() FROM traces WHERE is_deleted = 1")
            .fetch_one()
            .await
            .unwrap()
    };
    let after_first = tombstones().await;
    assert_eq!(after_first, 1);
    forget_migrations_from(&client, 6).await;
    let again = ClickHouseTraceStore::connect(&clickhouse_config(database))
        .await
        .unwrap();
    assert_eq!(tombstones().await, after_first);
    assert_eq!(totals(&again).await, [0, 1, 0, 1]);
    backend.finish().await;
}
