//! The share store of the meta database: toggles, record flags, and resolving an object id to
//! the one project that shares it.

use chrono::{DateTime, Utc};
use periscope_core::sharing::{
    RecordShareFlag, ShareObjectType, ShareResolution, ShareState, ShareStore,
};
use periscope_sinks::SqliteMetaStore;
use tempfile::TempDir;

const TRACE: ShareObjectType = ShareObjectType::Trace;
const SESSION: ShareObjectType = ShareObjectType::Session;

async fn open() -> (SqliteMetaStore, TempDir) {
    let directory = tempfile::tempdir().unwrap();
    let store = SqliteMetaStore::open(&directory.path().join("meta.db"))
        .await
        .unwrap();
    (store, directory)
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).unwrap()
}

fn flag(project: &str, trace: &str, public: bool) -> RecordShareFlag {
    RecordShareFlag {
        project_id: project.into(),
        trace_id: trace.into(),
        public,
    }
}

fn public_in(project: &str) -> ShareResolution {
    ShareResolution::Public {
        project_id: project.into(),
    }
}

#[tokio::test]
async fn objects_are_private_until_toggled_or_flagged() {
    let (store, _dir) = open().await;
    assert_eq!(
        store.resolve(TRACE, "t1").await.unwrap(),
        ShareResolution::Unknown
    );
    assert_eq!(store.share_state("p1", TRACE, "t1").await.unwrap(), None);

    store
        .set_public("p1", TRACE, "t1", true, now())
        .await
        .unwrap();
    assert_eq!(store.resolve(TRACE, "t1").await.unwrap(), public_in("p1"));
    // A session with the same id is a different object.
    assert_eq!(
        store.resolve(SESSION, "t1").await.unwrap(),
        ShareResolution::Unknown
    );

    store
        .set_public("p1", TRACE, "t1", false, now())
        .await
        .unwrap();
    assert_eq!(
        store.resolve(TRACE, "t1").await.unwrap(),
        ShareResolution::NotPublic
    );
    assert_eq!(
        store.share_state("p1", TRACE, "t1").await.unwrap(),
        Some(ShareState {
            toggle: Some(false),
            record_flag: false
        })
    );

    store
        .set_public("p1", SESSION, "s1", true, now())
        .await
        .unwrap();
    assert_eq!(store.resolve(SESSION, "s1").await.unwrap(), public_in("p1"));
}

#[tokio::test]
async fn record_flags_share_traces_unless_the_toggle_says_otherwise() {
    let (store, _dir) = open().await;
    store
        .record_public_flags(&[flag("p1", "t1", true), flag("p1", "t2", false)], now())
        .await
        .unwrap();
    assert_eq!(store.resolve(TRACE, "t1").await.unwrap(), public_in("p1"));
    // A private record flag alone creates no row.
    assert_eq!(
        store.resolve(TRACE, "t2").await.unwrap(),
        ShareResolution::Unknown
    );

    // The toggle wins, and a later record flag does not undo it.
    store
        .set_public("p1", TRACE, "t1", false, now())
        .await
        .unwrap();
    store
        .record_public_flags(&[flag("p1", "t1", true)], now())
        .await
        .unwrap();
    assert_eq!(
        store.resolve(TRACE, "t1").await.unwrap(),
        ShareResolution::NotPublic
    );
    assert_eq!(
        store.share_state("p1", TRACE, "t1").await.unwrap(),
        Some(ShareState {
            toggle: Some(false),
            record_flag: true
        })
    );

    // A record that turns private again clears its flag.
    store
        .record_public_flags(&[flag("p1", "t3", true)], now())
        .await
        .unwrap();
    store
        .record_public_flags(&[flag("p1", "t3", false)], now())
        .await
        .unwrap();
    assert_eq!(
        store.resolve(TRACE, "t3").await.unwrap(),
        ShareResolution::NotPublic
    );
}

#[tokio::test]
async fn an_id_shared_by_two_projects_is_served_by_neither() {
    let (store, _dir) = open().await;
    store
        .set_public("p1", TRACE, "t1", true, now())
        .await
        .unwrap();
    store
        .set_public("p2", TRACE, "t1", false, now())
        .await
        .unwrap();
    // p2's private object with the same id does not hide p1's public one.
    assert_eq!(store.resolve(TRACE, "t1").await.unwrap(), public_in("p1"));
    store
        .set_public("p2", TRACE, "t1", true, now())
        .await
        .unwrap();
    assert_eq!(
        store.resolve(TRACE, "t1").await.unwrap(),
        ShareResolution::NotPublic
    );
}
