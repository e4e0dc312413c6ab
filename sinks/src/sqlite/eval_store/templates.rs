//! Evaluator templates (`eval_templates`, migration 7): one row per version of a name.

use periscope_core::error::BackendResult;
use periscope_core::evals::{EvaluatorTemplate, OutputSpec};
use sqlx::sqlite::SqliteRow;

use super::json_column;
use crate::sqlite::columns::{get, get_time, micros};
use crate::sqlite::connect::{Pools, body_error, db_error};

const COLUMNS: &str = "project_id, name, version, id, prompt, output, description, created_at";

fn decode(row: &SqliteRow) -> BackendResult<EvaluatorTemplate> {
    let output: OutputSpec = json_column(row, "output")?;
    Ok(EvaluatorTemplate {
        id: get(row, "id")?,
        project_id: Some(get(row, "project_id")?),
        name: get(row, "name")?,
        version: get(row, "version")?,
        prompt: get(row, "prompt")?,
        output,
        description: get(row, "description")?,
        created_at: get_time(row, "created_at")?,
    })
}

/// Inserts the next version of the template's name in one statement, so two concurrent
/// creates cannot take the same version (the primary key would refuse the second).
pub(super) async fn create_version(
    pools: &Pools,
    template: &EvaluatorTemplate,
) -> BackendResult<EvaluatorTemplate> {
    let project_id = template.project_id.clone().unwrap_or_default();
    let output = serde_json::to_string(&template.output)
        .map_err(|error| body_error("failed to encode template output", error))?;
    let version: i64 = sqlx::query_scalar(&format!(
        "INSERT INTO eval_templates ({COLUMNS}) \
         SELECT ?1, ?2, COALESCE(MAX(version), 0) + 1, ?3, ?4, ?5, ?6, ?7 \
         FROM eval_templates WHERE project_id = ?1 AND name = ?2 \
         RETURNING version"
    ))
    .bind(&project_id)
    .bind(&template.name)
    .bind(&template.id)
    .bind(&template.prompt)
    .bind(output)
    .bind(&template.description)
    .bind(micros(template.created_at))
    .fetch_one(&pools.writer)
    .await
    .map_err(|error| db_error("failed to create evaluator template", error))?;
    Ok(EvaluatorTemplate {
        project_id: Some(project_id),
        version,
        ..template.clone()
    })
}

pub(super) async fn get_one(
    pools: &Pools,
    project_id: &str,
    name: &str,
    version: Option<i64>,
) -> BackendResult<Option<EvaluatorTemplate>> {
    // A missing version asks for the newest: `version IS NULL` makes the condition true.
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM eval_templates \
         WHERE project_id = ? AND name = ? AND (?3 IS NULL OR version = ?3) \
         ORDER BY version DESC LIMIT 1"
    ))
    .bind(project_id)
    .bind(name)
    .bind(version)
    .fetch_optional(&pools.reader)
    .await
    .map_err(|error| db_error("failed to read evaluator template", error))?;
    row.as_ref().map(decode).transpose()
}

pub(super) async fn list(pools: &Pools, project_id: &str) -> BackendResult<Vec<EvaluatorTemplate>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM eval_templates WHERE project_id = ? ORDER BY name, version"
    ))
    .bind(project_id)
    .fetch_all(&pools.reader)
    .await
    .map_err(|error| db_error("failed to list evaluator templates", error))?;
    rows.iter().map(decode).collect()
}
