//! Evaluators (`evaluators`, migration 7). Target, filter and variable mapping are JSON.

use std::time::Duration;

use periscope_core::error::BackendResult;
use periscope_core::evals::Evaluator;
use sqlx::sqlite::SqliteRow;

use super::{encode_json, json_column};
use crate::sqlite::columns::{get, get_time, micros};
use crate::sqlite::connect::{Pools, db_error};

const COLUMNS: &str = "project_id, id, score_name, template_name, template_version, \
    connection_id, model, target, filter, sampling_rate, variable_mapping, settle_window_ms, \
    active, version, created_at, updated_at";

fn decode(row: &SqliteRow) -> BackendResult<Evaluator> {
    let settle_window_ms: i64 = get(row, "settle_window_ms")?;
    let active: i64 = get(row, "active")?;
    Ok(Evaluator {
        project_id: get(row, "project_id")?,
        id: get(row, "id")?,
        score_name: get(row, "score_name")?,
        template_name: get(row, "template_name")?,
        template_version: get(row, "template_version")?,
        connection_id: get(row, "connection_id")?,
        model: get(row, "model")?,
        target: json_column(row, "target")?,
        filter: json_column(row, "filter")?,
        sampling_rate: get(row, "sampling_rate")?,
        variable_mapping: json_column(row, "variable_mapping")?,
        settle_window: Duration::from_millis(u64::try_from(settle_window_ms).unwrap_or(0)),
        active: active != 0,
        version: get(row, "version")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

fn settle_ms(evaluator: &Evaluator) -> i64 {
    i64::try_from(evaluator.settle_window.as_millis()).unwrap_or(i64::MAX)
}

pub(super) async fn create(pools: &Pools, evaluator: &Evaluator) -> BackendResult<()> {
    sqlx::query(&format!(
        "INSERT INTO evaluators ({COLUMNS}) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&evaluator.project_id)
    .bind(&evaluator.id)
    .bind(&evaluator.score_name)
    .bind(&evaluator.template_name)
    .bind(evaluator.template_version)
    .bind(&evaluator.connection_id)
    .bind(&evaluator.model)
    .bind(encode_json(&evaluator.target, "target")?)
    .bind(encode_json(&evaluator.filter, "filter")?)
    .bind(evaluator.sampling_rate)
    .bind(encode_json(
        &evaluator.variable_mapping,
        "variable mapping",
    )?)
    .bind(settle_ms(evaluator))
    .bind(i64::from(evaluator.active))
    .bind(evaluator.version)
    .bind(micros(evaluator.created_at))
    .bind(micros(evaluator.updated_at))
    .execute(&pools.writer)
    .await
    .map_err(|error| db_error("failed to create evaluator", error))?;
    Ok(())
}

pub(super) async fn get_one(
    pools: &Pools,
    project_id: &str,
    id: &str,
) -> BackendResult<Option<Evaluator>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM evaluators WHERE project_id = ? AND id = ?"
    ))
    .bind(project_id)
    .bind(id)
    .fetch_optional(&pools.reader)
    .await
    .map_err(|error| db_error("failed to read evaluator", error))?;
    row.as_ref().map(decode).transpose()
}

pub(super) async fn list(pools: &Pools, project_id: &str) -> BackendResult<Vec<Evaluator>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM evaluators WHERE project_id = ? ORDER BY created_at DESC, id DESC"
    ))
    .bind(project_id)
    .fetch_all(&pools.reader)
    .await
    .map_err(|error| db_error("failed to list evaluators", error))?;
    rows.iter().map(decode).collect()
}

pub(super) async fn list_active(pools: &Pools) -> BackendResult<Vec<Evaluator>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM evaluators WHERE active = 1 ORDER BY project_id, id"
    ))
    .fetch_all(&pools.reader)
    .await
    .map_err(|error| db_error("failed to list active evaluators", error))?;
    rows.iter().map(decode).collect()
}

/// Replaces the row if it is still at the previous version (optimistic concurrency).
pub(super) async fn update(pools: &Pools, evaluator: &Evaluator) -> BackendResult<bool> {
    let result = sqlx::query(
        "UPDATE evaluators SET score_name = ?, template_name = ?, template_version = ?, \
         connection_id = ?, model = ?, target = ?, filter = ?, sampling_rate = ?, \
         variable_mapping = ?, settle_window_ms = ?, active = ?, version = ?, updated_at = ? \
         WHERE project_id = ? AND id = ? AND version = ?",
    )
    .bind(&evaluator.score_name)
    .bind(&evaluator.template_name)
    .bind(evaluator.template_version)
    .bind(&evaluator.connection_id)
    .bind(&evaluator.model)
    .bind(encode_json(&evaluator.target, "target")?)
    .bind(encode_json(&evaluator.filter, "filter")?)
    .bind(evaluator.sampling_rate)
    .bind(encode_json(
        &evaluator.variable_mapping,
        "variable mapping",
    )?)
    .bind(settle_ms(evaluator))
    .bind(i64::from(evaluator.active))
    .bind(evaluator.version)
    .bind(micros(evaluator.updated_at))
    .bind(&evaluator.project_id)
    .bind(&evaluator.id)
    .bind(evaluator.version - 1)
    .execute(&pools.writer)
    .await
    .map_err(|error| db_error("failed to update evaluator", error))?;
    Ok(result.rows_affected() > 0)
}

pub(super) async fn delete(pools: &Pools, project_id: &str, id: &str) -> BackendResult<bool> {
    let result = sqlx::query("DELETE FROM evaluators WHERE project_id = ? AND id = ?")
        .bind(project_id)
        .bind(id)
        .execute(&pools.writer)
        .await
        .map_err(|error| db_error("failed to delete evaluator", error))?;
    Ok(result.rows_affected() > 0)
}
