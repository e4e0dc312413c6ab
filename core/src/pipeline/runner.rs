//! The runner loops for processors and sinks.
//!
//! Both loops follow the same order, which is what makes the pipeline at-least-once: poll a
//! batch → handle it completely (produce outputs / write the store; poison records to the DLQ)
//! → only then commit the batch's last offset. A crash anywhere before the commit re-reads the
//! batch; the stores' idempotent merges make the replay invisible.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use super::{Processor, Sink, StageError};
use crate::error::{BackendError, BackendResult};
use crate::log::{ConsumedRecord, EventLog, LogConsumer, LogRecord};
use crate::model::Record;
use crate::topics;

/// Batching and retry settings of one runner.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Consumer group (one per processor or sink).
    pub group: String,
    pub batch_max_records: usize,
    pub batch_max_wait: Duration,
    /// Ceiling of the exponential backoff between retries of a transient failure.
    pub max_backoff: Duration,
}

/// Counters of one runner, shared with `/metrics` and tests.
#[derive(Debug, Default)]
pub struct PipelineStats {
    pub received_events_total: AtomicU64,
    pub sent_events_total: AtomicU64,
    /// Records sent to the dead-letter topic.
    pub dead_lettered_total: AtomicU64,
    pub transient_errors_total: AtomicU64,
    pub batches_total: AtomicU64,
    /// Offset of the last committed record plus one.
    pub committed_offset: AtomicU64,
    /// Time spent in `append` (processors) or `write` (sinks), in microseconds.
    pub write_micros_total: AtomicU64,
    /// Records of the input topic the group has not committed, as last measured.
    pub lag_events: AtomicU64,
}

/// Capped exponential backoff between retries of a transient failure.
struct Backoff<'a> {
    next: Duration,
    config: &'a RunnerConfig,
    stats: &'a PipelineStats,
    cancel: &'a CancellationToken,
}

impl<'a> Backoff<'a> {
    fn new(
        config: &'a RunnerConfig,
        stats: &'a PipelineStats,
        cancel: &'a CancellationToken,
    ) -> Self {
        Self {
            next: Duration::from_millis(100),
            config,
            stats,
            cancel,
        }
    }

    /// Sleeps before the next attempt; `false` when shutdown started meanwhile.
    async fn wait(&mut self, error: &BackendError) -> bool {
        self.stats
            .transient_errors_total
            .fetch_add(1, Ordering::Relaxed);
        tracing::warn!(%error, backoff_ms = self.next.as_millis() as u64, "transient failure; retrying");
        let slept = tokio::select! {
            () = self.cancel.cancelled() => false,
            () = tokio::time::sleep(self.next) => true,
        };
        self.next = (self.next * 2).min(self.config.max_backoff);
        slept
    }
}

/// Evaluates `$attempt` (a `Result<T, StageError>` future expression) until it succeeds or fails
/// permanently, backing off on transient errors. Yields `Some(Ok(T))`, `Some(Err(reason))` for a
/// poison failure, or `None` when shutdown started while retrying.
macro_rules! with_retry {
    ($backoff:expr, $attempt:expr) => {{
        let mut backoff = $backoff;
        loop {
            match $attempt {
                Ok(value) => break Some(Ok(value)),
                Err(StageError::Poison(reason)) => break Some(Err(reason)),
                Err(StageError::Transient(error)) => {
                    if !backoff.wait(&error).await {
                        break None;
                    }
                }
            }
        }
    }};
}

/// Outputs and dead letters of one slice of a batch, or `None` when shutdown interrupted it.
type SliceOutcome = Option<(Vec<LogRecord>, Vec<LogRecord>)>;

/// Processes `records` in order; transient failures are retried, poison ones dead-lettered.
async fn process_slice<P: Processor>(
    processor: &P,
    records: &[ConsumedRecord],
    config: &RunnerConfig,
    stats: &PipelineStats,
    cancel: &CancellationToken,
) -> SliceOutcome {
    let mut outputs = Vec::new();
    let mut dead = Vec::new();
    for record in records {
        let handled = with_retry!(
            Backoff::new(config, stats, cancel),
            processor.process(record).await
        );
        match handled {
            Some(Ok(records)) => outputs.extend(records),
            Some(Err(reason)) => dead.push(dead_letter(record, &reason)),
            None => return None,
        }
        // Mapping is CPU work: let other tasks (the HTTP edge) run between records.
        tokio::task::yield_now().await;
    }
    Some((outputs, dead))
}

