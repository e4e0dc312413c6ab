//! What only the Redis cache has: key prefixes, configuration errors, and reconnecting.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use periscope_core::cache::Cache;
use periscope_core::config::RedisConfig;
use periscope_core::error::BackendError;
use periscope_sinks::RedisCache;

use crate::common::{redis_config, unique};

const LONG: Duration = Duration::from_secs(60);

#[tokio::test]
async fn every_key_is_stored_under_the_prefix() {
    let prefix = format!("{}:", unique("periscope-test"));
    let cache = RedisCache::connect(&redis_config(&prefix)).await.unwrap();
    let neighbour = RedisCache::connect(&redis_config(&format!("{}:", unique("periscope-test"))))
        .await
        .unwrap();
    let unprefixed = RedisCache::connect(&redis_config("")).await.unwrap();

    cache
        .set("k", Bytes::from_static(b"v"), LONG)
        .await
        .unwrap();
    assert_eq!(neighbour.get("k").await.unwrap(), None);
    let raw_key = format!("{prefix}k");
    assert_eq!(
        unprefixed.get(&raw_key).await.unwrap(),
        Some(Bytes::from_static(b"v"))
    );
    assert_eq!(cache.increment("n", LONG).await.unwrap(), 1);
    assert_eq!(neighbour.increment("n", LONG).await.unwrap(), 1);
    unprefixed.delete(&raw_key).await.unwrap();
    unprefixed.delete(&format!("{prefix}n")).await.unwrap();
    assert_eq!(cache.get("k").await.unwrap(), None);
    cache.healthcheck().await.unwrap();
}

#[tokio::test]
async fn a_malformed_url_is_rejected_with_the_setting_named() {
    let config = RedisConfig {
        url: "not a url".to_owned(),
        key_prefix: String::new(),
    };
    let error = RedisCache::connect(&config).await.unwrap_err();
    assert!(matches!(error, BackendError::Invalid { .. }), "{error}");
    assert!(error.to_string().contains("redis.url"), "{error}");
}

#[tokio::test]
async fn an_unreachable_server_fails_fast_at_startup() {
    let port = free_port();
    let config = RedisConfig {
        url: format!("redis://127.0.0.1:{port}"),
        key_prefix: String::new(),
    };
    let started = Instant::now();
    let error = RedisCache::connect(&config).await.unwrap_err();
    assert!(error.is_transient(), "{error}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// A private `redis-server` on its own port, so the test can stop and restart it without
/// touching the shared one.
struct PrivateRedis {
    port: u16,
    child: Child,
}

impl PrivateRedis {
    fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "redis-server not found ({error}); install it: apt-get install -y redis-server"
                )
            });
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { port, child }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn a_restarted_server_is_picked_up_without_reconnecting_by_hand() {
    let mut server = PrivateRedis::start(free_port());
    let config = RedisConfig {
        url: format!("redis://127.0.0.1:{}", server.port),
        key_prefix: "restart:".to_owned(),
    };
    let cache = RedisCache::connect(&config).await.unwrap();
    cache
        .set("k", Bytes::from_static(b"before"), LONG)
        .await
        .unwrap();

    server.stop();
    let started = Instant::now();
    let error = cache.get("k").await.unwrap_err();
    assert!(error.is_transient(), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "a down cache must fail fast"
    );

    let _restarted = PrivateRedis::start(server.port);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match cache.set("k", Bytes::from_static(b"after"), LONG).await {
            Ok(()) => break,
            Err(error) => {
                assert!(
                    Instant::now() < deadline,
                    "no reconnect after restart: {error}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    assert_eq!(
        cache.get("k").await.unwrap(),
        Some(Bytes::from_static(b"after"))
    );
}
