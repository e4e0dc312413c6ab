//! The score config and comment stores of the meta database.

use chrono::{DateTime, Duration, Utc};
use periscope_core::comments::{Comment, CommentFilter, CommentObjectType, CommentStore};
use periscope_core::model::ScoreDataType;
use periscope_core::score_configs::{ConfigCategory, ScoreConfig, ScoreConfigStore};
use periscope_core::store::PageRequest;
use periscope_sinks::SqliteMetaStore;
use tempfile::TempDir;

async fn open() -> (SqliteMetaStore, TempDir) {
    let directory = tempfile::tempdir().unwrap();
    let store = SqliteMetaStore::open(&directory.path().join("meta.db"))
        .await
        .unwrap();
    (store, directory)
}

/// A time at the microsecond precision the store keeps.
fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).unwrap() + Duration::seconds(seconds)
}

fn config(project: &str, id: &str, seconds: i64) -> ScoreConfig {
    ScoreConfig {
        id: id.into(),
        project_id: project.into(),
        name: format!("config {id}"),
        data_type: ScoreDataType::Categorical,
        is_archived: false,
        min_value: None,
        max_value: None,
        categories: vec![
            ConfigCategory {
                label: "good".into(),
                value: 1.0,
            },
            ConfigCategory {
                label: "bad".into(),
                value: -0.5,
            },
        ],
        description: Some("how good".into()),
        created_at: at(seconds),
        updated_at: at(seconds),
    }
}

#[tokio::test]
async fn score_configs_round_trip_page_and_update_per_project() {
    let (store, _directory) = open().await;
    let first = config("p", "c1", 0);
    let mut second = config("p", "c2", 1);
    second.data_type = ScoreDataType::Numeric;
    second.categories.clear();
    second.min_value = Some(0.0);
    second.max_value = Some(10.0);
    second.description = None;
    store.create_score_config(&first).await.unwrap();
    store.create_score_config(&second).await.unwrap();
    store
        .create_score_config(&config("other", "c3", 2))
        .await
        .unwrap();

    assert_eq!(
        store.get_score_config("p", "c1").await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.get_score_config("p", "c2").await.unwrap(),
        Some(second.clone())
    );
    assert_eq!(store.get_score_config("other", "c1").await.unwrap(), None);

    let page = store
        .list_score_configs("p", PageRequest { page: 1, limit: 1 })
        .await
        .unwrap();
    assert_eq!(page.total_items, 2);
    assert_eq!(page.items, vec![second.clone()]);
    let page = store
        .list_score_configs("p", PageRequest { page: 2, limit: 1 })
        .await
        .unwrap();
    assert_eq!(page.items, vec![first.clone()]);

    let mut archived = first.clone();
    archived.is_archived = true;
    archived.name = "renamed".into();
    archived.updated_at = at(10);
    assert!(store.update_score_config(&archived).await.unwrap());
    assert_eq!(
        store.get_score_config("p", "c1").await.unwrap(),
        Some(archived)
    );
    let mut missing = first;
    missing.id = "nope".into();
    assert!(!store.update_score_config(&missing).await.unwrap());
}

fn comment(project: &str, id: &str, object: &str, author: Option<&str>, seconds: i64) -> Comment {
    Comment {
        id: id.into(),
        project_id: project.into(),
        object_type: CommentObjectType::Trace,
        object_id: object.into(),
        content: format!("comment {id}"),
        author_user_id: author.map(Into::into),
        created_at: at(seconds),
        updated_at: at(seconds),
    }
}

#[tokio::test]
async fn comments_are_filtered_paged_and_isolated_per_project() {
    let (store, _directory) = open().await;
    let first = comment("p", "a", "t1", Some("alice"), 0);
    let second = comment("p", "b", "t1", None, 1);
    let mut third = comment("p", "c", "s1", Some("alice"), 2);
    third.object_type = CommentObjectType::Session;
    for comment in [
        &first,
        &second,
        &third,
        &comment("other", "d", "t1", None, 3),
    ] {
        store.create_comment(comment).await.unwrap();
    }

    assert_eq!(
        store.get_comment("p", "a").await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.get_comment("p", "d").await.unwrap(), None);

    let all = store
        .list_comments("p", &CommentFilter::default(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(all.total_items, 3);
    assert_eq!(
        all.items,
        vec![third.clone(), second.clone(), first.clone()]
    );

    let on_trace = CommentFilter {
        object_type: Some(CommentObjectType::Trace),
        object_id: Some("t1".into()),
        ..CommentFilter::default()
    };
    let page = store
        .list_comments("p", &on_trace, PageRequest { page: 2, limit: 1 })
        .await
        .unwrap();
    assert_eq!(page.total_items, 2);
    assert_eq!(page.items, vec![first]);

    let by_alice = CommentFilter {
        author_user_id: Some("alice".into()),
        ..CommentFilter::default()
    };
    let page = store
        .list_comments("p", &by_alice, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.total_items, 2);
    assert_eq!(page.items.len(), 2);
    assert!(
        page.items
            .iter()
            .all(|c| c.author_user_id.as_deref() == Some("alice"))
    );
}
