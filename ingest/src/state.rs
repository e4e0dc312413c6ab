//! The shared state of every ingest handler: the log, the authenticator, the limits and the
//! in-flight byte budget.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use periscope_core::auth::{AuthContext, AuthScope, Authenticator};
use periscope_core::blob::BlobStore;
use periscope_core::cache::Cache;
use periscope_core::config::ServerConfig;
use periscope_core::log::{EventLog, LogRecord};
use periscope_core::score_configs::ScoreConfigStore;
use periscope_core::topics;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::IngestError;

/// Bodies at most this large are decoded on the async task; larger ones (and every gzip body,
/// whose inflated size is unknown up front) go to the blocking pool so that no async task
/// blocks for much more than the ~500 µs our style guide allows.
const DEFAULT_BLOCKING_THRESHOLD_BYTES: usize = 16 * 1024;

/// The request limits of the ingest edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestLimits {
    /// Largest accepted request body, after decompression, in bytes.
    pub max_body_bytes: usize,
    /// Request bytes processed at once; beyond this requests get 429 / `RESOURCE_EXHAUSTED`.
    pub max_inflight_bytes: usize,
    /// Deadline of one request, from the first header to the acknowledgement.
    pub request_timeout: Duration,
    /// Bodies larger than this are decoded on the blocking pool.
    pub blocking_threshold_bytes: usize,
    /// Unprocessed pipeline events above which requests get 429 (see `with_backlog_signal`).
    pub max_pipeline_backlog: u64,
}

impl IngestLimits {
    /// Returns the limits of `server`, with the default blocking threshold.
    pub fn from_config(server: &ServerConfig) -> Self {
        Self {
            max_body_bytes: server.max_body_bytes,
            max_inflight_bytes: server.max_inflight_bytes,
            request_timeout: server.request_timeout,
            blocking_threshold_bytes: DEFAULT_BLOCKING_THRESHOLD_BYTES,
            max_pipeline_backlog: u64::MAX,
        }
    }
}

/// Everything an ingest handler needs; cheap to clone (all shared behind `Arc`s).
#[derive(Debug, Clone)]
pub struct IngestState {
    log: Arc<dyn EventLog>,
    auth: Authenticator,
    limits: IngestLimits,
    /// One permit per request byte being processed (Quickwit's `MemoryCapacity` idea).
    inflight: Arc<Semaphore>,
    /// Score configs that scores naming a `configId` are checked against; without a store
    /// such scores are accepted unchecked.
    score_configs: Option<Arc<dyn ScoreConfigStore>>,
    /// Events the pipeline has not processed yet, published by the server's backlog watcher;
    /// requests are refused (429) while it exceeds `limits.max_pipeline_backlog`.
    backlog: Option<Arc<AtomicU64>>,
    /// Where events larger than the threshold go instead of the log (see `with_payload_offload`).
    offload: Option<(Arc<dyn BlobStore>, usize)>,
    /// Per-project request counters and the limit per second (see `with_rate_limit`).
    rate_limit: Option<(Arc<dyn Cache>, u64)>,
    /// Claims of recently accepted legacy envelope ids (see `with_dedup`).
    dedup: Option<(Arc<dyn Cache>, Duration)>,
}

