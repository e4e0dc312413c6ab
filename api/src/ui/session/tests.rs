//! The session store against both caches: the in-process one of `periscope serve` and the
//! real Redis of scale-out mode (`PERISCOPE__REDIS__URL` from `deploy/dev-services.sh start`;
//! the Redis tests fail when it is unset). Each Redis test uses its own random key prefix.

use std::sync::Arc;

use periscope_core::cache::in_process::InProcessCache;
use periscope_core::config::RedisConfig;
use periscope_sinks::RedisCache;

use super::*;

const HOUR: Duration = Duration::from_secs(60 * 60);

fn redis_url() -> String {
    match std::env::var("PERISCOPE__REDIS__URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "PERISCOPE__REDIS__URL is not set; start the services: \
             eval \"$(deploy/dev-services.sh start)\""
        ),
    }
}

/// Two connections under one fresh key prefix: two api processes sharing one Redis.
async fn two_redis_processes() -> (Arc<dyn Cache>, Arc<dyn Cache>) {
    let config = RedisConfig {
        url: redis_url(),
        key_prefix: format!("periscope-test-{}:", uuid::Uuid::now_v7().simple()),
    };
    let first = RedisCache::connect(&config).await.unwrap();
    let second = RedisCache::connect(&config).await.unwrap();
    (Arc::new(first), Arc::new(second))
}

/// One in-process cache seen by "both processes" (`periscope serve` has only one).
fn in_process() -> (Arc<dyn Cache>, Arc<dyn Cache>) {
    let cache: Arc<dyn Cache> = Arc::new(InProcessCache::new());
    (cache.clone(), cache)
}

fn store_with(
    cache: &dyn Cache,
    idle_timeout: Duration,
    refresh_after: Duration,
) -> SessionStore<'_> {
    SessionStore {
        cache,
        idle_timeout,
        refresh_after,
    }
}

/// The expiry written in the cached value of `token`.
async fn stored_expiry(cache: &dyn Cache, token: &str) -> Option<u64> {
    let value = cache.get(&session_key(token)).await.unwrap()?;
    Some(
        serde_json::from_slice::<StoredSession>(&value)
            .unwrap()
            .expires_at_ms,
    )
}

async fn a_session_started_on_one_process_works_and_ends_on_another(
    first: &dyn Cache,
    second: &dyn Cache,
) {
    let now = SystemTime::now();
    let token = SessionStore::new(first)
        .create("p1".into(), "pk-1".into(), now)
        .await
        .unwrap();
    assert_eq!(token.len(), TOKEN_CHARS);
    let session = SessionStore::new(second)
        .touch(&token, now)
        .await
        .unwrap()
        .expect("the other process sees the session");
    assert_eq!(
        session,
        Session {
            project_id: "p1".into(),
            public_key: "pk-1".into()
        }
    );
    SessionStore::new(second).remove(&token).await.unwrap();
    assert_eq!(
        SessionStore::new(first).touch(&token, now).await.unwrap(),
        None
    );
    // Removing an unknown or malformed token is not an error.
    SessionStore::new(first).remove(&token).await.unwrap();
    SessionStore::new(first).remove("short").await.unwrap();
}

async fn only_the_hash_of_a_token_is_stored(first: &dyn Cache, _second: &dyn Cache) {
    let token = SessionStore::new(first)
        .create("p1".into(), "pk-1".into(), SystemTime::now())
        .await
        .unwrap();
    assert_eq!(first.get(&token).await.unwrap(), None);
    assert_eq!(
        first.get(&format!("{KEY_PREFIX}{token}")).await.unwrap(),
        None
    );
    let key = format!("{KEY_PREFIX}{}", hash_secret(&token));
    assert_eq!(key.len(), KEY_PREFIX.len() + 64, "sha-256 in hex");
    let value = first
        .get(&key)
        .await
        .unwrap()
        .expect("stored under the hash");
    let text = std::str::from_utf8(&value).unwrap();
    assert!(!text.contains(&token), "{text}");
    assert!(text.contains("pk-1") && text.contains("p1"), "{text}");
}

