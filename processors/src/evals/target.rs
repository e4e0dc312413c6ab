//! Loading a job's target as it is now, once it has settled.
//!
//! The job's `not_before` already gave the target its settle window from the moment the
//! scheduler saw it; if the target was updated since, the runner waits until it has had no
//! update for a whole window (at most `max_settle_extension` past `not_before`). A target not
//! in the trace store yet (the sink lags) is polled for up to `target_wait`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use periscope_core::datasets::DatasetStore;
use periscope_core::evals::{
    EvalJob, Evaluator, TargetRef, observation_document, trace_document, with_dataset_item,
};
use periscope_core::store::TraceStore;
use serde_json::Value;

use super::runner::{Failure, RunError};

/// How long the runner waits for a target and for it to settle.
#[derive(Debug, Clone)]
pub struct TargetSettings {
    /// How long a target may stay missing from the trace store before the job fails.
    pub target_wait: Duration,
    /// How long past `not_before` a still-changing target is waited for.
    pub max_settle_extension: Duration,
    /// The pause between two looks at a missing target.
    pub poll_interval: Duration,
}

impl Default for TargetSettings {
    fn default() -> Self {
        Self {
            target_wait: Duration::from_secs(60),
            max_settle_extension: Duration::from_secs(300),
            poll_interval: Duration::from_millis(500),
        }
    }
}

/// A target's document and what the score inherits from it.
#[derive(Debug, Clone)]
pub(crate) struct LoadedTarget {
    pub(crate) document: Value,
    pub(crate) environment: Option<String>,
    /// When the target last changed.
    last_update: DateTime<Utc>,
}

/// Reads targets from the stores.
#[derive(Debug, Clone)]
pub(crate) struct TargetLoader {
    pub(crate) traces: Arc<dyn TraceStore>,
    pub(crate) datasets: Arc<dyn DatasetStore>,
    pub(crate) settings: TargetSettings,
}

impl TargetLoader {
    /// Returns the settled target of `job`.
    pub(crate) async fn load(
        &self,
        job: &EvalJob,
        evaluator: &Evaluator,
    ) -> Result<LoadedTarget, RunError> {
        let missing_deadline = Utc::now() + chrono_duration(self.settings.target_wait);
        let settle_deadline = job.not_before + chrono_duration(self.settings.max_settle_extension);
        let settle = chrono_duration(evaluator.settle_window);
        loop {
            let now = Utc::now();
            let Some(target) = self.read(job).await? else {
                if now >= missing_deadline {
                    return Err(Failure::new(
                        "target_missing",
                        format!(
                            "{} {} is not in the trace store",
                            job.target.kind(),
                            job.target.target_id()
                        ),
                    )
                    .into());
                }
                tokio::time::sleep(self.settings.poll_interval).await;
                continue;
            };
            let settled_at = target.last_update + settle;
            if settled_at <= now || now >= settle_deadline {
                return Ok(target);
            }
            let wait = (settled_at.min(settle_deadline) - now)
                .to_std()
                .unwrap_or_default();
            tokio::time::sleep(wait).await;
        }
    }

    async fn read(&self, job: &EvalJob) -> Result<Option<LoadedTarget>, RunError> {
        let project_id = &job.project_id;
        match &job.target {
            TargetRef::Trace { trace_id } => {
                let trace = self.traces.get_trace(project_id, trace_id).await?;
                Ok(trace.map(|trace| LoadedTarget {
                    document: trace_document(&trace),
                    environment: trace.record.environment.clone(),
                    last_update: trace.updated_at,
                }))
            }
            TargetRef::Observation { observation_id, .. } => {
                let observation = self
                    .traces
                    .get_observation(project_id, observation_id)
                    .await?;
                Ok(observation.map(|observation| LoadedTarget {
                    document: observation_document(&observation),
                    environment: observation.environment.clone(),
                    last_update: observation.event_time,
                }))
            }
            TargetRef::DatasetRunItem {
                observation_id,
                dataset_item_id,
                ..
            } => {
                let Some(observation) = self
                    .traces
                    .get_observation(project_id, observation_id)
                    .await?
                else {
                    return Ok(None);
                };
                let item = self.datasets.get_item(project_id, dataset_item_id).await?;
                let Some(item) = item else {
                    return Err(Failure::new(
                        "target_missing",
                        format!("dataset item {dataset_item_id} does not exist"),
                    )
                    .into());
                };
                let document = with_dataset_item(
                    observation_document(&observation),
                    item.expected_output.as_ref(),
                    item.input.as_ref(),
                    item.metadata.as_ref(),
                );
                Ok(Some(LoadedTarget {
                    document,
                    environment: observation.environment.clone(),
                    last_update: observation.event_time,
                }))
            }
        }
    }
}

fn chrono_duration(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}