/// Processes a batch on `Processor::concurrency` tasks, each taking a contiguous slice, and
/// concatenates the results in batch order.
async fn process_batch<P: Processor>(
    processor: &Arc<P>,
    batch: &[ConsumedRecord],
    config: &RunnerConfig,
    stats: &Arc<PipelineStats>,
    cancel: &CancellationToken,
) -> SliceOutcome {
    let slice_len = batch.len().div_ceil(processor.concurrency().max(1)).max(1);
    let mut workers = tokio::task::JoinSet::new();
    for (index, slice) in batch.chunks(slice_len).enumerate() {
        let (processor, slice) = (processor.clone(), slice.to_vec());
        let (config, stats, cancel) = (config.clone(), stats.clone(), cancel.clone());
        workers.spawn(async move {
            let outcome = process_slice(&*processor, &slice, &config, &stats, &cancel).await;
            (index, outcome)
        });
    }
    let mut slices: Vec<SliceOutcome> = vec![None; workers.len()];
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok((index, outcome)) => slices[index] = outcome,
            Err(error) => {
                tracing::error!(%error, "a processor task failed; the batch will be re-read");
                return None;
            }
        }
    }
    let mut outputs = Vec::new();
    let mut dead = Vec::new();
    for slice in slices {
        let (slice_outputs, slice_dead) = slice?;
        outputs.extend(slice_outputs);
        dead.extend(slice_dead);
    }
    Some((outputs, dead))
}

/// Runs `processor` from `input_topic` to `output_topic` until `cancel` fires.
pub async fn run_processor<P: Processor>(
    log: Arc<dyn EventLog>,
    processor: P,
    input_topic: &str,
    output_topic: &str,
    config: RunnerConfig,
    stats: Arc<PipelineStats>,
    cancel: CancellationToken,
) -> BackendResult<()> {
    log.ensure_topic(output_topic).await?;
    let dlq_topic = topics::dlq(input_topic);
    let processor = Arc::new(processor);
    let mut consumer = log.subscribe(input_topic, &config.group).await?;
    while let Some(batch) = next_batch(consumer.as_mut(), &config, &cancel).await? {
        stats
            .received_events_total
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        let Some((outputs, dead)) =
            process_batch(&processor, &batch, &config, &stats, &cancel).await
        else {
            return rewind_and_stop(consumer.as_mut()).await;
        };
        let n_outputs = outputs.len() as u64;
        let started = std::time::Instant::now();
        if !append_with_retry(&*log, output_topic, outputs, &config, &stats, &cancel).await {
            return rewind_and_stop(consumer.as_mut()).await;
        }
        add_elapsed(&stats.write_micros_total, started);
        if !deliver_dead_letters(&*log, &dlq_topic, dead, &config, &stats, &cancel).await {
            return rewind_and_stop(consumer.as_mut()).await;
        }
        stats
            .sent_events_total
            .fetch_add(n_outputs, Ordering::Relaxed);
        commit(consumer.as_mut(), &batch, &stats).await?;
    }
    Ok(())
}

/// A polled batch of the records topic, decoded off the async workers.
struct DecodedBatch {
    batch: Vec<ConsumedRecord>,
    /// Indexes into `batch` of the records that decoded, parallel to `records`.
    positions: Vec<usize>,
    records: Vec<Record>,
    /// Records that did not decode, ready for the DLQ.
    dead: Vec<LogRecord>,
}

