//! Migrations: applied once, recorded, and safe to rerun on every open.

use periscope_core::meta::MetaStore;
use periscope_core::model::Record;
use periscope_core::store::TraceStore;
use periscope_sinks::{SqliteMetaStore, SqliteTraceStore};

use crate::common::{at, execute_raw, trace};

#[tokio::test]
async fn reopening_a_trace_database_keeps_its_data_and_schema() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("traces.db");
    let store = SqliteTraceStore::open(&path).await.unwrap();
    assert_eq!(store.schema_versions().await.unwrap(), [1, 2, 3, 4, 5, 6]);
    store
        .write(vec![Record::Trace(trace("p", "t", at(0)))])
        .await
        .unwrap();
    drop(store);

    for _ in 0..2 {
        let reopened = SqliteTraceStore::open(&path).await.unwrap();
        reopened.healthcheck().await.unwrap();
        assert_eq!(
            reopened.schema_versions().await.unwrap(),
            [1, 2, 3, 4, 5, 6]
        );
        assert!(reopened.get_trace("p", "t").await.unwrap().is_some());
    }
}

#[tokio::test]
async fn two_stores_can_open_the_same_file_at_once() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("traces.db");
    let (first, second) =
        tokio::join!(SqliteTraceStore::open(&path), SqliteTraceStore::open(&path));
    assert_eq!(
        first.unwrap().schema_versions().await.unwrap(),
        [1, 2, 3, 4, 5, 6]
    );
    assert_eq!(
        second.unwrap().schema_versions().await.unwrap(),
        [1, 2, 3, 4, 5, 6]
    );
}

#[tokio::test]
async fn a_database_from_a_newer_build_is_refused() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("meta.db");
    drop(SqliteMetaStore::open(&path).await.unwrap());
    execute_raw(
        &path,
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 0)",
    )
    .await;
    let error = SqliteMetaStore::open(&path).await.unwrap_err();
    assert!(error.to_string().contains("version 99"), "{error}");
}

#[tokio::test]
async fn reopening_a_meta_database_keeps_its_data_and_schema() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("meta.db");
    let store = SqliteMetaStore::open(&path).await.unwrap();
    store.upsert_project("p", "Production").await.unwrap();
    drop(store);
    let reopened = SqliteMetaStore::open(&path).await.unwrap();
    reopened.healthcheck().await.unwrap();
    // Every migration applied once, numbered without gaps from 1.
    let versions = reopened.schema_versions().await.unwrap();
    assert!(versions.len() >= 7, "{versions:?}");
    assert!(
        versions.iter().zip(1..).all(|(v, n): (&i64, i64)| *v == n),
        "{versions:?}"
    );
    assert_eq!(
        reopened.get_project("p").await.unwrap().unwrap().name,
        "Production"
    );
}