impl IngestState {
    /// Returns the state of an ingest edge appending to `log` and verifying keys with `auth`.
    ///
    /// The in-flight budget is clamped to what a tokio semaphore can hold; `Config::validate`
    /// already guarantees it is at least `max_body_bytes`, so one maximal request always fits.
    pub fn new(log: Arc<dyn EventLog>, auth: Authenticator, limits: IngestLimits) -> Self {
        let permits = limits.max_inflight_bytes.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            log,
            auth,
            limits,
            inflight: Arc::new(Semaphore::new(permits)),
            score_configs: None,
            backlog: None,
            offload: None,
            rate_limit: None,
            dedup: None,
        }
    }

    /// Checks every score that names a `configId` against `store` (type, range, category,
    /// archived) before it is appended.
    pub fn with_score_configs(mut self, store: Arc<dyn ScoreConfigStore>) -> Self {
        self.score_configs = Some(store);
        self
    }

    /// Refuses new requests while `backlog` (kept current by the caller) exceeds `max_backlog`:
    /// backpressure from the pipeline to the clients, so delay and disk use stay bounded.
    pub fn with_backlog_signal(mut self, backlog: Arc<AtomicU64>, max_backlog: u64) -> Self {
        self.backlog = Some(backlog);
        self.limits.max_pipeline_backlog = max_backlog;
        self
    }

    /// Stores events whose encoded size exceeds `threshold_bytes` in `blob` and appends a
    /// reference instead (`periscope_core::payloads`), so no log record outgrows the broker's
    /// limit; the enrich processor resolves the reference.
    pub fn with_payload_offload(
        mut self,
        blob: Arc<dyn BlobStore>,
        threshold_bytes: usize,
    ) -> Self {
        self.offload = Some((blob, threshold_bytes));
        self
    }

    /// Refuses a project's requests beyond `per_second` in one second (429 /
    /// `RESOURCE_EXHAUSTED`). The counters live in `cache`, so with Redis the limit holds
    /// across every ingest process; if the cache fails, requests are let through (the limit
    /// protects the service, an outage of the cache should not stop ingestion).
    pub fn with_rate_limit(mut self, cache: Arc<dyn Cache>, per_second: u64) -> Self {
        if per_second > 0 {
            self.rate_limit = Some((cache, per_second));
        }
        self
    }

    /// Remembers each accepted legacy envelope id for `window` (`SET NX` claims in `cache`,
    /// shared by every ingest process with Redis), so a client's retry of a batch that was
    /// accepted is acknowledged again without appending its events twice.
    pub fn with_dedup(mut self, cache: Arc<dyn Cache>, window: Duration) -> Self {
        self.dedup = Some((cache, window));
        self
    }

    /// Appends the records whose envelope id has not been claimed in the dedup window (all
    /// of them without dedup). A failed append releases the claims it took, so the client's
    /// retry is not mistaken for a duplicate; a failing cache claims nothing and appends all
    /// (duplicates are harmless downstream: the stores merge idempotently).
    pub(crate) async fn append_once(
        &self,
        project_id: &str,
        records: Vec<LogRecord>,
        envelope_ids: &[String],
    ) -> Result<(), IngestError> {
        let Some((cache, window)) = &self.dedup else {
            return self.append(records).await;
        };
        let mut fresh = Vec::with_capacity(records.len());
        let mut claimed = Vec::new();
        for (record, envelope_id) in records.into_iter().zip(envelope_ids) {
            let key = format!("dedup:ingestion:{project_id}:{envelope_id}");
            match cache
                .set_if_absent(&key, Bytes::from_static(b"1"), *window)
                .await
            {
                Ok(false) => {
                    tracing::debug!(%envelope_id, "duplicate envelope acknowledged again");
                }
                Ok(true) => {
                    claimed.push(key);
                    fresh.push(record);
                }
                Err(error) => {
                    tracing::warn!(%error, "dedup claims unavailable; appending");
                    fresh.push(record);
                }
            }
        }
        let appended = self.append(fresh).await;
        if appended.is_err() {
            for key in &claimed {
                let _ = cache.delete(key).await;
            }
        }
        appended
    }

    /// Counts one request of `project_id` against its per-second limit.
    async fn check_rate(&self, project_id: &str) -> Result<(), IngestError> {
        let Some((cache, limit)) = &self.rate_limit else {
            return Ok(());
        };
        let second = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let key = format!("rate:ingest:{project_id}:{second}");
        match cache.increment(&key, Duration::from_secs(2)).await {
            Ok(count) if count > *limit => Err(IngestError::RateLimited {
                project_id: project_id.to_owned(),
                limit: *limit,
            }),
            Ok(_) => Ok(()),
            Err(error) => {
                tracing::warn!(%error, "rate-limit counter unavailable; request let through");
                Ok(())
            }
        }
    }

    /// Fails with `PipelineBehind` when the pipeline backlog is over its bound.
    pub(crate) fn check_backlog(&self) -> Result<(), IngestError> {
        let Some(backlog) = &self.backlog else {
            return Ok(());
        };
        let backlog = backlog.load(Ordering::Relaxed);
        if backlog > self.limits.max_pipeline_backlog {
            return Err(IngestError::PipelineBehind { backlog });
        }
        Ok(())
    }

    /// Returns the score config store, if scores are checked.
    pub(crate) fn score_configs(&self) -> Option<&Arc<dyn ScoreConfigStore>> {
        self.score_configs.as_ref()
    }

    /// Returns the limits this state enforces.
    pub fn limits(&self) -> &IngestLimits {
        &self.limits
    }

    /// Returns the number of in-flight bytes currently free (for metrics and tests).
    pub fn available_inflight_bytes(&self) -> usize {
        self.inflight.available_permits()
    }

    /// Authenticates an `Authorization` header value.
    pub(crate) async fn authenticate(
        &self,
        authorization: Option<&str>,
    ) -> Result<AuthContext, IngestError> {
        let context = self.auth.authenticate(authorization).await?;
        self.check_rate(&context.project_id).await?;
        Ok(context)
    }

    /// Authenticates and requires full (Basic) access, as every endpoint but scores does.
    pub(crate) async fn authenticate_full(
        &self,
        authorization: Option<&str>,
    ) -> Result<AuthContext, IngestError> {
        let context = self.authenticate(authorization).await?;
        if context.scope != AuthScope::Full {
            return Err(IngestError::ScopeDenied);
        }
        Ok(context)
    }

    /// Reserves `bytes` of the in-flight budget without waiting: overload is pushed back to the
    /// client (429 / `RESOURCE_EXHAUSTED`) rather than queued.
    pub(crate) fn try_reserve(&self, bytes: usize) -> Result<InflightPermit, IngestError> {
        let mut permit = InflightPermit { permit: None };
        permit.grow(self, bytes)?;
        Ok(permit)
    }

    /// Appends `records` to the ingest topic in one call; returns once the log made them
    /// durable. The caller acknowledges the client only after this returned `Ok`.
    pub(crate) async fn append(&self, mut records: Vec<LogRecord>) -> Result<(), IngestError> {
        if records.is_empty() {
            return Ok(());
        }
        if let Some((blob, threshold)) = &self.offload {
            for record in &mut records {
                let offloaded = periscope_core::payloads::offload_if_large(
                    blob.as_ref(),
                    &record.value,
                    *threshold,
                )
                .await
                .map_err(IngestError::LogUnavailable)?;
                if let Some(reference) = offloaded {
                    record.value = reference;
                }
            }
        }
        self.log
            .append(topics::INGEST, records)
            .await
            .map_err(IngestError::LogUnavailable)
    }

    /// Runs `request` under the configured request deadline.
    pub(crate) async fn with_timeout<T>(
        &self,
        request: impl Future<Output = Result<T, IngestError>>,
    ) -> Result<T, IngestError> {
        let timeout = self.limits.request_timeout;
        tokio::time::timeout(timeout, request)
            .await
            .map_err(|_| IngestError::Timeout(timeout))?
    }

    /// Runs `work` on the async task when `size` is small, else on the blocking pool.
    pub(crate) async fn run_decode<T, F>(
        &self,
        size: usize,
        inline: bool,
        work: F,
    ) -> Result<T, IngestError>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, IngestError> + Send + 'static,
    {
        if inline && size <= self.limits.blocking_threshold_bytes {
            return work();
        }
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|error| IngestError::Internal(format!("decode task failed: {error}")))?
    }
}

/// A reservation of in-flight bytes, released when dropped (after the response is built).
#[derive(Debug)]
pub(crate) struct InflightPermit {
    permit: Option<OwnedSemaphorePermit>,
}

impl InflightPermit {
    /// Adds `bytes` to this reservation, or fails with `Overloaded` leaving it unchanged.
    pub(crate) fn grow(&mut self, state: &IngestState, bytes: usize) -> Result<(), IngestError> {
        if bytes == 0 {
            return Ok(());
        }
        if self.permit.is_none() {
            state.check_backlog()?;
        }
        let overloaded = || IngestError::Overloaded {
            limit: state.limits.max_inflight_bytes,
        };
        let count = u32::try_from(bytes).map_err(|_| overloaded())?;
        let more = state
            .inflight
            .clone()
            .try_acquire_many_owned(count)
            .map_err(|_| overloaded())?;
        match &mut self.permit {
            Some(permit) => permit.merge(more),
            None => self.permit = Some(more),
        }
        Ok(())
    }

    /// Returns the number of bytes reserved.
    pub(crate) fn bytes(&self) -> usize {
        self.permit
            .as_ref()
            .map_or(0, OwnedSemaphorePermit::num_permits)
    }
}
