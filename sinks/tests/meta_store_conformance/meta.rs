//! `MetaStore`: health, projects, API keys (stored hashed) and model definitions.

use chrono::{TimeZone, Utc};
use periscope_core::error::BackendError;
use periscope_core::meta::{ApiKey, MetaStore, ModelDefinition, hash_secret};

use crate::backends::{Backend, at};

fn key(public_key: &str, id: &str, secret: &str) -> ApiKey {
    ApiKey {
        id: id.into(),
        project_id: "p".into(),
        public_key: public_key.into(),
        secret_hash: hash_secret(secret),
        display_secret: "sk-lf-...cret".into(),
        created_at: at(1),
    }
}

fn model(id: &str, project_id: Option<&str>, name: &str) -> ModelDefinition {
    ModelDefinition {
        id: id.into(),
        project_id: project_id.map(Into::into),
        model_name: name.into(),
        match_pattern: format!("(?i)^{name}$"),
        start_date: Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().unwrap()),
        prices: [("input".to_string(), 2.5e-6), ("output".to_string(), 1e-5)].into(),
        unit: "TOKENS".into(),
        tokenizer_id: Some("openai".into()),
        created_at: at(2),
    }
}

/// Checks that migrations 1..=n are all recorded (each store has its own count).
fn assert_contiguous(versions: &[i64]) {
    assert!(!versions.is_empty());
    let expected: Vec<i64> = (1..=versions.len() as i64).collect();
    assert_eq!(versions, expected);
}

pub(crate) async fn a_fresh_store_is_healthy_and_migrated(backend: &impl Backend) {
    backend.store().healthcheck().await.unwrap();
    assert_contiguous(&backend.schema_versions().await);
    assert!(backend.store().list_projects().await.unwrap().is_empty());
}

pub(crate) async fn upserting_a_project_twice_keeps_the_first(backend: &impl Backend) {
    let store = backend.store();
    let created = store.upsert_project("p", "Production").await.unwrap();
    assert_eq!(
        (created.id.as_str(), created.name.as_str()),
        ("p", "Production")
    );
    let again = store.upsert_project("p", "Renamed").await.unwrap();
    assert_eq!(again, created);
    store.upsert_project("a", "Another").await.unwrap();

    assert_eq!(store.get_project("p").await.unwrap(), Some(created));
    assert_eq!(store.get_project("missing").await.unwrap(), None);
    let mut ids: Vec<String> = store
        .list_projects()
        .await
        .unwrap()
        .into_iter()
        .map(|project| project.id)
        .collect();
    ids.sort();
    assert_eq!(ids, ["a", "p"]);
}

pub(crate) async fn an_existing_public_key_is_left_unchanged(backend: &impl Backend) {
    let store = backend.store();
    let original = key("pk-lf-1", "k1", "sk-lf-secret");
    store.upsert_api_key(&original).await.unwrap();
    store
        .upsert_api_key(&key("pk-lf-1", "k1", "sk-lf-other"))
        .await
        .unwrap();
    let found = store.find_api_key("pk-lf-1").await.unwrap().unwrap();
    assert_eq!(found, original);
    // Only the hash of the secret is stored.
    assert_eq!(found.secret_hash, hash_secret("sk-lf-secret"));
    assert_ne!(found.secret_hash, "sk-lf-secret");
    assert_eq!(store.find_api_key("pk-lf-2").await.unwrap(), None);

    // A different public key reusing an existing key id is a conflict, not a silent overwrite.
    let error = store
        .upsert_api_key(&key("pk-lf-2", "k1", "x"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, BackendError::AlreadyExists { .. }),
        "{error:?}"
    );
    assert_eq!(store.find_api_key("pk-lf-2").await.unwrap(), None);
}

pub(crate) async fn models_are_upserted_listed_and_deleted_per_project(backend: &impl Backend) {
    let store = backend.store();
    let gpt = model("m1", Some("p"), "gpt-4o");
    store.upsert_model(&gpt).await.unwrap();
    store
        .upsert_model(&model("m2", Some("p"), "claude"))
        .await
        .unwrap();
    store
        .upsert_model(&model("m3", Some("q"), "gpt-4o"))
        .await
        .unwrap();
    store
        .upsert_model(&model("builtin", None, "gpt-4o"))
        .await
        .unwrap();

    let listed = store.list_models("p").await.unwrap();
    assert_eq!(
        listed.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        ["m2", "m1"]
    );
    assert_eq!(listed[1], gpt);

    let repriced = ModelDefinition {
        prices: [("input".to_string(), 1e-6)].into(),
        start_date: None,
        tokenizer_id: None,
        ..gpt.clone()
    };
    store.upsert_model(&repriced).await.unwrap();
    assert!(store.list_models("p").await.unwrap().contains(&repriced));
    // Built-in models can be replaced too (their project is NULL on both sides).
    let builtin = ModelDefinition {
        unit: "CHARACTERS".into(),
        ..model("builtin", None, "gpt-4o")
    };
    store.upsert_model(&builtin).await.unwrap();

    let stolen = ModelDefinition {
        project_id: Some("q".into()),
        ..gpt.clone()
    };
    let error = store.upsert_model(&stolen).await.unwrap_err();
    assert!(
        matches!(error, BackendError::AlreadyExists { .. }),
        "{error:?}"
    );
    assert!(store.list_models("p").await.unwrap().contains(&repriced));

    assert!(!store.delete_model("q", "m1").await.unwrap());
    assert!(store.delete_model("p", "m1").await.unwrap());
    assert!(!store.delete_model("p", "m1").await.unwrap());
    assert_eq!(store.list_models("p").await.unwrap().len(), 1);
    assert_eq!(store.list_models("q").await.unwrap().len(), 1);
}

pub(crate) async fn data_survives_reopening_the_store(backend: &impl Backend) {
    let created = backend
        .store()
        .upsert_project("p", "Production")
        .await
        .unwrap();
    let reopened = backend.open_again().await;
    reopened.healthcheck().await.unwrap();
    assert_eq!(reopened.get_project("p").await.unwrap(), Some(created));
    assert_contiguous(&backend.schema_versions().await);
}
