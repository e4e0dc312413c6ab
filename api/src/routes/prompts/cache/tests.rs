use chrono::Utc;
use periscope_core::prompts::PromptType;
use serde_json::json;

use super::*;
use crate::routes::prompts::fake::FakePromptStore;

fn new_prompt(project_id: &str, name: &str, labels: &[&str]) -> NewPrompt {
    NewPrompt {
        id: format!("{project_id}-{name}-{}", labels.join("-")),
        project_id: project_id.into(),
        name: name.into(),
        prompt_type: PromptType::Text,
        prompt: json!("hi"),
        config: json!({}),
        labels: labels.iter().map(|label| label.to_string()).collect(),
        tags: None,
        commit_message: None,
        created_by: "API".into(),
        created_at: Utc::now(),
        dependencies: Vec::new(),
    }
}

fn cached() -> (Arc<FakePromptStore>, CachedPromptStore) {
    let inner = Arc::new(FakePromptStore::default());
    let cache = CachedPromptStore::new(inner.clone());
    (inner, cache)
}

fn version_of(prompt: Option<Prompt>) -> Option<i64> {
    prompt.map(|prompt| prompt.version)
}

#[tokio::test]
async fn repeated_reads_are_served_from_memory() {
    let (inner, cache) = cached();
    cache
        .create_version(new_prompt("p", "qa", &["production"]))
        .await
        .unwrap();
    for _ in 0..3 {
        let found = cache.get_by_label("p", "qa", "production").await.unwrap();
        assert_eq!(version_of(found), Some(1));
    }
    assert_eq!(inner.reads(), 1);
    // Absence is cached too (the SDK retries a 404), per key.
    for _ in 0..2 {
        assert_eq!(cache.get_by_version("p", "qa", 7).await.unwrap(), None);
    }
    assert_eq!(inner.reads(), 2);
    // Another project is another key.
    assert_eq!(
        cache.get_by_label("q", "qa", "production").await.unwrap(),
        None
    );
    assert_eq!(inner.reads(), 3);
}

#[tokio::test]
async fn every_write_drops_the_projects_entries() {
    let (inner, cache) = cached();
    cache
        .create_version(new_prompt("p", "qa", &["production"]))
        .await
        .unwrap();
    cache
        .create_version(new_prompt("q", "qa", &["production"]))
        .await
        .unwrap();
    assert_eq!(
        version_of(cache.get_by_label("p", "qa", "production").await.unwrap()),
        Some(1)
    );
    assert_eq!(
        version_of(cache.get_by_label("q", "qa", "production").await.unwrap()),
        Some(1)
    );

    cache
        .create_version(new_prompt("p", "qa", &["production"]))
        .await
        .unwrap();
    assert_eq!(
        version_of(cache.get_by_label("p", "qa", "production").await.unwrap()),
        Some(2)
    );
    let reads = inner.reads();
    // Project q was not written: still cached.
    cache.get_by_label("q", "qa", "production").await.unwrap();
    assert_eq!(inner.reads(), reads);

    cache
        .update_labels("p", "qa", 1, &["production".into()])
        .await
        .unwrap();
    assert_eq!(
        version_of(cache.get_by_label("p", "qa", "production").await.unwrap()),
        Some(1)
    );

    cache
        .delete("p", "qa", &PromptDeletion::Version(1))
        .await
        .unwrap();
    assert_eq!(
        cache.get_by_label("p", "qa", "production").await.unwrap(),
        None
    );
    assert_eq!(cache.get_by_version("p", "qa", 1).await.unwrap(), None);
}

#[tokio::test]
async fn a_read_that_overlaps_a_write_is_not_cached() {
    let (inner, cache) = cached();
    cache
        .create_version(new_prompt("p", "qa", &["production"]))
        .await
        .unwrap();
    let stale = inner.get_by_label("p", "qa", "production").await.unwrap();
    // The read "returns" what it saw before a write that invalidates while it is in flight.
    let read = async {
        cache.invalidate("p");
        Ok(stale)
    };
    let selector = PromptSelector::Label("production".into());
    let served = cache.lookup("p", "qa", selector, read).await.unwrap();
    assert_eq!(version_of(served), Some(1));
    let reads = inner.reads();
    cache.get_by_label("p", "qa", "production").await.unwrap();
    assert_eq!(
        inner.reads(),
        reads + 1,
        "the overlapping read must not have been cached"
    );
}

#[tokio::test]
async fn a_write_through_another_process_is_seen_at_once_through_the_shared_cache() {
    let inner = Arc::new(FakePromptStore::default());
    let shared: Arc<dyn Cache> = Arc::new(periscope_core::cache::in_process::InProcessCache::new());
    let reader = CachedPromptStore::new(inner.clone()).with_shared(shared.clone());
    let writer = CachedPromptStore::new(inner.clone()).with_shared(shared);
    let isolated = CachedPromptStore::new(inner.clone());
    writer
        .create_version(new_prompt("p", "qa", &["production"]))
        .await
        .unwrap();
    for cache in [&reader, &isolated] {
        let found = cache.get_by_label("p", "qa", "production").await.unwrap();
        assert_eq!(version_of(found), Some(1));
    }
    // Version 2 takes the production label.
    let mut second = new_prompt("p", "qa", &["production"]);
    second.id = "p-qa-2".to_owned();
    writer.create_version(second).await.unwrap();
    // The reader shares the generation and drops its stale entry...
    assert_eq!(
        version_of(reader.get_by_label("p", "qa", "production").await.unwrap()),
        Some(2)
    );
    // ...while a process without the shared cache serves it until the entry expires.
    assert_eq!(
        version_of(
            isolated
                .get_by_label("p", "qa", "production")
                .await
                .unwrap()
        ),
        Some(1)
    );
}
