//! Storage backends that the pipeline writes into and the API reads from.
//!
//! - [`sqlite`]: the embedded single-node `TraceStore` and `MetaStore`, each in its own SQLite
//!   database file.
//! - [`clickhouse`]: the scale-out `TraceStore` on ClickHouse.
//! - [`postgres`]: the scale-out `MetaStore` on Postgres, with every other store of the meta
//!   database (prompts, datasets, score configs, comments, annotation queues, shares, keys).
//! - [`TraceStoreSink`]: the pipeline `Sink` that writes record batches into any `TraceStore`.
//! - [`archive`]: the raw event archive (ingest topic → large gzip objects in any `BlobStore`)
//!   and its reader for replay.
//! - `redis` (feature `redis`): the `Cache` on Redis/Valkey.
//! - `s3` (feature `s3`): the `BlobStore` on S3 or an S3-compatible server.

pub mod archive;
pub mod clickhouse;
pub mod postgres;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "s3")]
pub mod s3;
pub mod sqlite;
mod store_sink;

pub use archive::{ArchiverConfig, read_archive, run_archiver};
pub use clickhouse::ClickHouseTraceStore;
pub use postgres::PostgresMetaStore;
#[cfg(feature = "redis")]
pub use redis::RedisCache;
#[cfg(feature = "s3")]
pub use s3::S3BlobStore;
pub use sqlite::{SqliteMetaStore, SqliteTraceStore};
pub use store_sink::TraceStoreSink;
