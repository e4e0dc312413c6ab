//! A member of a Kafka consumer group that commits only what the runner tells it to.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::FutureExt as _;
use rdkafka::Message as _;
use rdkafka::Offset;
use rdkafka::TopicPartitionList;
use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::BorrowedMessage;
use rdkafka::types::RDKafkaErrorCode;

use super::REQUEST_TIMEOUT;
use super::client_config::{self, ClientRole};
use super::errors::{BACKEND, kafka_error, run_blocking};
use crate::config::KafkaConfig;
use crate::error::{BackendError, BackendResult};
use crate::log::{ConsumedRecord, LogConsumer};

/// Upper bound on bytes returned by one poll, as in the embedded log.
const MAX_POLL_BYTES: usize = 8 * 1024 * 1024;

/// One member of a consumer group on one topic.
pub struct KafkaConsumer {
    topic: String,
    group: String,
    consumer: Arc<StreamConsumer>,
    /// Next offset to read per partition, as last committed by this member; lower commits
    /// (an older batch finishing late) are skipped like in the embedded log.
    committed: HashMap<i32, i64>,
}

impl std::fmt::Debug for KafkaConsumer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("KafkaConsumer")
            .field("topic", &self.topic)
            .field("group", &self.group)
            .field("committed", &self.committed)
            .finish_non_exhaustive()
    }
}

impl KafkaConsumer {
    /// Joins `group` on `topic`. Partitions arrive with the first polls (the group join runs
    /// in the background); each starts at the group's committed offset, or at the earliest
    /// record when the group never committed on it.
    pub(super) fn subscribe(config: &KafkaConfig, topic: &str, group: &str) -> BackendResult<Self> {
        let consumer: StreamConsumer = client_config::build(config, ClientRole::Consumer { group })
            .create()
            .map_err(kafka_error(format!(
                "failed to create a kafka consumer for group {group}"
            )))?;
        consumer.subscribe(&[topic]).map_err(kafka_error(format!(
            "failed to subscribe group {group} to {topic}"
        )))?;
        Ok(Self {
            topic: topic.to_owned(),
            group: group.to_owned(),
            consumer: Arc::new(consumer),
            committed: HashMap::new(),
        })
    }

    /// Returns the partitions currently assigned to this member.
    pub fn assigned_partitions(&self) -> BackendResult<Vec<i32>> {
        let assignment = self
            .consumer
            .assignment()
            .map_err(kafka_error("failed to read the consumer assignment"))?;
        Ok(assignment
            .elements()
            .iter()
            .map(|element| element.partition())
            .collect())
    }

    fn to_record(message: &BorrowedMessage<'_>) -> ConsumedRecord {
        ConsumedRecord {
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            timestamp_ms: message.timestamp().to_millis().unwrap_or(0),
            key: Bytes::copy_from_slice(message.key().unwrap_or_default()),
            value: Bytes::copy_from_slice(message.payload().unwrap_or_default()),
        }
    }
}

#[async_trait]
impl LogConsumer for KafkaConsumer {
    async fn poll(
        &mut self,
        max_records: usize,
        max_wait: Duration,
    ) -> BackendResult<Vec<ConsumedRecord>> {
        let mut records = Vec::new();
        let first = match tokio::time::timeout(max_wait, self.consumer.recv()).await {
            Err(_elapsed) => return Ok(records),
            Ok(received) => received.map_err(kafka_error(format!(
                "failed to read topic {} for group {}",
                self.topic, self.group
            )))?,
        };
        let mut bytes = first.payload_len();
        records.push(Self::to_record(&first));
        drop(first);
        // Take what librdkafka already fetched, without waiting for more.
        let mut stream = self.consumer.stream();
        while records.len() < max_records && bytes < MAX_POLL_BYTES {
            match futures::StreamExt::next(&mut stream).now_or_never() {
                Some(Some(Ok(message))) => {
                    bytes += message.payload_len();
                    records.push(Self::to_record(&message));
                }
                Some(Some(Err(error))) => {
                    // The records taken so far are returned; the error shows again next poll
                    // if it persists.
                    tracing::warn!(%error, topic = %self.topic, group = %self.group, "kafka consumer error");
                    break;
                }
                Some(None) | None => break,
            }
        }
        Ok(records)
    }