/// Decodes a batch of JSON records on the blocking pool.
async fn decode_batch(batch: Vec<ConsumedRecord>) -> BackendResult<DecodedBatch> {
    tokio::task::spawn_blocking(move || {
        let mut positions = Vec::with_capacity(batch.len());
        let mut records = Vec::with_capacity(batch.len());
        let mut dead = Vec::new();
        for (position, record) in batch.iter().enumerate() {
            match serde_json::from_slice::<Record>(&record.value) {
                Ok(value) => {
                    positions.push(position);
                    records.push(value);
                }
                Err(error) => {
                    dead.push(dead_letter(record, &format!("undecodable record: {error}")))
                }
            }
        }
        DecodedBatch {
            batch,
            positions,
            records,
            dead,
        }
    })
    .await
    .map_err(|error| BackendError::Other {
        backend: "pipeline",
        context: "blocking decode task failed".to_owned(),
        source: Box::new(error),
    })
}

/// Polls the next batch and decodes it; `None` once shutdown started.
async fn next_decoded(
    consumer: &mut dyn LogConsumer,
    config: &RunnerConfig,
    cancel: &CancellationToken,
) -> BackendResult<Option<DecodedBatch>> {
    match next_batch(consumer, config, cancel).await? {
        Some(batch) => Ok(Some(decode_batch(batch).await?)),
        None => Ok(None),
    }
}

/// Runs `sink` over the records topic until `cancel` fires.
///
/// Records already in the log are polled and decoded while the current batch is being written,
/// so reading the log and writing the store overlap under load; offsets are still committed
/// strictly in order, each only after its batch was written.
pub async fn run_sink<S: Sink>(
    log: Arc<dyn EventLog>,
    mut sink: S,
    input_topic: &str,
    config: RunnerConfig,
    stats: Arc<PipelineStats>,
    cancel: CancellationToken,
) -> BackendResult<()> {
    let dlq_topic = topics::dlq(input_topic);
    let mut consumer = log.subscribe(input_topic, &config.group).await?;
    let mut next = next_decoded(consumer.as_mut(), &config, &cancel).await?;
    while let Some(current) = next.take() {
        stats
            .received_events_total
            .fetch_add(current.batch.len() as u64, Ordering::Relaxed);
        let n_records = current.records.len() as u64;
        // Prefetch only what is already in the log: waiting for new data here would hold
        // back the commit of the batch just written.
        let started = std::time::Instant::now();
        let (written, prefetched) = tokio::join!(
            async {
                let written = write_batch(&mut sink, &current, &config, &stats, &cancel).await;
                add_elapsed(&stats.write_micros_total, started);
                written
            },
            prefetch_decoded(consumer.as_mut(), &config),
        );
        let Some(mut dead) = written else {
            return rewind_and_stop(consumer.as_mut()).await;
        };
        dead.extend(current.dead);
        if !deliver_dead_letters(&*log, &dlq_topic, dead, &config, &stats, &cancel).await {
            return rewind_and_stop(consumer.as_mut()).await;
        }
        stats
            .sent_events_total
            .fetch_add(n_records, Ordering::Relaxed);
        commit(consumer.as_mut(), &current.batch, &stats).await?;
        next = match prefetched? {
            Some(prefetched) => Some(prefetched),
            None => next_decoded(consumer.as_mut(), &config, &cancel).await?,
        };
    }
    Ok(())
}

/// Polls without waiting and decodes what was already appended; `None` when nothing was.
async fn prefetch_decoded(
    consumer: &mut dyn LogConsumer,
    config: &RunnerConfig,
) -> BackendResult<Option<DecodedBatch>> {
    let batch = consumer
        .poll(config.batch_max_records, Duration::ZERO)
        .await?;
    if batch.is_empty() {
        return Ok(None);
    }
    Ok(Some(decode_batch(batch).await?))
}

/// Writes a decoded batch, falling back to record-by-record writes when the batch is rejected
/// so that one poison record never takes its neighbours down. Returns the records to
/// dead-letter, or `None` when shutdown started while retrying.
async fn write_batch<S: Sink>(
    sink: &mut S,
    decoded: &DecodedBatch,
    config: &RunnerConfig,
    stats: &PipelineStats,
    cancel: &CancellationToken,
) -> Option<Vec<LogRecord>> {
    let mut dead = Vec::new();
    if decoded.records.is_empty() {
        return Some(dead);
    }
    match with_retry!(
        Backoff::new(config, stats, cancel),
        sink.write(decoded.records.clone()).await
    ) {
        Some(Ok(_)) => {}
        Some(Err(reason)) => {
            tracing::warn!(sink = sink.name(), %reason, "batch rejected; retrying record by record");
            for (position, record) in decoded.positions.iter().zip(&decoded.records) {
                match with_retry!(
                    Backoff::new(config, stats, cancel),
                    sink.write(vec![record.clone()]).await
                ) {
                    Some(Ok(_)) => {}
                    Some(Err(reason)) => dead.push(dead_letter(&decoded.batch[*position], &reason)),
                    None => return None,
                }
            }
        }
        None => return None,
    }
    Some(dead)
}

