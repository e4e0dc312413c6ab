//! Appends: enqueue every record in order, then wait for every delivery report.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::error::KafkaError;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;

use super::MAX_RECORD_BYTES;
use super::errors::{BACKEND, kafka_error};
use crate::error::{BackendError, BackendResult};
use crate::log::LogRecord;

/// Pause before enqueueing again when librdkafka's local queue is full (the brokers are slower
/// than the producers): this is where backpressure reaches `append`.
const QUEUE_FULL_BACKOFF: Duration = Duration::from_millis(10);

/// End offset (last acknowledged offset + 1) of each partition an append wrote to.
pub(super) type AppendedEnds = BTreeMap<i32, i64>;

/// Appends `records` to `topic` and returns once the brokers acknowledged all of them, with
/// the end offset each partition reached.
///
/// Records are enqueued one after the other and a full queue is waited out rather than
/// skipped, so records with the same key keep their order. If any delivery fails the whole
/// call fails (the caller retries; some records may then be stored twice, which the idempotent
/// sinks absorb).
pub(super) async fn append(
    producer: &FutureProducer,
    topic: &str,
    records: Vec<LogRecord>,
) -> BackendResult<AppendedEnds> {
    let mut ends = AppendedEnds::new();
    if records.is_empty() {
        return Ok(ends);
    }
    check_record_sizes(topic, &records)?;
    let mut deliveries = Vec::with_capacity(records.len());
    for record in &records {
        deliveries.push(enqueue(producer, topic, record).await?);
    }
    let total = deliveries.len();
    let mut failed = 0usize;
    let mut first_error = None;
    for delivery in futures::future::join_all(deliveries).await {
        match delivery {
            Ok(Ok(delivery)) => {
                let end = ends.entry(delivery.partition).or_insert(0);
                *end = (*end).max(delivery.offset + 1);
            }
            Ok(Err((error, _message))) => {
                failed += 1;
                first_error.get_or_insert(error);
            }
            Err(_canceled) => {
                failed += 1;
            }
        }
    }
    if failed == 0 {
        return Ok(ends);
    }
    let context = format!("failed to deliver {failed} of {total} records to topic {topic}");
    Err(match first_error {
        Some(error) => kafka_error(context)(error),
        None => BackendError::Unavailable {
            backend: BACKEND,
            message: format!("{context}: the producer shut down"),
        },
    })
}

/// Enqueues one record, waiting while the local queue is full.
async fn enqueue(
    producer: &FutureProducer,
    topic: &str,
    record: &LogRecord,
) -> BackendResult<DeliveryFuture> {
    let mut pending = FutureRecord::<[u8], [u8]>::to(topic).payload(&record.value[..]);
    if !record.key.is_empty() {
        pending = pending.key(&record.key[..]);
    }
    loop {
        match producer.send_result(pending) {
            Ok(delivery) => return Ok(delivery),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                pending = returned;
                tokio::time::sleep(QUEUE_FULL_BACKOFF).await;
            }
            Err((error, _)) => {
                return Err(kafka_error(format!(
                    "failed to enqueue a record for topic {topic}"
                ))(error));
            }
        }
    }
}

fn check_record_sizes(topic: &str, records: &[LogRecord]) -> BackendResult<()> {
    let oversized = records
        .iter()
        .map(|record| record.key.len() + record.value.len())
        .find(|size| *size > MAX_RECORD_BYTES);
    match oversized {
        None => Ok(()),
        Some(size) => Err(BackendError::Invalid {
            backend: BACKEND,
            message: format!(
                "a record of {size} bytes for topic {topic} exceeds the kafka log limit of \
                 {MAX_RECORD_BYTES} bytes"
            ),
        }),
    }
}
