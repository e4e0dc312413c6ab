//! Walking one claimed backfill, page by page, until it ends or is stopped.

use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::Utc;
use periscope_core::error::{BackendError, BackendResult};
use periscope_core::evals::backfill::{
    BUDGET_REACHED, Backfill, BackfillCursor, BackfillProgress, BackfillState, TargetScope,
    backfill_origin, next_page,
};
use periscope_core::evals::{EvalJob, Evaluator, JobRegistration, JobStatus, job_id, sampled};
use periscope_core::log::LogRecord;
use periscope_core::model::Record;
use periscope_core::topics;
use tokio_util::sync::CancellationToken;

use super::BackfillWorker;

pub(super) fn chrono_duration(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

/// How a page ended the walk, if it did.
enum PageEnd {
    /// More pages follow.
    Continue,
    /// Every target was visited.
    Exhausted,
    /// The next job would exceed the budget.
    BudgetReached,
}

/// One claimed backfill and its progress since the last saved page.
pub(super) struct Walk<'a> {
    worker: &'a BackfillWorker,
    backfill: Backfill,
    origin: String,
    progress: BackfillProgress,
}

impl<'a> Walk<'a> {
    pub(super) fn new(worker: &'a BackfillWorker, backfill: Backfill) -> Self {
        let progress = BackfillProgress {
            cursor: backfill.cursor.clone(),
            done: backfill.done,
            matched: backfill.matched,
            emitted: backfill.emitted,
            skipped: backfill.skipped,
            active_ms: backfill.active_ms,
        };
        Self {
            worker,
            origin: backfill_origin(&backfill.id),
            backfill,
            progress,
        }
    }

    /// Walks pages until the backfill ends, stops being ours, or `cancel` fires.
    pub(super) async fn run(mut self, cancel: &CancellationToken) -> BackendResult<()> {
        let store = self.worker.store.clone();
        let (project_id, id) = (self.backfill.project_id.clone(), self.backfill.id.clone());
        loop {
            if cancel.is_cancelled() {
                // Hand the backfill back at once, so a restarted worker resumes it without
                // waiting for the lease to end.
                self.save(Duration::ZERO).await?;
                return Ok(());
            }
            let Some(evaluator) = store
                .get_evaluator(&project_id, &self.backfill.evaluator_id)
                .await?
            else {
                return self
                    .finish(BackfillState::Failed, Some("the evaluator was deleted"))
                    .await;
            };
            let started = Instant::now();
            let end = self.walk_page(&evaluator).await?;
            let elapsed = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            self.progress.active_ms = self.progress.active_ms.saturating_add(elapsed.max(1));
            match self.save(self.worker.settings.lease).await? {
                Some(BackfillState::Running) => {}
                state => {
                    tracing::info!(
                        backfill_id = %id,
                        state = state.map_or("taken over", BackfillState::as_str),
                        "backfill stopped"
                    );
                    return Ok(());
                }
            }
            match end {
                PageEnd::Continue => {}
                PageEnd::Exhausted => return self.finish(BackfillState::Completed, None).await,
                PageEnd::BudgetReached => {
                    return self
                        .finish(BackfillState::Completed, Some(BUDGET_REACHED))
                        .await;
                }
            }
        }
    }

    /// Registers and emits the jobs of the page after the cursor, and moves the cursor.
    async fn walk_page(&mut self, evaluator: &Evaluator) -> BackendResult<PageEnd> {
        let worker = self.worker;
        let scope = TargetScope::new(
            evaluator,
            self.backfill.filter.clone(),
            self.backfill.from,
            self.backfill.to,
        );
        if self.progress.cursor == Some(BackfillCursor::End) {
            return Ok(PageEnd::Exhausted);
        }
        let page = next_page(
            worker.traces.as_ref(),
            &scope,
            self.progress.cursor.as_ref(),
            worker.settings.page_size,
        )
        .await?;
        let mut emit = Vec::new();
        let mut rest = page.records.as_slice();
        let mut end = match page.next {
            BackfillCursor::End => PageEnd::Exhausted,
            _ => PageEnd::Continue,
        };
        while !rest.is_empty() {
            let (batch, visited) = self.next_batch(&scope, evaluator, rest);
            rest = &rest[visited..];
            if batch.is_empty() && visited == 0 {
                end = PageEnd::BudgetReached;
                break;
            }
            self.register(&batch, &mut emit).await?;
        }
        if !emit.is_empty() {
            worker.log.append(topics::EVAL_JOBS, emit).await?;
        }
        if !matches!(end, PageEnd::BudgetReached) {
            self.progress.cursor = Some(page.next);
        }
        Ok(end)
    }

