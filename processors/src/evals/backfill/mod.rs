//! The backfill worker: runs evaluators over history. It claims a pending or running backfill
//! from the store (so a backfill survives a crash or a restart of this process: another
//! worker claims it once the lease ends), walks its targets page by page from the saved
//! cursor, registers one job per matched target through the same dedup key as the live
//! scheduler, emits the new jobs onto `periscope.eval-jobs.v1`, and saves the cursor and the
//! counts after every page. See docs/adr/0017-evaluator-backfill.md.
//!
//! Delivery: at least once, like the scheduler. A job is registered before it is emitted and
//! the cursor saved after; a crash in between walks that page again, finds its jobs still
//! queued under this backfill's origin and emits them again, and the runner's claim makes the
//! duplicate harmless. A target that already has a job of the evaluator's version (from the
//! live scheduler or an earlier backfill) is skipped.

mod walk;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use periscope_core::error::BackendResult;
use periscope_core::evals::EvalStore;
use periscope_core::log::EventLog;
use periscope_core::store::TraceStore;
use tokio_util::sync::CancellationToken;

/// Tuning of the backfill worker.
#[derive(Debug, Clone)]
pub struct BackfillSettings {
    /// Targets read per page (and the most jobs emitted per log append).
    pub page_size: u64,
    /// The pause between two looks for a backfill to claim.
    pub poll_interval: Duration,
    /// How long a claim lasts without a saved page: a crashed worker's backfill is taken
    /// over by another one this long after its last page.
    pub lease: Duration,
}

impl Default for BackfillSettings {
    fn default() -> Self {
        Self {
            page_size: 500,
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(60),
        }
    }
}

/// Walks claimed backfills (see the module docs).
#[derive(Debug, Clone)]
pub struct BackfillWorker {
    store: Arc<dyn EvalStore>,
    traces: Arc<dyn TraceStore>,
    log: Arc<dyn EventLog>,
    settings: BackfillSettings,
    /// Who holds a claim: unique per worker, so a restarted process never mistakes an old
    /// claim for its own.
    owner: String,
}

impl BackfillWorker {
    /// Returns a worker over the given stores and log.
    pub fn new(
        store: Arc<dyn EvalStore>,
        traces: Arc<dyn TraceStore>,
        log: Arc<dyn EventLog>,
        settings: BackfillSettings,
    ) -> Self {
        Self {
            store,
            traces,
            log,
            settings,
            owner: format!("backfill-worker-{}", uuid::Uuid::now_v7()),
        }
    }

    /// Claims and walks backfills until `cancel` fires; errors are logged and retried after
    /// the poll interval (the claim's lease keeps the backfill for this worker meanwhile).
    pub async fn run(&self, cancel: CancellationToken) -> BackendResult<()> {
        while !cancel.is_cancelled() {
            let idle = match self.claim_and_walk(&cancel).await {
                Ok(claimed) => !claimed,
                Err(error) => {
                    tracing::warn!(%error, "backfill worker failed; retrying");
                    true
                }
            };
            if idle {
                tokio::select! {
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep(self.settings.poll_interval) => {}
                }
            }
        }
        Ok(())
    }

    /// Claims one backfill and walks it until it ends, is paused or cancelled, or `cancel`
    /// fires; returns whether there was one to claim.
    pub async fn claim_and_walk(&self, cancel: &CancellationToken) -> BackendResult<bool> {
        let now = Utc::now();
        let Some(backfill) = self
            .store
            .claim_backfill(
                &self.owner,
                now,
                now + walk::chrono_duration(self.settings.lease),
            )
            .await?
        else {
            return Ok(false);
        };
        tracing::info!(
            backfill_id = %backfill.id,
            evaluator_id = %backfill.evaluator_id,
            done = backfill.done,
            total = backfill.total,
            "backfill claimed"
        );
        walk::Walk::new(self, backfill).run(cancel).await?;
        Ok(true)
    }
}
