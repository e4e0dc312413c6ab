//! Evaluators (`evaluators`, migration 7). Target, filter and variable mapping are JSONB.

use std::time::Duration;

use periscope_core::error::BackendResult;
use periscope_core::evals::Evaluator;
use sqlx::PgPool;
use sqlx::postgres::PgRow;

use super::{encode_json, json_column};
use crate::postgres::connect::{db_error, get, get_time, micros};

const COLUMNS: &str = "project_id, id, score_name, template_name, template_version, \
    connection_id, model, target, filter, sampling_rate, variable_mapping, settle_window_ms, \
    active, version, created_at, updated_at";

fn decode(row: &PgRow) -> BackendResult<Evaluator> {
    let settle_window_ms: i64 = get(row, "settle_window_ms")?;
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
        active: get(row, "active")?,
        version: get(row, "version")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

fn settle_ms(evaluator: &Evaluator) -> i64 {
    i64::try_from(evaluator.settle_window.as_millis()).unwrap_or(i64::MAX)
}

pub(super) async fn create(pool: &PgPool, evaluator: &Evaluator) -> BackendResult<()> {
    sqlx::query(&format!(
        "INSERT INTO evaluators ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
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
    .bind(evaluator.active)
    .bind(evaluator.version)
    .bind(micros(evaluator.created_at))
    .bind(micros(evaluator.updated_at))
    .execute(pool)
    .await
    .map_err(|error| db_error("failed to create evaluator", error))?;
    Ok(())
}

pub(super) async fn get_one(
    pool: &PgPool,
    project_id: &str,
    id: &str,
) -> BackendResult<Option<Evaluator>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM evaluators WHERE project_id = $1 AND id = $2"
    ))
    .bind(project_id)
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(|error| db_error("failed to read evaluator", error))?;
    row.as_ref().map(decode).transpose()
}

pub(super) async fn list(pool: &PgPool, project_id: &str) -> BackendResult<Vec<Evaluator>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM evaluators WHERE project_id = $1 \
         ORDER BY created_at DESC, id COLLATE \"C\" DESC"
    ))
    .bind(project_id)
    .fetch_all(pool)
    .await
    .map_err(|error| db_error("failed to list evaluators", error))?;
    rows.iter().map(decode).collect()
}

pub(super) async fn list_active(pool: &PgPool) -> BackendResult<Vec<Evaluator>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM evaluators WHERE active \
         ORDER BY project_id COLLATE \"C\", id COLLATE \"C\""
    ))
    .fetch_all(pool)
    .await
    .map_err(|error| db_error("failed to list active evaluators", error))?;
    rows.iter().map(decode).collect()
}

/// Replaces the row if it is still at the previous version (optimistic concurrency).
pub(super) async fn update(pool: &PgPool, evaluator: &Evaluator) -> BackendResult<bool> {
    let result = sqlx::query(
        "UPDATE evaluators SET score_name = $1, template_name = $2, template_version = $3, \
         connection_id = $4, model = $5, target = $6, filter = $7, sampling_rate = $8, \
         variable_mapping = $9, settle_window_ms = $10, active = $11, version = $12, \
         updated_at = $13 WHERE project_id = $14 AND id = $15 AND version = $16",
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
    .bind(evaluator.active)
    .bind(evaluator.version)
    .bind(micros(evaluator.updated_at))
    .bind(&evaluator.project_id)
    .bind(&evaluator.id)
    .bind(evaluator.version - 1)
    .execute(pool)
    .await
    .map_err(|error| db_error("failed to update evaluator", error))?;
    Ok(result.rows_affected() > 0)
}

pub(super) async fn delete(pool: &PgPool, project_id: &str, id: &str) -> BackendResult<bool> {
    let result = sqlx::query("DELETE FROM evaluators WHERE project_id = $1 AND id = $2")
        .bind(project_id)
        .bind(id)
        .execute(pool)
        .await
        .map_err(|error| db_error("failed to delete evaluator", error))?;
    Ok(result.rows_affected() > 0)
}
