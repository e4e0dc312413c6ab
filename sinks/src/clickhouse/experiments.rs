//! `ExperimentIndex` for [`ClickHouseTraceStore`]: the dataset runs found in experiment spans,
//! read from `experiment_items`, which the write path fills (one row per span).
//!
//! The spans of one run item fold together as the SQLite index merges them: the earliest
//! span's observation, description and metadata win where set, times span min to max. Runs
//! are grouped by name within a dataset (docs/adr/0007). Every query is restricted to one
//! project and dataset, a prefix of the sorting key, so `FINAL` reads only those parts.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clickhouse::Row;
use periscope_core::datasets::{
    DatasetRun, DatasetRunItem, DatasetRunWithItems, ExperimentIndex, derived_run_item_id,
};
use periscope_core::error::BackendResult;
use serde::Deserialize;
use serde_json::Value;

use super::connect::ch_error;
use super::read::traces::from_micros;
use super::sql::Sql;
use super::store::ClickHouseTraceStore;

/// One run item: the spans of (run, dataset item, trace) folded together.
const ITEMS: &str = "SELECT run_id, argMax(run_name, row_version) AS run_name, dataset_item_id, \
        trace_id, argMinIf(observation_id, created_at, observation_id IS NOT NULL) AS observation, \
        argMinIf(description, created_at, description IS NOT NULL) AS run_description, \
        argMinIf(metadata, created_at, metadata IS NOT NULL) AS run_metadata, \
        min(created_at) AS first_seen, max(updated_at) AS last_seen \
    FROM experiment_items FINAL WHERE project_id = ";

#[derive(Debug, Row, Deserialize)]
struct RunRow {
    run_id: String,
    run_name: String,
    run_description: Option<String>,
    run_metadata: Option<String>,
    first_seen: i64,
    last_seen: i64,
}

#[derive(Debug, Row, Deserialize)]
struct ItemRow {
    run_id: String,
    run_name: String,
    dataset_item_id: String,
    trace_id: String,
    observation: Option<String>,
    run_description: Option<String>,
    run_metadata: Option<String>,
    first_seen: i64,
    last_seen: i64,
}

/// Returns run metadata as sent (JSON text) as a value; text that is not JSON stays a string.
fn decode_metadata(text: Option<String>) -> Option<Value> {
    text.map(|text| serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn times(first_seen: i64, last_seen: i64) -> BackendResult<(DateTime<Utc>, DateTime<Utc>)> {
    Ok((
        from_micros(first_seen, "created_at")?,
        from_micros(last_seen, "updated_at")?,
    ))
}

/// Appends the run items of `dataset_id` in `project_id`.
fn push_items(sql: &mut Sql, project_id: &str, dataset_id: &str) {
    sql.push(ITEMS);
    sql.bind_text(project_id).push(" AND dataset_id = ");
    sql.bind_text(dataset_id)
        .push(" GROUP BY run_id, dataset_item_id, trace_id");
}

#[async_trait]
impl ExperimentIndex for ClickHouseTraceStore {
    async fn experiment_runs(
        &self,
        project_id: &str,
        dataset_id: &str,
    ) -> BackendResult<Vec<DatasetRun>> {
        let mut sql = Sql::new(
            "SELECT min(run_id) AS run_id, run_name, max(run_description) AS run_description, \
                max(run_metadata) AS run_metadata, min(first_seen) AS first_seen, \
                max(last_seen) AS last_seen FROM (",
        );
        push_items(&mut sql, project_id, dataset_id);
        sql.push(") GROUP BY run_name ORDER BY first_seen DESC, run_name");
        let rows = sql
            .query(&self.client)
            .fetch_all::<RunRow>()
            .await
            .map_err(|error| ch_error("failed to list experiment runs", error))?;
        rows.into_iter()
            .map(|row| {
                let (created_at, updated_at) = times(row.first_seen, row.last_seen)?;
                Ok(DatasetRun {
                    id: row.run_id,
                    dataset_id: dataset_id.to_owned(),
                    name: row.run_name,
                    description: row.run_description,
                    metadata: decode_metadata(row.run_metadata),
                    created_at,
                    updated_at,
                })
            })
            .collect()
    }

    async fn experiment_run(
        &self,
        project_id: &str,
        dataset_id: &str,
        run_name: &str,
    ) -> BackendResult<Option<DatasetRunWithItems>> {
        let mut sql = Sql::new("SELECT * FROM (");
        push_items(&mut sql, project_id, dataset_id);
        sql.push(") WHERE run_name = ");
        sql.bind_text(run_name)
            .push(" ORDER BY first_seen, run_id, dataset_item_id, trace_id");
        let rows = sql
            .query(&self.client)
            .fetch_all::<ItemRow>()
            .await
            .map_err(|error| ch_error("failed to read experiment run", error))?;
        let mut runs = Vec::with_capacity(rows.len());
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            let (created_at, updated_at) = times(row.first_seen, row.last_seen)?;
            items.push(DatasetRunItem {
                id: derived_run_item_id(&row.run_id, &row.dataset_item_id, &row.trace_id),
                dataset_run_id: row.run_id.clone(),
                dataset_run_name: row.run_name.clone(),
                dataset_item_id: row.dataset_item_id,
                trace_id: row.trace_id,
                observation_id: row.observation,
                created_at,
                updated_at,
            });
            runs.push(DatasetRun {
                id: row.run_id,
                dataset_id: dataset_id.to_owned(),
                name: row.run_name,
                description: row.run_description,
                metadata: decode_metadata(row.run_metadata),
                created_at,
                updated_at,
            });
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
        let push_where = |sql: &mut Sql| {
            sql.push(" WHERE project_id = ");
            sql.bind_text(project_id).push(" AND dataset_id = ");
            sql.bind_text(dataset_id).push(" AND run_name = ");
            sql.bind_text(run_name);
        };
        let mut count = Sql::new("SELECT count() FROM experiment_items");
        push_where(&mut count);
        let existed = super::read::fetch_count(&self.client, &count, "failed to find run").await?;
        if existed == 0 {
            return Ok(false);
        }
        // A lightweight delete: rows disappear from reads at once, and from disk on merges.
        let mut delete = Sql::new("DELETE FROM experiment_items");
        push_where(&mut delete);
        delete
            .query(&self.client)
            .execute()
            .await
            .map_err(|error| ch_error("failed to delete experiment run", error))?;
        Ok(true)
    }
}
