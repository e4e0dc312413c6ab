//! The `EventLog` trait: topics, partitions, consumer groups and committed offsets.
//!
//! Implementations: the embedded segment-file log (`log::embedded`) and Kafka (scale-out).

pub mod embedded;
#[cfg(feature = "kafka")]
pub mod kafka;

use std::fmt::Debug;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::BackendResult;

/// A message to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// Partitioning key (`project_id/trace_id`).
    pub key: Bytes,
    pub value: Bytes,
}

/// A message read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// Append time, Unix milliseconds.
    pub timestamp_ms: i64,
    pub key: Bytes,
    pub value: Bytes,
}

/// An append-only, partitioned, durable log.
#[async_trait]
pub trait EventLog: Send + Sync + Debug + 'static {
    /// Creates `topic` if it does not exist.
    async fn ensure_topic(&self, topic: &str) -> BackendResult<()>;

    /// Appends `records` to `topic`. Returns only once they are durable (per the log's
    /// durability policy): the ingesters acknowledge clients after this returns.
    async fn append(&self, topic: &str, records: Vec<LogRecord>) -> BackendResult<()>;

    /// Joins consumer group `group` on `topic`, resuming from the group's committed offsets.
    async fn subscribe(&self, topic: &str, group: &str) -> BackendResult<Box<dyn LogConsumer>>;

    /// Returns the number of records `group` has not yet committed on `topic` (its lag).
    async fn lag(&self, topic: &str, group: &str) -> BackendResult<u64>;
}

/// A member of a consumer group.
#[async_trait]
pub trait LogConsumer: Send + Debug {
    /// Returns up to `max_records` records, waiting at most `max_wait` for the first one.
    /// An empty result means nothing arrived in time.
    async fn poll(
        &mut self,
        max_records: usize,
        max_wait: Duration,
    ) -> BackendResult<Vec<ConsumedRecord>>;

    /// Commits that every record up to and including `offset` on `partition` is processed.
    async fn commit(&mut self, partition: i32, offset: i64) -> BackendResult<()>;

    /// Moves the read position back to the last committed offset (after a failed batch).
    async fn rewind(&mut self) -> BackendResult<()>;
}
