//! Settings of the scale-out backends. Each backend is off (embedded default) until its
//! address is set: an empty `brokers`/`url`/`endpoint` keeps the single-node implementation.

use std::time::Duration;

use serde::Deserialize;

use super::duration;

/// The event log on Kafka (any Kafka 3.x protocol broker, e.g. Tansu).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// Comma-separated `host:port` bootstrap servers; empty = the embedded log.
    pub brokers: String,
    /// Partitions of each topic created at startup.
    pub partitions: i32,
    /// Replication factor of each topic created at startup.
    pub replication: i32,
    /// Consumer-group session timeout (a dead member's partitions move after this).
    #[serde(with = "duration::serde_humantime")]
    pub session_timeout: Duration,
    /// Prefix of every topic and consumer-group name, so several deployments (or test runs)
    /// can share one cluster; empty = the plain names (`periscope.ingest.v1`, ...).
    pub namespace: String,
    /// Extra librdkafka properties (e.g. `security.protocol`), applied to every client.
    #[serde(default)]
    pub properties: std::collections::BTreeMap<String, String>,
}

/// The trace store on ClickHouse.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClickHouseConfig {
    /// HTTP interface, e.g. `http://127.0.0.1:8123`; empty = the embedded SQLite store.
    pub url: String,
    pub database: String,
    pub user: String,
    pub password: String,
    /// Rows are deleted this long after their timestamp; `0s` keeps them forever.
    #[serde(with = "duration::serde_humantime")]
    pub retention: Duration,
    /// Deadline for one insert.
    #[serde(with = "duration::serde_humantime")]
    pub insert_timeout: Duration,
    /// The trace sink writes ClickHouse in batches of up to this many records...
    pub batch_max_records: usize,
    /// ...gathered for at most this long: ClickHouse wants few, large inserts (≥ 10k rows
    /// or ≥ 1 s per table), unlike SQLite's small transactions.
    #[serde(with = "duration::serde_humantime")]
    pub batch_max_wait: Duration,
}

/// The meta store on Postgres.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// e.g. `postgres://periscope@127.0.0.1:5432/periscope`; empty = the embedded SQLite store.
    pub url: String,
    pub max_connections: u32,
}

/// The blob store on S3 (or any S3-compatible server).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// e.g. `http://127.0.0.1:8333`; empty = files in the data directory. Use
    /// `https://s3.<region>.amazonaws.com` for AWS.
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    /// Path-style addressing (`endpoint/bucket/key`), needed by most S3-compatible servers.
    pub path_style: bool,
    /// Empty = the default AWS credential chain is not consulted; set both for static keys.
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Event bodies larger than this are stored in the blob store and referenced.
    pub offload_bytes: usize,
}

/// The cache on Redis or Valkey.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// e.g. `redis://127.0.0.1:6379/0`; empty = the in-process cache.
    pub url: String,
    /// Prefix of every key, so several deployments can share one server.
    pub key_prefix: String,
}

/// The raw event archive: every ingest event, as sent, in large compressed objects in the blob
/// store, so history can be replayed (`periscope replay`) after the log's retention.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveConfig {
    /// Whether `periscope serve` runs the archiver (`periscope sink archive` always does).
    pub enabled: bool,
    /// An object is written after this long at the latest (or at 100k events)...
    #[serde(with = "duration::serde_humantime")]
    pub max_wait: Duration,
    /// ...or once this many bytes of events are gathered; the archiver holds about twice this
    /// in memory, so it bounds the server's RSS.
    pub max_bytes: usize,
}
