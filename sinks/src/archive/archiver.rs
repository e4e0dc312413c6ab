//! [`run_archiver`]: the archive's consumer loop over the ingest topic.
//!
//! Order, which makes it at-least-once: gather a large batch → write all its objects (retrying
//! transient failures with capped backoff) → only then commit each partition's last offset.
//! Shutdown while gathering or retrying leaves the batch uncommitted for the next run.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use periscope_core::blob::BlobStore;
use periscope_core::error::BackendResult;
use periscope_core::log::{ConsumedRecord, EventLog, LogConsumer};
use periscope_core::pipeline::PipelineStats;
use periscope_core::topics;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::writer::ArchiveWriter;

/// Batching and retry settings of the archiver. Objects should be large (S3 charges per
/// request and lists slowly), so the defaults gather for up to a minute.
#[derive(Debug, Clone)]
pub struct ArchiverConfig {
    /// Consumer group on the ingest topic.
    pub group: String,
    /// A batch is written once it holds this many events...
    pub max_records: usize,
    /// ...or this many bytes of events (before compression)...
    pub max_bytes: usize,
    /// ...or this long after its first event arrived.
    pub max_wait: Duration,
    /// Ceiling of the exponential backoff between retries of a failed write.
    pub max_backoff: Duration,
}

impl Default for ArchiverConfig {
    fn default() -> Self {
        Self {
            group: "periscope-archive".to_owned(),
            max_records: 100_000,
            max_bytes: 64 * 1024 * 1024,
            max_wait: Duration::from_secs(60),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// How long one poll waits while the batch is still empty (then it polls again).
const IDLE_POLL: Duration = Duration::from_secs(1);

/// Archives the ingest topic into `blob` until `cancel` fires.
pub async fn run_archiver(
    log: Arc<dyn EventLog>,
    blob: Arc<dyn BlobStore>,
    config: ArchiverConfig,
    stats: Arc<PipelineStats>,
    cancel: CancellationToken,
) -> BackendResult<()> {
    log.ensure_topic(topics::INGEST).await?;
    let mut consumer = log.subscribe(topics::INGEST, &config.group).await?;
    let writer = ArchiveWriter::new(blob);
    loop {
        let Some(batch) = gather_batch(consumer.as_mut(), &config, &cancel).await? else {
            return consumer.rewind().await;
        };
        stats
            .received_events_total
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        if !write_with_retry(&writer, &batch, &config, &stats, &cancel).await {
            return consumer.rewind().await;
        }
        commit_partitions(consumer.as_mut(), &batch, &stats).await?;
    }
}

/// Polls until the batch is full or `max_wait` passed since its first record; `None` once
/// shutdown started.
async fn gather_batch(
    consumer: &mut dyn LogConsumer,
    config: &ArchiverConfig,
    cancel: &CancellationToken,
) -> BackendResult<Option<Vec<ConsumedRecord>>> {
    let mut batch: Vec<ConsumedRecord> = Vec::new();
    let mut bytes = 0usize;
    let mut deadline: Option<Instant> = None;
    while batch.len() < config.max_records && bytes < config.max_bytes {
        let wait = match deadline {
            None => IDLE_POLL,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                left
            }
        };
        let polled = tokio::select! {
            biased;
            () = cancel.cancelled() => return Ok(None),
            polled = consumer.poll(config.max_records - batch.len(), wait) => polled,
        };
        match polled {
            Ok(records) => {
                if deadline.is_none() && !records.is_empty() {
                    deadline = Some(Instant::now() + config.max_wait);
                }
                bytes += records.iter().map(|r| r.value.len()).sum::<usize>();
                batch.extend(records);
            }
            Err(error) if error.is_transient() => {
                tracing::warn!(%error, "failed to poll the ingest topic; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(error) => return Err(error),
        }
    }
    Ok(Some(batch))
}

/// Writes the batch, retrying every failure with capped exponential backoff: a blob store that
/// rejects a write keeps rejecting it, but skipping would lose raw events, so the archiver
/// waits (and its lag shows it). `false` when shutdown started meanwhile.
async fn write_with_retry(
    writer: &ArchiveWriter,
    batch: &[ConsumedRecord],
    config: &ArchiverConfig,
    stats: &PipelineStats,
    cancel: &CancellationToken,
) -> bool {
    let mut backoff = Duration::from_millis(100);
    loop {
        match writer.write_batch(batch).await {
            Ok(summary) => {
                tracing::debug!(?summary, "archived a batch");
                stats
                    .sent_events_total
                    .fetch_add(summary.events as u64, Ordering::Relaxed);
                return true;
            }
            Err(error) => {
                stats.transient_errors_total.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%error, backoff_ms = backoff.as_millis() as u64, "failed to archive a batch; retrying");
            }
        }
        tokio::select! {
            () = cancel.cancelled() => return false,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(config.max_backoff);
    }
}

async fn commit_partitions(
    consumer: &mut dyn LogConsumer,
    batch: &[ConsumedRecord],
    stats: &PipelineStats,
) -> BackendResult<()> {
    let mut last_offsets: BTreeMap<i32, i64> = BTreeMap::new();
    for record in batch {
        let last = last_offsets
            .entry(record.partition)
            .or_insert(record.offset);
        *last = (*last).max(record.offset);
    }
    for (partition, offset) in last_offsets {
        consumer.commit(partition, offset).await?;
        stats
            .committed_offset
            .store(offset as u64 + 1, Ordering::Relaxed);
    }
    stats.batches_total.fetch_add(1, Ordering::Relaxed);
    Ok(())
}
