//! `ExperimentIndex` for [`SqliteTraceStore`]: the dataset runs found in experiment spans, read
//! from the `experiment_items` table that the write path fills (`write::experiments`).
//!
//! Runs are grouped by name within a dataset, as the API addresses them: when the SDK could not
//! resolve the project it gives each re-run a random id, and those runs then show as one run
//! under the smallest of their ids.

use async_trait::async_trait;
use periscope_core::datasets::{
    DatasetRun, DatasetRunItem, DatasetRunWithItems, ExperimentIndex, derived_run_item_id,
};
use periscope_core::error::BackendResult;
use serde_json::Value;
use sqlx::sqlite::SqliteRow;

use super::SqliteTraceStore;
use super::columns::{get, get_time};
use super::connect::db_error;

/// Returns run metadata as sent (JSON text) as a value; text that is not JSON stays a string.
fn decode_metadata(text: Option<String>) -> Option<Value> {
    text.map(|text| serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn decode_run(row: &SqliteRow, dataset_id: &str) -> BackendResult<DatasetRun> {
    Ok(DatasetRun {
        id: get(row, "run_id")?,
        dataset_id: dataset_id.to_owned(),
        name: get(row, "run_name")?,
        description: get(row, "description")?,
        metadata: decode_metadata(get(row, "metadata")?),
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

#[async_trait]
impl ExperimentIndex for SqliteTraceStore {
    async fn experiment_runs(
        &self,
        project_id: &str,
        dataset_id: &str,
    ) -> BackendResult<Vec<DatasetRun>> {
        let rows = sqlx::query(
            "SELECT MIN(run_id) AS run_id, run_name, MAX(description) AS description, \
                MAX(metadata) AS metadata, MIN(created_at) AS created_at, \
                MAX(updated_at) AS updated_at \
             FROM experiment_items WHERE project_id = ? AND dataset_id = ? \
             GROUP BY run_name ORDER BY created_at DESC, run_name",
        )
        .bind(project_id)
        .bind(dataset_id)
        .fetch_all(&self.pools.reader)
        .await
        .map_err(|error| db_error("failed to list experiment runs", error))?;
        rows.iter().map(|row| decode_run(row, dataset_id)).collect()
    }

    async fn experiment_run(
        &self,
        project_id: &str,
        dataset_id: &str,
        run_name: &str,
    ) -> BackendResult<Option<DatasetRunWithItems>> {
        let rows = sqlx::query(
            "SELECT run_id, run_name, dataset_item_id, trace_id, observation_id, description, \
                metadata, created_at, updated_at \
             FROM experiment_items WHERE project_id = ? AND dataset_id = ? AND run_name = ? \
             ORDER BY created_at, run_id, dataset_item_id, trace_id",
        )
        .bind(project_id)
        .bind(dataset_id)
        .bind(run_name)
        .fetch_all(&self.pools.reader)
        .await
        .map_err(|error| db_error("failed to read experiment run", error))?;
        let mut runs = Vec::with_capacity(rows.len());
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            let run = decode_run(row, dataset_id)?;
            let dataset_item_id: String = get(row, "dataset_item_id")?;
            let trace_id: String = get(row, "trace_id")?;
            items.push(DatasetRunItem {
                id: derived_run_item_id(&run.id, &dataset_item_id, &trace_id),
                dataset_run_id: run.id.clone(),
                dataset_run_name: run.name.clone(),
                dataset_item_id,
                trace_id,
                observation_id: get(row, "observation_id")?,
                created_at: run.created_at,
                updated_at: run.updated_at,
            });
            runs.push(run);
        }
        // The run as a whole: the smallest id (as in `experiment_runs`), the first description
        // and metadata found, the first item's creation and the last item's update.
        let Some(first) = runs.first() else {
            return Ok(None);
        };
        let mut run = first.clone();
        for other in &runs[1..] {
            if other.id < run.id {
                run.id = other.id.clone();
            }
            run.description = run.description.or_else(|| other.description.clone());
            run.metadata = run.metadata.or_else(|| other.metadata.clone());
            run.updated_at = run.updated_at.max(other.updated_at);
        }
        for item in &mut items {
            item.dataset_run_id = run.id.clone();
        }
        Ok(Some(DatasetRunWithItems { run, items }))
    }

    async fn delete_experiment_run(
        &self,
        project_id: &str,
        dataset_id: &str,
        run_name: &str,
    ) -> BackendResult<bool> {
        let result = sqlx::query(
            "DELETE FROM experiment_items \
             WHERE project_id = ? AND dataset_id = ? AND run_name = ?",
        )
        .bind(project_id)
        .bind(dataset_id)
        .bind(run_name)
        .execute(&self.pools.writer)
        .await
        .map_err(|error| db_error("failed to delete experiment run", error))?;
        Ok(result.rows_affected() > 0)
    }
}
