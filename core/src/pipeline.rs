//! The pipeline runner: consume → process → produce/write → commit only after success.
//!
//! Plug-ins implement one narrow trait: a `Processor` turns one consumed record into records
//! for the next topic; a `Sink` durably writes a batch of decoded records. The runner owns
//! polling, batching, retries with capped exponential backoff, the dead-letter topic for
//! poison messages, offset commits and draining on shutdown.

mod prometheus;
mod runner;
#[cfg(test)]
mod tests;

use async_trait::async_trait;

use crate::error::BackendError;
use crate::log::{ConsumedRecord, LogRecord};
use crate::model::Record;
use crate::store::WriteSummary;

pub use prometheus::render_prometheus;
pub use runner::{PipelineStats, RunnerConfig, run_processor, run_sink};

/// How a plug-in failed.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// Retrying the same input may succeed (a backend is down).
    #[error("transient failure: {0}")]
    Transient(#[source] BackendError),
    /// This input can never be handled: it goes to the dead-letter topic.
    #[error("poison message: {0}")]
    Poison(String),
}

impl From<BackendError> for StageError {
    fn from(error: BackendError) -> Self {
        if error.is_transient() {
            StageError::Transient(error)
        } else {
            StageError::Poison(error.to_string())
        }
    }
}

/// Turns one record of the input topic into zero or more records for the output topic.
#[async_trait]
pub trait Processor: Send + Sync + 'static {
    /// Verb or purpose, e.g. `"enrich"`; also the consumer group suffix.
    fn name(&self) -> &'static str;

    /// Processes one record. No log or offset handling here.
    async fn process(&self, record: &ConsumedRecord) -> Result<Vec<LogRecord>, StageError>;

    /// How many records of a batch are processed at once (each task takes a contiguous slice
    /// in order). CPU-bound processors keep the default, one task per core of the 2-core
    /// baseline; processors that mostly wait on the network (an LLM judge) use more.
    fn concurrency(&self) -> usize {
        2
    }
}

/// Durably writes batches of records to a store.
#[async_trait]
pub trait Sink: Send + 'static {
    /// The service written to, e.g. `"sqlite"`, `"clickhouse"`.
    fn name(&self) -> &'static str;

    /// Checks the store is reachable (startup and `/readyz`).
    async fn healthcheck(&self) -> Result<(), StageError>;

    /// Writes the whole batch or fails. Must be idempotent.
    async fn write(&mut self, records: Vec<Record>) -> Result<WriteSummary, StageError>;
}
