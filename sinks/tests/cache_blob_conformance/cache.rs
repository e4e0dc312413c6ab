//! `Cache` scenarios, each run against the in-process cache and Redis.

use std::time::Duration;

use bytes::Bytes;
use periscope_core::cache::Cache;

const LONG: Duration = Duration::from_secs(60);

async fn get_set_overwrite_delete(cache: &dyn Cache) {
    assert_eq!(cache.get("k").await.unwrap(), None);
    cache
        .set("k", Bytes::from_static(b"one"), LONG)
        .await
        .unwrap();
    assert_eq!(
        cache.get("k").await.unwrap(),
        Some(Bytes::from_static(b"one"))
    );
    cache
        .set("k", Bytes::from_static(b"two"), LONG)
        .await
        .unwrap();
    assert_eq!(
        cache.get("k").await.unwrap(),
        Some(Bytes::from_static(b"two"))
    );
    cache.delete("k").await.unwrap();
    assert_eq!(cache.get("k").await.unwrap(), None);
    cache.delete("never-set").await.unwrap();
    // Binary values survive as they are.
    let binary = Bytes::from(vec![0u8, 255, 10, 13, 0]);
    cache.set("bin", binary.clone(), LONG).await.unwrap();
    assert_eq!(cache.get("bin").await.unwrap(), Some(binary));
}

async fn values_expire_after_their_ttl(cache: &dyn Cache) {
    cache
        .set(
            "short",
            Bytes::from_static(b"v"),
            Duration::from_millis(300),
        )
        .await
        .unwrap();
    cache
        .set("long", Bytes::from_static(b"v"), LONG)
        .await
        .unwrap();
    assert!(cache.get("short").await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(cache.get("short").await.unwrap(), None);
    assert!(cache.get("long").await.unwrap().is_some());
}

async fn set_if_absent_claims_once(cache: &dyn Cache) {
    assert!(
        cache
            .set_if_absent("claim", Bytes::from_static(b"a"), LONG)
            .await
            .unwrap()
    );
    assert!(
        !cache
            .set_if_absent("claim", Bytes::from_static(b"b"), LONG)
            .await
            .unwrap()
    );
    assert_eq!(
        cache.get("claim").await.unwrap(),
        Some(Bytes::from_static(b"a"))
    );
    cache.delete("claim").await.unwrap();
    assert!(
        cache
            .set_if_absent("claim", Bytes::from_static(b"c"), LONG)
            .await
            .unwrap()
    );
    // An expired claim can be taken again.
    let short = Duration::from_millis(300);
    assert!(
        cache
            .set_if_absent("expiring", Bytes::from_static(b"a"), short)
            .await
            .unwrap()
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        cache
            .set_if_absent("expiring", Bytes::from_static(b"b"), short)
            .await
            .unwrap()
    );
}

async fn set_if_present_only_refreshes_a_live_value(cache: &dyn Cache) {
    assert!(
        !cache
            .set_if_present("absent", Bytes::from_static(b"a"), LONG)
            .await
            .unwrap()
    );
    assert_eq!(
        cache.get("absent").await.unwrap(),
        None,
        "nothing was created"
    );

    let short = Duration::from_millis(300);
    cache
        .set("live", Bytes::from_static(b"a"), short)
        .await
        .unwrap();
    assert!(
        cache
            .set_if_present("live", Bytes::from_static(b"b"), LONG)
            .await
            .unwrap()
    );
    // The refresh replaced the value and restarted the TTL with the new, longer one.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        cache.get("live").await.unwrap(),
        Some(Bytes::from_static(b"b"))
    );

    // A deleted key stays deleted.
    cache.delete("live").await.unwrap();
    assert!(
        !cache
            .set_if_present("live", Bytes::from_static(b"c"), LONG)
            .await
            .unwrap()
    );
    assert_eq!(cache.get("live").await.unwrap(), None);

    // So does an expired one.
    cache
        .set("expiring", Bytes::from_static(b"a"), short)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        !cache
            .set_if_present("expiring", Bytes::from_static(b"b"), LONG)
            .await
            .unwrap()
    );
    assert_eq!(cache.get("expiring").await.unwrap(), None);
}

async fn concurrent_claims_have_one_winner(cache: &dyn Cache) {
    let attempts =
        (0..16).map(|i| cache.set_if_absent("contended", Bytes::from(format!("{i}")), LONG));
    let results = futures::future::join_all(attempts).await;
    let winners = results.into_iter().filter(|r| *r.as_ref().unwrap()).count();
    assert_eq!(winners, 1);
}

async fn increment_counts_within_a_fixed_window(cache: &dyn Cache) {
    assert_eq!(cache.increment("hits", LONG).await.unwrap(), 1);
    assert_eq!(cache.increment("hits", LONG).await.unwrap(), 2);
    assert_eq!(cache.increment("hits", LONG).await.unwrap(), 3);
    assert_eq!(cache.increment("other", LONG).await.unwrap(), 1);
    // The window starts at the first increment; later ones do not extend it.
    let window = Duration::from_millis(600);
    assert_eq!(cache.increment("window", window).await.unwrap(), 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(cache.increment("window", window).await.unwrap(), 2);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(cache.increment("window", window).await.unwrap(), 1);
}

async fn concurrent_increments_are_all_counted(cache: &dyn Cache) {
    let increments = (0..50).map(|_| cache.increment("busy", LONG));
    let mut counts: Vec<u64> = futures::future::join_all(increments)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    counts.sort_unstable();
    assert_eq!(counts, (1..=50).collect::<Vec<u64>>());
}

macro_rules! cache_conformance {
    ($($scenario:ident),* $(,)?) => {
        mod in_process {
            $(
                #[tokio::test]
                async fn $scenario() {
                    let cache = periscope_core::cache::in_process::InProcessCache::new();
                    super::$scenario(&cache).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test]
                async fn $scenario() {
                    let cache = crate::common::redis_cache().await;
                    super::$scenario(&cache).await;
                }
            )*
        }
    };
}

cache_conformance!(
    get_set_overwrite_delete,
    values_expire_after_their_ttl,
    set_if_absent_claims_once,
    set_if_present_only_refreshes_a_live_value,
    concurrent_claims_have_one_winner,
    increment_counts_within_a_fixed_window,
    concurrent_increments_are_all_counted,
);
