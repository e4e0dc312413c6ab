//! Finding the services and isolating each test.

use std::sync::Arc;

use periscope_core::blob::BlobStore;
use periscope_core::blob::filesystem::FilesystemBlobStore;
use periscope_core::config::{RedisConfig, S3Config};
use periscope_sinks::{RedisCache, S3BlobStore};

/// The bucket the tests share (each writes under its own random prefix): the deployment's
/// bucket, because a dev SeaweedFS has volume slots for only a few buckets with data.
pub(crate) fn test_bucket() -> String {
    std::env::var("PERISCOPE__S3__BUCKET").unwrap_or_else(|_| "periscope".to_owned())
}

pub(crate) fn env(name: &str) -> String {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => value,
        _ => panic!(
            "{name} is not set; start the services: eval \"$(deploy/dev-services.sh start)\""
        ),
    }
}

/// A short random suffix for keys, prefixes and project ids.
pub(crate) fn unique(label: &str) -> String {
    format!("{label}-{}", uuid::Uuid::now_v7().simple())
}

pub(crate) fn redis_config(key_prefix: &str) -> RedisConfig {
    RedisConfig {
        url: env("PERISCOPE__REDIS__URL"),
        key_prefix: key_prefix.to_owned(),
    }
}

/// A Redis cache under a fresh random key prefix.
pub(crate) async fn redis_cache() -> RedisCache {
    let prefix = format!("{}:", unique("periscope-test"));
    RedisCache::connect(&redis_config(&prefix)).await.unwrap()
}

pub(crate) fn s3_config(bucket: &str) -> S3Config {
    S3Config {
        endpoint: env("PERISCOPE__S3__ENDPOINT"),
        bucket: bucket.to_owned(),
        region: std::env::var("PERISCOPE__S3__REGION").unwrap_or_else(|_| "us-east-1".to_owned()),
        path_style: true,
        access_key_id: env("PERISCOPE__S3__ACCESS_KEY_ID"),
        secret_access_key: env("PERISCOPE__S3__SECRET_ACCESS_KEY"),
        offload_bytes: 262_144,
    }
}

pub(crate) async fn s3_store() -> S3BlobStore {
    S3BlobStore::connect(&s3_config(&test_bucket()))
        .await
        .unwrap()
}

/// A blob store and a key prefix no other test uses. The temporary directory of the filesystem
/// store lives as long as the returned guard.
pub(crate) struct IsolatedBlobStore {
    pub(crate) store: Arc<dyn BlobStore>,
    pub(crate) prefix: String,
    _dir: Option<tempfile::TempDir>,
}

pub(crate) fn filesystem_store() -> IsolatedBlobStore {
    let dir = tempfile::tempdir().unwrap();
    IsolatedBlobStore {
        store: Arc::new(FilesystemBlobStore::new(dir.path())),
        prefix: format!("{}/", unique("test")),
        _dir: Some(dir),
    }
}

pub(crate) async fn s3_isolated() -> IsolatedBlobStore {
    IsolatedBlobStore {
        store: Arc::new(s3_store().await),
        prefix: format!("{}/", unique("test")),
        _dir: None,
    }
}
