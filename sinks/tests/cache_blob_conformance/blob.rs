//! `BlobStore` scenarios, each run against the filesystem store and S3.

use bytes::Bytes;
use futures::StreamExt;
use periscope_core::blob::BlobStore;

use crate::common::{IsolatedBlobStore, s3_config, unique};

async fn put_get_list_delete(isolated: IsolatedBlobStore) {
    let (store, prefix) = (&*isolated.store, isolated.prefix.as_str());
    let key = format!("{prefix}a/b/1.bin");
    assert_eq!(store.get(&key).await.unwrap(), None);
    assert!(
        store
            .put_if_absent(&key, Bytes::from_static(b"one"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .put_if_absent(&key, Bytes::from_static(b"two"))
            .await
            .unwrap()
    );
    assert_eq!(
        store.get(&key).await.unwrap(),
        Some(Bytes::from_static(b"one"))
    );
    assert_eq!(store.list(prefix).await.unwrap(), vec![key.clone()]);
    store.delete(&key).await.unwrap();
    assert_eq!(store.get(&key).await.unwrap(), None);
    assert!(store.list(prefix).await.unwrap().is_empty());
    store.delete(&key).await.unwrap();
    // A deleted key can be created again.
    assert!(
        store
            .put_if_absent(&key, Bytes::from_static(b"three"))
            .await
            .unwrap()
    );
    assert_eq!(
        store.get(&key).await.unwrap(),
        Some(Bytes::from_static(b"three"))
    );
}

async fn list_is_sorted_filtered_and_complete(isolated: IsolatedBlobStore) {
    let (store, prefix) = (&isolated.store, isolated.prefix.as_str());
    // More keys than one S3 listing page (1000), so pagination is exercised.
    let keys: Vec<String> = (0..1_050)
        .map(|i| format!("{prefix}logs/{i:05}.bin"))
        .collect();
    let puts = futures::stream::iter(keys.iter().cloned())
        .map(|key| {
            let store = store.clone();
            async move { store.put_if_absent(&key, Bytes::from_static(b"x")).await }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    assert!(puts.into_iter().all(|put| put.unwrap()));
    let sibling = format!("{prefix}logsibling/0.bin");
    assert!(
        store
            .put_if_absent(&sibling, Bytes::from_static(b"y"))
            .await
            .unwrap()
    );

    assert_eq!(store.list(&format!("{prefix}logs/")).await.unwrap(), keys);
    let everything = store.list(prefix).await.unwrap();
    assert_eq!(everything.len(), keys.len() + 1);
    assert!(
        everything.windows(2).all(|pair| pair[0] < pair[1]),
        "list is sorted"
    );
    assert!(
        store
            .list(&format!("{prefix}nothing/"))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn large_and_binary_objects_round_trip(isolated: IsolatedBlobStore) {
    let (store, prefix) = (&*isolated.store, isolated.prefix.as_str());
    let large: Bytes = (0..6 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let key = format!("{prefix}large.bin");
    assert!(store.put_if_absent(&key, large.clone()).await.unwrap());
    assert_eq!(store.get(&key).await.unwrap(), Some(large));
    let empty_key = format!("{prefix}empty.bin");
    assert!(store.put_if_absent(&empty_key, Bytes::new()).await.unwrap());
    assert_eq!(store.get(&empty_key).await.unwrap(), Some(Bytes::new()));
}

async fn concurrent_creates_have_one_winner(isolated: IsolatedBlobStore) {
    let (store, prefix) = (&*isolated.store, isolated.prefix.as_str());
    let key = format!("{prefix}contended.bin");
    let attempts = (0..8).map(|i| store.put_if_absent(&key, Bytes::from(format!("writer {i}"))));
    let results = futures::future::join_all(attempts).await;
    // S3 may answer 409 to a conditional write racing another; that is a retryable error, and
    // a retry then sees the winner's object.
    let mut winners = 0;
    for result in results {
        match result {
            Ok(true) => winners += 1,
            Ok(false) => {}
            Err(error) => {
                assert!(error.is_transient(), "{error}");
                assert!(
                    !store
                        .put_if_absent(&key, Bytes::from_static(b"late"))
                        .await
                        .unwrap()
                );
            }
        }
    }
    assert_eq!(winners, 1);
    let body = store.get(&key).await.unwrap().unwrap();
    assert!(body.starts_with(b"writer "), "{body:?}");
}

macro_rules! blob_conformance {
    ($($scenario:ident),* $(,)?) => {
        mod filesystem {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(crate::common::filesystem_store()).await;
                }
            )*
        }
        mod s3 {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(crate::common::s3_isolated().await).await;
                }
            )*
        }
    };
}

blob_conformance!(
    put_get_list_delete,
    list_is_sorted_filtered_and_complete,
    large_and_binary_objects_round_trip,
    concurrent_creates_have_one_winner,
);

#[tokio::test]
async fn s3_creates_a_missing_bucket_and_reuses_an_existing_one() {
    let bucket = unique("periscope-bucket");
    let first = periscope_sinks::S3BlobStore::connect(&s3_config(&bucket))
        .await
        .unwrap();
    first.healthcheck().await.unwrap();
    let again = periscope_sinks::S3BlobStore::connect(&s3_config(&bucket))
        .await
        .unwrap();
    assert!(again.list("").await.unwrap().is_empty());
}

#[tokio::test]
async fn s3_with_a_wrong_secret_is_a_permanent_error() {
    let mut config = s3_config(&crate::common::test_bucket());
    config.secret_access_key = "wrong-secret".to_owned();
    let error = periscope_sinks::S3BlobStore::connect(&config)
        .await
        .unwrap_err();
    assert!(!error.is_transient(), "{error}");
}