/// Polls until a non-empty batch arrives; `None` once shutdown started.
async fn next_batch(
    consumer: &mut dyn LogConsumer,
    config: &RunnerConfig,
    cancel: &CancellationToken,
) -> BackendResult<Option<Vec<ConsumedRecord>>> {
    loop {
        let polled = tokio::select! {
            biased;
            () = cancel.cancelled() => return Ok(None),
            polled = consumer.poll(config.batch_max_records, config.batch_max_wait) => polled,
        };
        match polled {
            Ok(batch) if batch.is_empty() => {}
            Ok(batch) => return Ok(Some(batch)),
            Err(error) if error.is_transient() => {
                tracing::warn!(%error, "failed to poll the event log; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(error) => return Err(error),
        }
    }
}

async fn append_with_retry(
    log: &dyn EventLog,
    topic: &str,
    records: Vec<LogRecord>,
    config: &RunnerConfig,
    stats: &PipelineStats,
    cancel: &CancellationToken,
) -> bool {
    if records.is_empty() {
        return true;
    }
    let appended = with_retry!(
        Backoff::new(config, stats, cancel),
        log.append(topic, records.clone())
            .await
            .map_err(StageError::Transient)
    );
    matches!(appended, Some(Ok(())))
}

async fn deliver_dead_letters(
    log: &dyn EventLog,
    dlq_topic: &str,
    dead: Vec<LogRecord>,
    config: &RunnerConfig,
    stats: &PipelineStats,
    cancel: &CancellationToken,
) -> bool {
    let n_dead = dead.len() as u64;
    if n_dead > 0 {
        tracing::warn!(
            dlq_topic,
            n_dead,
            "sending poison records to the dead-letter topic"
        );
    }
    let delivered = append_with_retry(log, dlq_topic, dead, config, stats, cancel).await;
    if delivered {
        stats
            .dead_lettered_total
            .fetch_add(n_dead, Ordering::Relaxed);
    }
    delivered
}

/// Wraps a poison record with where it came from and why it failed, so it can be inspected and
/// replayed from the DLQ.
fn dead_letter(record: &ConsumedRecord, reason: &str) -> LogRecord {
    let body = serde_json::json!({
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "error": reason,
        "value_base64": base64::engine::general_purpose::STANDARD.encode(&record.value),
    });
    LogRecord {
        key: record.key.clone(),
        value: Bytes::from(body.to_string()),
    }
}

/// Commits the highest offset of every partition in `batch` (a batch of a multi-partition
/// log spans several partitions, and each keeps its own position).
async fn commit(
    consumer: &mut dyn LogConsumer,
    batch: &[ConsumedRecord],
    stats: &PipelineStats,
) -> BackendResult<()> {
    let mut last_by_partition = std::collections::BTreeMap::new();
    for record in batch {
        let last = last_by_partition
            .entry(record.partition)
            .or_insert(record.offset);
        *last = (*last).max(record.offset);
    }
    for (partition, offset) in &last_by_partition {
        consumer.commit(*partition, *offset).await?;
    }
    if let Some(last) = batch.last() {
        stats
            .committed_offset
            .store(last.offset as u64 + 1, Ordering::Relaxed);
        stats.batches_total.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

fn add_elapsed(total: &AtomicU64, started: std::time::Instant) {
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    total.fetch_add(micros, Ordering::Relaxed);
}

/// Leaves the uncommitted batch for the next run and stops.
async fn rewind_and_stop(consumer: &mut dyn LogConsumer) -> Result<(), BackendError> {
    consumer.rewind().await
}
