//! The prompt store: version numbering, label moves, `latest`, tags, listing, deletion with
//! references, project isolation and concurrent creates, on a real meta database.

use chrono::Utc;
use periscope_core::prompts::{
    NewPrompt, PromptDeletion, PromptError, PromptListFilter, PromptStore, PromptType,
};
use periscope_core::store::PageRequest;
use periscope_sinks::SqliteMetaStore;
use serde_json::json;

pub(super) async fn open_meta() -> (tempfile::TempDir, SqliteMetaStore) {
    let directory = tempfile::tempdir().unwrap();
    let store = SqliteMetaStore::open(&directory.path().join("meta.db"))
        .await
        .unwrap();
    (directory, store)
}

pub(super) fn new_prompt(
    project_id: &str,
    name: &str,
    labels: &[&str],
    tags: Option<&[&str]>,
) -> NewPrompt {
    NewPrompt {
        id: uuid_like(),
        project_id: project_id.into(),
        name: name.into(),
        prompt_type: PromptType::Text,
        prompt: json!(format!("Answer {{{{question}}}} ({name})")),
        config: json!({"temperature": 0.1}),
        labels: labels.iter().map(|label| label.to_string()).collect(),
        tags: tags.map(|tags| tags.iter().map(|tag| tag.to_string()).collect()),
        commit_message: Some("initial".into()),
        created_by: "API".into(),
        created_at: Utc::now(),
        dependencies: Vec::new(),
    }
}

