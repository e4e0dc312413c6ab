//! A pipeline [`Sink`] over any [`TraceStore`].
//!
//! Delivery guarantee: effectively-once. The pipeline retries a failed batch (at-least-once),
//! and `TraceStore::write` merges idempotently, so a retried batch changes nothing twice.

use std::sync::Arc;

use async_trait::async_trait;
use periscope_core::model::Record;
use periscope_core::pipeline::{Sink, StageError};
use periscope_core::store::{TraceStore, WriteSummary};

/// Writes record batches into a trace store.
#[derive(Debug, Clone)]
pub struct TraceStoreSink {
    store: Arc<dyn TraceStore>,
    name: &'static str,
}

impl TraceStoreSink {
    /// Returns a sink writing into `store`, reported under `name` (`"sqlite"`, `"clickhouse"`).
    pub fn new(store: Arc<dyn TraceStore>, name: &'static str) -> Self {
        Self { store, name }
    }
}

#[async_trait]
impl Sink for TraceStoreSink {
    fn name(&self) -> &'static str {
        self.name
    }

    async fn healthcheck(&self) -> Result<(), StageError> {
        Ok(self.store.healthcheck().await?)
    }

    async fn write(&mut self, records: Vec<Record>) -> Result<WriteSummary, StageError> {
        Ok(self.store.write(records).await?)
    }
}
