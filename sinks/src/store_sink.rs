//! A pipeline [`Sink`] over any [`TraceStore`].
//!
//! Delivery guarantee: effectively-once. The pipeline retries a failed batch (at-least-once),
//! and `TraceStore::write` merges idempotently, so a retried batch changes nothing twice.

use std::sync::Arc;

use async_trait::async_trait;
use periscope_core::model::Record;
use periscope_core::pipeline::{Sink, StageError};
use periscope_core::sharing::{RecordShareFlag, ShareStore};
use periscope_core::store::{TraceStore, WriteSummary};

/// Writes record batches into a trace store.
#[derive(Debug, Clone)]
pub struct TraceStoreSink {
    store: Arc<dyn TraceStore>,
    name: &'static str,
    /// Where traces that arrive flagged public (`langfuse.trace.public`) are registered, so
    /// the share endpoints find them without knowing the project.
    shares: Option<Arc<dyn ShareStore>>,
}

impl TraceStoreSink {
    /// Returns a sink writing into `store`, reported under `name` (`"sqlite"`, `"clickhouse"`).
    pub fn new(store: Arc<dyn TraceStore>, name: &'static str) -> Self {
        Self {
            store,
            name,
            shares: None,
        }
    }

    /// Also registers the public flag of every trace record in `shares`.
    pub fn with_share_store(mut self, shares: Arc<dyn ShareStore>) -> Self {
        self.shares = Some(shares);
        self
    }
}

/// The public flags carried by the trace records of a batch.
fn share_flags(records: &[Record]) -> Vec<RecordShareFlag> {
    records
        .iter()
        .filter_map(|record| match record {
            Record::Trace(trace) => trace.public.map(|public| RecordShareFlag {
                project_id: trace.project_id.clone(),
                trace_id: trace.id.clone(),
                public,
            }),
            _ => None,
        })
        .collect()
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
        let flags = match &self.shares {
            Some(_) => share_flags(&records),
            None => Vec::new(),
        };
        let summary = self.store.write(records).await?;
        // After the rows exist, so a share row never points at a trace that is not readable.
        if let (Some(shares), false) = (&self.shares, flags.is_empty()) {
            shares
                .record_public_flags(&flags, chrono::Utc::now())
                .await?;
        }
        Ok(summary)
    }
}