async fn the_expiry_slides_but_is_rewritten_at_most_once_an_hour(
    first: &dyn Cache,
    second: &dyn Cache,
) {
    let start = SystemTime::now();
    let token = SessionStore::new(first)
        .create("p1".into(), "pk-1".into(), start)
        .await
        .unwrap();
    let written = stored_expiry(first, &token).await.unwrap();
    assert_eq!(written, unix_millis(start + IDLE_TIMEOUT));

    // Within the first hour a request reads but does not write.
    let soon = start + Duration::from_secs(30 * 60);
    assert!(
        SessionStore::new(second)
            .touch(&token, soon)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(stored_expiry(first, &token).await, Some(written));

    // Later it moves the expiry to 12 h from now.
    let later = start + 2 * HOUR;
    assert!(
        SessionStore::new(second)
            .touch(&token, later)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        stored_expiry(first, &token).await,
        Some(unix_millis(later + IDLE_TIMEOUT))
    );

    // Idle past the (moved) expiry: over, even if the cache still holds the entry.
    assert!(
        SessionStore::new(first)
            .touch(&token, later + IDLE_TIMEOUT - Duration::from_secs(1))
            .await
            .unwrap()
            .is_some()
    );
    let idle = later + IDLE_TIMEOUT + IDLE_TIMEOUT;
    assert_eq!(
        SessionStore::new(first).touch(&token, idle).await.unwrap(),
        None
    );
}

async fn the_cache_ttl_ends_idle_sessions_and_refreshes_restart_it(
    first: &dyn Cache,
    second: &dyn Cache,
) {
    // Real time here: the cache's own TTL is what ends a session.
    let idle = Duration::from_millis(900);
    let token = store_with(first, idle, Duration::ZERO)
        .create("p1".into(), "pk-1".into(), SystemTime::now())
        .await
        .unwrap();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let used = store_with(second, idle, Duration::ZERO)
            .touch(&token, SystemTime::now())
            .await
            .unwrap();
        assert!(used.is_some(), "each use restarts the TTL");
    }
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(first.get(&session_key(&token)).await.unwrap(), None);
    let after = store_with(first, idle, Duration::ZERO)
        .touch(&token, SystemTime::now())
        .await
        .unwrap();
    assert_eq!(after, None);
}

async fn forged_and_unreadable_tokens_are_unknown(first: &dyn Cache, _second: &dyn Cache) {
    let store = SessionStore::new(first);
    let now = SystemTime::now();
    let one = store.create("p1".into(), "pk".into(), now).await.unwrap();
    let two = store.create("p1".into(), "pk".into(), now).await.unwrap();
    assert_ne!(one, two);
    assert_eq!(
        store.touch(&"A".repeat(TOKEN_CHARS), now).await.unwrap(),
        None
    );
    assert_eq!(store.touch("short", now).await.unwrap(), None);
    first
        .set(
            &session_key(&"B".repeat(TOKEN_CHARS)),
            Bytes::from_static(b"p1\npk"),
            HOUR,
        )
        .await
        .unwrap();
    assert_eq!(
        store.touch(&"B".repeat(TOKEN_CHARS), now).await.unwrap(),
        None
    );
}

macro_rules! session_store_scenarios {
    ($($scenario:ident),* $(,)?) => {
        mod in_process_cache {
            $(
                #[tokio::test]
                async fn $scenario() {
                    let (first, second) = super::in_process();
                    super::$scenario(first.as_ref(), second.as_ref()).await;
                }
            )*
        }
        mod redis_cache {
            $(
                #[tokio::test]
                async fn $scenario() {
                    let (first, second) = super::two_redis_processes().await;
                    super::$scenario(first.as_ref(), second.as_ref()).await;
                }
            )*
        }
    };
}

session_store_scenarios!(
    a_session_started_on_one_process_works_and_ends_on_another,
    only_the_hash_of_a_token_is_stored,
    the_expiry_slides_but_is_rewritten_at_most_once_an_hour,
    the_cache_ttl_ends_idle_sessions_and_refreshes_restart_it,
    forged_and_unreadable_tokens_are_unknown,
);
