//! Evaluator templates (`eval_templates`, migration 7): one row per version of a name.

use periscope_core::error::BackendResult;
use periscope_core::evals::{EvaluatorTemplate, OutputSpec};
use sqlx::PgPool;
use sqlx::postgres::PgRow;

use super::{encode_json, json_column};
use crate::postgres::connect::{LockClass, db_error, get, get_time, lock_for_transaction, micros};

const COLUMNS: &str = "project_id, name, version, id, prompt, output, description, created_at";

fn decode(row: &PgRow) -> BackendResult<EvaluatorTemplate> {
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

/// Inserts the next version of the template's name. The name's advisory lock makes
/// concurrent creates (from any process) number their versions one after the other.
pub(super) async fn create_version(
    pool: &PgPool,
    template: &EvaluatorTemplate,
) -> BackendResult<EvaluatorTemplate> {
    let context = "failed to create evaluator template";
    let project_id = template.project_id.clone().unwrap_or_default();
    let mut transaction = pool
        .begin()
        .await
        .map_err(|error| db_error(context, error))?;
    let key = [project_id.as_str(), template.name.as_str()];
    lock_for_transaction(&mut transaction, LockClass::EvalTemplate, &key, context).await?;
    let version: i64 = sqlx::query_scalar(&format!(
        "INSERT INTO eval_templates ({COLUMNS}) \
         SELECT $1, $2, COALESCE(MAX(version), 0) + 1, $3, $4, $5, $6, $7 \
         FROM eval_templates WHERE project_id = $1 AND name = $2 \
         RETURNING version"
    ))
    .bind(&project_id)
    .bind(&template.name)
    .bind(&template.id)
    .bind(&template.prompt)
    .bind(encode_json(&template.output, "template output")?)
    .bind(&template.description)
    .bind(micros(template.created_at))
    .fetch_one(&mut *transaction)
    .await
    .map_err(|error| db_error(context, error))?;
    transaction
        .commit()
        .await
        .map_err(|error| db_error(context, error))?;
    Ok(EvaluatorTemplate {
        project_id: Some(project_id),
        version,
        ..template.clone()
    })
}

pub(super) async fn get_one(
    pool: &PgPool,
    project_id: &str,
    name: &str,
    version: Option<i64>,
) -> BackendResult<Option<EvaluatorTemplate>> {
    // A missing version asks for the newest: `version IS NULL` makes the condition true.
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM eval_templates \
         WHERE project_id = $1 AND name = $2 AND ($3::bigint IS NULL OR version = $3) \
         ORDER BY version DESC LIMIT 1"
    ))
    .bind(project_id)
    .bind(name)
    .bind(version)
    .fetch_optional(pool)
    .await
    .map_err(|error| db_error("failed to read evaluator template", error))?;
    row.as_ref().map(decode).transpose()
}

pub(super) async fn list(pool: &PgPool, project_id: &str) -> BackendResult<Vec<EvaluatorTemplate>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM eval_templates WHERE project_id = $1 \
         ORDER BY name COLLATE \"C\", version"
    ))
    .bind(project_id)
    .fetch_all(pool)
    .await
    .map_err(|error| db_error("failed to list evaluator templates", error))?;
    rows.iter().map(decode).collect()
}