    async fn commit(&mut self, partition: i32, offset: i64) -> BackendResult<()> {
        let next = offset + 1;
        if self
            .committed
            .get(&partition)
            .is_some_and(|committed| next <= *committed)
        {
            return Ok(());
        }
        if !self.assigned_partitions()?.contains(&partition) {
            // A rebalance moved the partition: its new owner resumes from the last commit and
            // re-reads this batch (duplicates the idempotent sinks absorb). Committing now
            // could move the new owner's offset backwards.
            tracing::warn!(
                topic = %self.topic, group = %self.group, partition, offset,
                "skipping the commit of a partition this member no longer owns"
            );
            return Ok(());
        }
        let mut offsets = TopicPartitionList::new();
        offsets
            .add_partition_offset(&self.topic, partition, Offset::Offset(next))
            .map_err(kafka_error("failed to build the commit request"))?;
        let consumer = self.consumer.clone();
        let committed =
            run_blocking(move || Ok(consumer.commit(&offsets, CommitMode::Sync))).await?;
        match committed {
            Ok(()) => {
                self.committed.insert(partition, next);
                Ok(())
            }
            Err(error) if lost_group_membership(&error) => {
                // Same as above: the next owner re-reads from the last successful commit; a
                // later commit of this member covers these records if it keeps the partition.
                tracing::warn!(
                    %error, topic = %self.topic, group = %self.group, partition, offset,
                    "a rebalance interrupted a commit; the records may be read again"
                );
                Ok(())
            }
            Err(error) => Err(kafka_error(format!(
                "failed to commit offset {next} of {}/{partition} for group {}",
                self.topic, self.group
            ))(error)),
        }
    }

    async fn rewind(&mut self) -> BackendResult<()> {
        let consumer = self.consumer.clone();
        let topic = self.topic.clone();
        run_blocking(move || seek_to_committed(&consumer, &topic)).await
    }
}

/// Returns true for commit errors that mean a rebalance took the partition (or the whole
/// membership) away from this member.
fn lost_group_membership(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::RebalanceInProgress
                | RDKafkaErrorCode::IllegalGeneration
                | RDKafkaErrorCode::UnknownMemberId
                | RDKafkaErrorCode::FencedInstanceId
                | RDKafkaErrorCode::StaleMemberEpoch
                | RDKafkaErrorCode::AssignmentLost
        )
    )
}

/// Moves every assigned partition back to the group's committed offset (the earliest record
/// when nothing was committed), dropping records fetched past it.
fn seek_to_committed(consumer: &StreamConsumer, topic: &str) -> BackendResult<()> {
    let assignment = consumer
        .assignment()
        .map_err(kafka_error("failed to read the consumer assignment"))?;
    if assignment.count() == 0 {
        return Ok(());
    }
    let committed = consumer
        .committed_offsets(assignment, REQUEST_TIMEOUT)
        .map_err(kafka_error(format!(
            "failed to read the committed offsets of {topic}"
        )))?;
    let mut targets = TopicPartitionList::new();
    for element in committed.elements() {
        let target = match element.offset() {
            Offset::Offset(next) => Offset::Offset(next),
            _ => Offset::Beginning,
        };
        targets
            .add_partition_offset(element.topic(), element.partition(), target)
            .map_err(kafka_error("failed to build the seek request"))?;
    }
    let sought = consumer
        .seek_partitions(targets, REQUEST_TIMEOUT)
        .map_err(kafka_error(format!("failed to rewind {topic}")))?;
    for element in sought.elements() {
        if let Err(error) = element.error() {
            return Err(BackendError::Other {
                backend: BACKEND,
                context: format!("failed to rewind {topic}/{}", element.partition()),
                source: Box::new(error),
            });
        }
    }
    Ok(())
}
