//! The write path of the trace store.
//!
//! A batch is grouped and merged in memory first (one merged record per row), then, inside one
//! `BEGIN IMMEDIATE` transaction: the stored rows of the batch's keys are loaded in bulk,
//! merged with the core merge rules, and the rows that changed are written with multi-row
//! upserts. Merging is idempotent, so writing a batch twice leaves the rows as after the first
//! write; unchanged rows are not rewritten at all, which keeps replays cheap.

mod experiments;
mod group;
mod observations;
mod rows;
mod scores;
#[cfg(test)]
mod tests;
mod traces;

use periscope_core::error::{BackendError, BackendResult};
use periscope_core::model::Record;
use periscope_core::store::WriteSummary;
use sqlx::SqlitePool;

use super::connect::{BACKEND, db_error};
use group::GroupedBatch;
pub(crate) use scores::delete as delete_score;

/// Merges `records` into the database of `writer`, all or nothing.
pub(crate) async fn write_records(
    writer: &SqlitePool,
    records: Vec<Record>,
) -> BackendResult<WriteSummary> {
    if records.is_empty() {
        return Ok(WriteSummary::default());
    }
    // Grouping and merging a batch is milliseconds of CPU work: keep it off the async workers.
    let batch = tokio::task::spawn_blocking(move || GroupedBatch::group(records))
        .await
        .map_err(|error| BackendError::Other {
            backend: BACKEND,
            context: "failed to group a batch".to_owned(),
            source: Box::new(error),
        })?;
    let mut transaction = writer
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(|error| db_error("failed to begin write transaction", error))?;
    // Observations first: traces without a timestamp of their own derive it from them.
    let observed_traces = observations::upsert(&mut transaction, batch.observations).await?;
    traces::upsert(&mut transaction, batch.traces, observed_traces).await?;
    scores::upsert(&mut transaction, batch.scores).await?;
    transaction
        .commit()
        .await
        .map_err(|error| db_error("failed to commit write transaction", error))?;
    Ok(batch.summary)
}
