//! Consumer lag: how far a group's committed offsets trail each partition's end.

use std::time::Duration;

use rdkafka::Offset;
use rdkafka::TopicPartitionList;
use rdkafka::consumer::{BaseConsumer, Consumer as _};

use super::errors::{BACKEND, kafka_error};
use super::producer::AppendedEnds;
use crate::error::{BackendError, BackendResult};

/// The lag of one consumer group on one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionLag {
    pub partition: i32,
    /// Offset the next appended record will get.
    pub high_watermark: i64,
    /// Next offset the group will read: its committed offset, or the oldest retained record
    /// when it never committed.
    pub committed: i64,
    /// Records appended but not yet committed by the group.
    pub lag: u64,
}

/// Reads the lag of `reader`'s group on every partition of `topic` (blocking). `known_ends`
/// are end offsets this process saw acknowledged, which correct a broker that under-reports
/// its high watermark.
pub(super) fn read_partition_lag(
    reader: &BaseConsumer,
    topic: &str,
    known_ends: &AppendedEnds,
    timeout: Duration,
) -> BackendResult<Vec<PartitionLag>> {
    let metadata = reader
        .fetch_metadata(Some(topic), timeout)
        .map_err(kafka_error(format!(
            "failed to read the metadata of topic {topic}"
        )))?;
    let Some(topic_metadata) = metadata.topics().iter().find(|t| t.name() == topic) else {
        return Err(BackendError::Invalid {
            backend: BACKEND,
            message: format!("topic {topic} does not exist"),
        });
    };
    if let Some(error) = topic_metadata.error() {
        return Err(BackendError::Unavailable {
            backend: BACKEND,
            message: format!("metadata of topic {topic} is unavailable: {error:?}"),
        });
    }
    let mut partitions = TopicPartitionList::new();
    for partition in topic_metadata.partitions() {
        partitions.add_partition(topic, partition.id());
    }
    let committed = reader
        .committed_offsets(partitions, timeout)
        .map_err(kafka_error(format!(
            "failed to read committed offsets of {topic}"
        )))?;
    let mut lags = Vec::with_capacity(committed.count());
    for element in committed.elements() {
        let partition = element.partition();
        let (low, listed_high) =
            reader
                .fetch_watermarks(topic, partition, timeout)
                .map_err(kafka_error(format!(
                    "failed to read the watermarks of {topic}/{partition}"
                )))?;
        let committed = match element.offset() {
            Offset::Offset(next) => next.max(low),
            _ => low,
        };
        // A group cannot have committed past the end, nor can appends we saw acknowledged lie
        // beyond it: either proves the listed watermark stale.
        let known_end = known_ends.get(&partition).copied().unwrap_or(0);
        let high = listed_high.max(known_end).max(committed);
        lags.push(PartitionLag {
            partition,
            high_watermark: high,
            committed,
            lag: u64::try_from(high - committed).unwrap_or(0),
        });
    }
    lags.sort_by_key(|lag| lag.partition);
    Ok(lags)
}