/// A unique id per call (the store does not care about the format).
fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("prompt-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

pub(super) async fn labels_of(store: &SqliteMetaStore, name: &str, version: i64) -> Vec<String> {
    store
        .get_by_version("p", name, version)
        .await
        .unwrap()
        .unwrap()
        .labels
}

#[tokio::test]
async fn versions_count_up_and_latest_follows_the_newest() {
    let (_directory, store) = open_meta().await;
    let first = store
        .create_version(new_prompt("p", "qa", &["production"], Some(&["demo"])))
        .await
        .unwrap();
    assert_eq!(first.version, 1);
    assert_eq!(first.labels, ["latest", "production"]);
    assert_eq!(first.tags, ["demo"]);
    assert_eq!(first.config, json!({"temperature": 0.1}));
    assert_eq!(first.commit_message.as_deref(), Some("initial"));
    assert_eq!(first.prompt_type, PromptType::Text);

    let second = store
        .create_version(new_prompt("p", "qa", &[], None))
        .await
        .unwrap();
    assert_eq!(second.version, 2);
    assert_eq!(second.labels, ["latest"]);
    assert_eq!(labels_of(&store, "qa", 1).await, ["production"]);

    let by_label = store.get_by_label("p", "qa", "production").await.unwrap();
    assert_eq!(by_label.map(|prompt| prompt.version), Some(1));
    let latest = store.get_by_label("p", "qa", "latest").await.unwrap();
    assert_eq!(latest, Some(second.clone()));
    assert_eq!(store.get_by_version("p", "qa", 3).await.unwrap(), None);
    assert_eq!(
        store.get_by_label("p", "qa", "staging").await.unwrap(),
        None
    );
    assert_eq!(
        store.get_by_label("p", "other", "latest").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_label_moves_to_the_version_that_receives_it() {
    let (_directory, store) = open_meta().await;
    store
        .create_version(new_prompt("p", "qa", &["production", "staging"], None))
        .await
        .unwrap();
    let before = store.get_by_version("p", "qa", 1).await.unwrap().unwrap();
    let second = store
        .create_version(new_prompt("p", "qa", &["production"], None))
        .await
        .unwrap();
    assert_eq!(second.labels, ["latest", "production"]);
    let first = store.get_by_version("p", "qa", 1).await.unwrap().unwrap();
    assert_eq!(first.labels, ["staging"]);
    assert!(first.updated_at >= before.updated_at);
    assert_eq!(first.created_at, before.created_at);

    // PATCH: adds labels, keeps the version's own, and takes them from the others.
    let patched = store
        .update_labels("p", "qa", 1, &["production".into(), "canary".into()])
        .await
        .unwrap();
    assert_eq!(patched.labels, ["canary", "production", "staging"]);
    assert_eq!(labels_of(&store, "qa", 2).await, ["latest"]);
    let error = store
        .update_labels("p", "qa", 9, &["production".into()])
        .await
        .unwrap_err();
    assert!(matches!(error, PromptError::NotFound { .. }), "{error}");
}

#[tokio::test]
async fn tags_belong_to_every_version_of_a_name() {
    let (_directory, store) = open_meta().await;
    store
        .create_version(new_prompt("p", "qa", &[], Some(&["a", "b"])))
        .await
        .unwrap();
    let inherited = store
        .create_version(new_prompt("p", "qa", &[], None))
        .await
        .unwrap();
    assert_eq!(inherited.tags, ["a", "b"]);
    let replaced = store
        .create_version(new_prompt("p", "qa", &[], Some(&["c"])))
        .await
        .unwrap();
    assert_eq!(replaced.tags, ["c"]);
    for version in 1..=3 {
        let prompt = store
            .get_by_version("p", "qa", version)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(prompt.tags, ["c"], "version {version}");
    }
    let cleared = store
        .create_version(new_prompt("p", "qa", &[], Some(&[])))
        .await
        .unwrap();
    assert!(cleared.tags.is_empty());
}

#[tokio::test]
async fn all_versions_of_a_name_share_one_type() {
    let (_directory, store) = open_meta().await;
    store
        .create_version(new_prompt("p", "qa", &[], None))
        .await
        .unwrap();
    let chat = NewPrompt {
        prompt_type: PromptType::Chat,
        prompt: json!([{"role": "user", "content": "hi"}]),
        ..new_prompt("p", "qa", &[], None)
    };
    let error = store.create_version(chat.clone()).await.unwrap_err();
    assert!(
        matches!(&error, PromptError::Rejected(message) if message.contains("text")),
        "{error}"
    );
    // Nothing of the refused version was stored.
    assert_eq!(store.get_by_version("p", "qa", 2).await.unwrap(), None);
    assert_eq!(labels_of(&store, "qa", 1).await, ["latest"]);

    let created = store
        .create_version(NewPrompt {
            name: "qa-chat".into(),
            ..chat
        })
        .await
        .unwrap();
    assert_eq!(created.prompt_type, PromptType::Chat);
    assert_eq!(created.prompt, json!([{"role": "user", "content": "hi"}]));
}

#[tokio::test]
async fn projects_do_not_see_each_others_prompts() {
    let (_directory, store) = open_meta().await;
    store
        .create_version(new_prompt("p", "qa", &["production"], None))
        .await
        .unwrap();
    store
        .create_version(new_prompt("p", "qa", &[], None))
        .await
        .unwrap();
    let other = store
        .create_version(new_prompt("q", "qa", &["production"], None))
        .await
        .unwrap();
    assert_eq!(other.version, 1);
    assert_eq!(store.get_by_version("q", "qa", 2).await.unwrap(), None);
    assert_eq!(labels_of(&store, "qa", 1).await, ["production"]);
    let listed = store
        .list("q", &PromptListFilter::default(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(listed.total_items, 1);
    assert_eq!(listed.items[0].versions, [1]);
    let error = store
        .delete("q", "missing", &PromptDeletion::All)
        .await
        .unwrap_err();
    assert!(matches!(error, PromptError::NotFound { .. }));
    store.delete("q", "qa", &PromptDeletion::All).await.unwrap();
    assert!(store.get_by_version("p", "qa", 2).await.unwrap().is_some());
}

#[tokio::test]
async fn concurrent_creates_get_distinct_versions() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("meta.db");
    // Two stores on one file behave like two processes: only SQLite's lock serialises them.
    let first = SqliteMetaStore::open(&path).await.unwrap();
    let second = SqliteMetaStore::open(&path).await.unwrap();
    let creates = (0..24).map(|index| {
        let store = if index % 2 == 0 { &first } else { &second };
        async move {
            store
                .create_version(new_prompt("p", "busy", &["production"], None))
                .await
                .map(|prompt| prompt.version)
        }
    });
    let mut versions: Vec<i64> = futures::future::join_all(creates)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, (1..=24).collect::<Vec<i64>>());
    let newest = first
        .get_by_label("p", "busy", "latest")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(newest.version, 24);
    let mut holders = 0;
    for version in 1..=24 {
        let labels = first
            .get_by_version("p", "busy", version)
            .await
            .unwrap()
            .unwrap()
            .labels;
        holders += labels.iter().filter(|label| *label == "production").count();
        assert_eq!(labels.contains(&"latest".to_string()), version == 24);
    }
    assert_eq!(holders, 1, "exactly one version carries production");
}
