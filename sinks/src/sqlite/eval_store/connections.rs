//! LLM connections (`llm_connections`, migration 7). Only the sealed key is stored.

use std::collections::BTreeMap;

use periscope_core::error::BackendResult;
use periscope_core::evals::LlmConnection;
use sqlx::sqlite::SqliteRow;

use super::json_column;
use crate::sqlite::columns::{get, get_time, micros};
use crate::sqlite::connect::{Pools, body_error, db_error};

const COLUMNS: &str = "project_id, id, name, base_url, default_model, extra_headers, \
    sealed_api_key, key_preview, created_at, updated_at";

fn decode(row: &SqliteRow) -> BackendResult<LlmConnection> {
    let headers: BTreeMap<String, String> = json_column(row, "extra_headers")?;
    Ok(LlmConnection {
        project_id: get(row, "project_id")?,
        id: get(row, "id")?,
        name: get(row, "name")?,
        base_url: get(row, "base_url")?,
        default_model: get(row, "default_model")?,
        extra_headers: headers,
        sealed_api_key: get(row, "sealed_api_key")?,
        key_preview: get(row, "key_preview")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

pub(super) async fn create(pools: &Pools, connection: &LlmConnection) -> BackendResult<()> {
    let headers = serde_json::to_string(&connection.extra_headers)
        .map_err(|error| body_error("failed to encode extra headers", error))?;
    sqlx::query(&format!(
        "INSERT INTO llm_connections ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&connection.project_id)
    .bind(&connection.id)
    .bind(&connection.name)
    .bind(&connection.base_url)
    .bind(&connection.default_model)
    .bind(headers)
    .bind(&connection.sealed_api_key)
    .bind(&connection.key_preview)
    .bind(micros(connection.created_at))
    .bind(micros(connection.updated_at))
    .execute(&pools.writer)
    .await
    .map_err(|error| db_error("failed to create llm connection", error))?;
    Ok(())
}

pub(super) async fn get_one(
    pools: &Pools,
    project_id: &str,
    id: &str,
) -> BackendResult<Option<LlmConnection>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM llm_connections WHERE project_id = ? AND id = ?"
    ))
    .bind(project_id)
    .bind(id)
    .fetch_optional(&pools.reader)
    .await
    .map_err(|error| db_error("failed to read llm connection", error))?;
    row.as_ref().map(decode).transpose()
}

pub(super) async fn list(pools: &Pools, project_id: &str) -> BackendResult<Vec<LlmConnection>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM llm_connections WHERE project_id = ? ORDER BY name"
    ))
    .bind(project_id)
    .fetch_all(&pools.reader)
    .await
    .map_err(|error| db_error("failed to list llm connections", error))?;
    rows.iter().map(decode).collect()
}

pub(super) async fn delete(pools: &Pools, project_id: &str, id: &str) -> BackendResult<bool> {
    let result = sqlx::query("DELETE FROM llm_connections WHERE project_id = ? AND id = ?")
        .bind(project_id)
        .bind(id)
        .execute(&pools.writer)
        .await
        .map_err(|error| db_error("failed to delete llm connection", error))?;
    Ok(result.rows_affected() > 0)
}
