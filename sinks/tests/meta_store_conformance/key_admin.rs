//! `ApiKeyAdmin`: listing, creating and revoking keys; a revoked key is gone for
//! authentication.

use periscope_core::meta::MetaStore;
use periscope_core::sharing::api_keys::{ApiKeyAdmin, generate_api_key};

use crate::backends::Backend;

pub(crate) async fn keys_are_listed_per_project_and_revoked_by_id_or_public_key(
    backend: &impl Backend,
) {
    let store = backend.store();
    let first = generate_api_key("p1", Some("ci".into())).unwrap().entry;
    let second = generate_api_key("p1", None).unwrap().entry;
    let other = generate_api_key("p2", None).unwrap().entry;
    for entry in [&first, &second, &other] {
        store.create_api_key(entry).await.unwrap();
    }
    // A public key is unique.
    let error = store.create_api_key(&first).await.unwrap_err();
    assert!(error.to_string().contains("already exists"), "{error}");

    let listed = store.list_api_keys("p1").await.unwrap();
    let mut expected = vec![first.clone(), second.clone()];
    expected.sort_by(|a, b| (a.key.created_at, &a.key.id).cmp(&(b.key.created_at, &b.key.id)));
    assert_eq!(listed, expected);
    // Keys made by `MetaStore::upsert_api_key` (the CLI, the first run) have no note.
    assert_eq!(
        store.find_api_key(&first.key.public_key).await.unwrap(),
        Some(first.key.clone())
    );

    // Another project cannot revoke p1's key by id.
    assert_eq!(
        store.revoke_api_key("p2", &first.key.id).await.unwrap(),
        None
    );
    assert_eq!(
        store.revoke_api_key("p1", &first.key.id).await.unwrap(),
        Some(first.key.clone())
    );
    assert_eq!(
        store.find_api_key(&first.key.public_key).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .revoke_public_key(&other.key.public_key)
            .await
            .unwrap(),
        Some(other.key.clone())
    );
    assert_eq!(
        store
            .revoke_public_key(&other.key.public_key)
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.list_api_keys("p1").await.unwrap(), [second]);
    assert!(store.list_api_keys("p2").await.unwrap().is_empty());
}