    /// Returns the jobs of the leading `records` and how many records they cover: every
    /// record up to (not including) the first sampled target the budget has no room for.
    fn next_batch(
        &mut self,
        scope: &TargetScope,
        evaluator: &Evaluator,
        records: &[Record],
    ) -> (Vec<(EvalJob, JobStatus)>, usize) {
        let estimate = &self.backfill.estimate;
        let room = self.backfill.budget.remaining_jobs(
            self.progress.emitted,
            estimate.tokens_per_job,
            estimate.cost_per_job_usd,
        );
        let now = Utc::now();
        let mut batch = Vec::new();
        let mut sampled_jobs = 0u64;
        let mut visited = 0;
        for record in records {
            let Some(target) = scope.target_of(evaluator, record) else {
                self.progress.done += 1;
                visited += 1;
                continue;
            };
            let in_sample = sampled(&evaluator.id, target.target_id(), evaluator.sampling_rate);
            if in_sample {
                if room.is_some_and(|room| sampled_jobs >= room) {
                    break;
                }
                sampled_jobs += 1;
            }
            self.progress.done += 1;
            self.progress.matched += 1;
            visited += 1;
            let status = match in_sample {
                true => JobStatus::Queued,
                false => JobStatus::Unsampled,
            };
            // History has settled: the runner may judge at once.
            let job = EvalJob {
                id: job_id(&evaluator.id, evaluator.version, target.target_id()),
                project_id: evaluator.project_id.clone(),
                evaluator_id: evaluator.id.clone(),
                evaluator_version: evaluator.version,
                target,
                not_before: now,
                created_at: now,
            };
            batch.push((job, status));
        }
        (batch, visited)
    }

    /// Registers `batch` and queues the jobs to emit: the new sampled ones, and those this
    /// backfill made on a page whose progress was never saved (a crash) that are still queued.
    async fn register(
        &mut self,
        batch: &[(EvalJob, JobStatus)],
        emit: &mut Vec<LogRecord>,
    ) -> BackendResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let registrations = self.worker.store.register_jobs(batch, &self.origin).await?;
        for ((job, status), registration) in batch.iter().zip(registrations) {
            match registration {
                JobRegistration::Created if *status == JobStatus::Queued => {
                    emit.push(encode(job)?);
                    self.progress.emitted += 1;
                }
                JobRegistration::Created => {}
                JobRegistration::Existing { status, origin } if origin == self.origin => {
                    if status != JobStatus::Unsampled {
                        self.progress.emitted += 1;
                    }
                    if status == JobStatus::Queued {
                        emit.push(encode(job)?);
                    }
                }
                JobRegistration::Existing { status, .. } => {
                    if status != JobStatus::Unsampled {
                        self.progress.skipped += 1;
                    }
                }
            }
        }
        Ok(())
    }

    /// Saves the progress and extends the lease by `lease`; returns the backfill's state, or
    /// `None` when it is no longer ours.
    async fn save(&self, lease: Duration) -> BackendResult<Option<BackfillState>> {
        let now = Utc::now();
        self.worker
            .store
            .save_backfill_progress(
                &self.backfill.id,
                &self.worker.owner,
                &self.progress,
                now,
                now + chrono_duration(lease),
            )
            .await
    }

    async fn finish(&self, state: BackfillState, reason: Option<&str>) -> BackendResult<()> {
        let finished = self
            .worker
            .store
            .finish_backfill(
                &self.backfill.id,
                &self.worker.owner,
                state,
                reason,
                Utc::now(),
            )
            .await?;
        tracing::info!(
            backfill_id = %self.backfill.id,
            state = state.as_str(),
            reason = reason.unwrap_or(""),
            done = self.progress.done,
            emitted = self.progress.emitted,
            skipped = self.progress.skipped,
            finished,
            "backfill ended"
        );
        Ok(())
    }
}

fn encode(job: &EvalJob) -> BackendResult<LogRecord> {
    let value = serde_json::to_vec(job).map_err(|error| BackendError::Other {
        backend: "backfill",
        context: "failed to encode an eval job".to_owned(),
        source: Box::new(error),
    })?;
    Ok(LogRecord {
        key: Bytes::from(topics::trace_key(&job.project_id, job.target.trace_id())),
        value: Bytes::from(value),
    })
}
