//! `ScoreConfigStore` for [`PostgresMetaStore`]: score configs (migration 5). Categories are
//! stored as a JSONB array of `{label, value}`.

use async_trait::async_trait;
use periscope_core::error::BackendResult;
use periscope_core::model::{Page, ScoreDataType};
use periscope_core::score_configs::{ConfigCategory, ScoreConfig, ScoreConfigStore};
use periscope_core::store::PageRequest;
use serde_json::{Value, json};
use sqlx::postgres::PgRow;

use super::PostgresMetaStore;
use super::connect::{corrupt, db_error, get, get_time, micros, sql_integer};

const COLUMNS: &str = "id, project_id, name, data_type, is_archived, min_value, max_value, \
    categories, description, created_at, updated_at";

fn encode_categories(categories: &[ConfigCategory]) -> Value {
    Value::Array(
        categories
            .iter()
            .map(|category| json!({"label": category.label, "value": category.value}))
            .collect(),
    )
}

fn decode_categories(value: &Value) -> BackendResult<Vec<ConfigCategory>> {
    let invalid = || corrupt("column categories is not an array of {label, value}".to_owned());
    let Value::Array(items) = value else {
        return Err(invalid());
    };
    items
        .iter()
        .map(|item| {
            let label = item
                .get("label")
                .and_then(Value::as_str)
                .ok_or_else(invalid)?;
            let value = item
                .get("value")
                .and_then(Value::as_f64)
                .ok_or_else(invalid)?;
            Ok(ConfigCategory {
                label: label.to_owned(),
                value,
            })
        })
        .collect()
}

fn decode(row: &PgRow) -> BackendResult<ScoreConfig> {
    let data_type: &str = get(row, "data_type")?;
    let data_type = ScoreDataType::parse(data_type)
        .ok_or_else(|| corrupt(format!("unknown score config data type {data_type:?}")))?;
    let categories: Value = get(row, "categories")?;
    Ok(ScoreConfig {
        id: get(row, "id")?,
        project_id: get(row, "project_id")?,
        name: get(row, "name")?,
        data_type,
        is_archived: get(row, "is_archived")?,
        min_value: get(row, "min_value")?,
        max_value: get(row, "max_value")?,
        categories: decode_categories(&categories)?,
        description: get(row, "description")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

#[async_trait]
impl ScoreConfigStore for PostgresMetaStore {
    async fn create_score_config(&self, config: &ScoreConfig) -> BackendResult<()> {
        sqlx::query(&format!(
            "INSERT INTO score_configs ({COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(&config.id)
        .bind(&config.project_id)
        .bind(&config.name)
        .bind(config.data_type.as_str())
        .bind(config.is_archived)
        .bind(config.min_value)
        .bind(config.max_value)
        .bind(encode_categories(&config.categories))
        .bind(&config.description)
        .bind(micros(config.created_at))
        .bind(micros(config.updated_at))
        .execute(&self.pool)
        .await
        .map_err(|error| db_error("failed to create score config", error))?;
        Ok(())
    }

    async fn get_score_config(
        &self,
        project_id: &str,
        id: &str,
    ) -> BackendResult<Option<ScoreConfig>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM score_configs WHERE project_id = $1 AND id = $2"
        ))
        .bind(project_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|error| db_error("failed to read score config", error))?;
        row.as_ref().map(decode).transpose()
    }

    async fn list_score_configs(
        &self,
        project_id: &str,
        page: PageRequest,
    ) -> BackendResult<Page<ScoreConfig>> {
        let total: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM score_configs WHERE project_id = $1")
                .bind(project_id)
                .fetch_one(&self.pool)
                .await
                .map_err(|error| db_error("failed to count score configs", error))?;
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM score_configs WHERE project_id = $1 \
             ORDER BY created_at DESC, id COLLATE \"C\" DESC LIMIT $2 OFFSET $3"
        ))
        .bind(project_id)
        .bind(sql_integer(page.limit))
        .bind(sql_integer(page.offset()))
        .fetch_all(&self.pool)
        .await
        .map_err(|error| db_error("failed to list score configs", error))?;
        let items = rows.iter().map(decode).collect::<BackendResult<_>>()?;
        Ok(Page {
            items,
            total_items: u64::try_from(total).unwrap_or(0),
        })
    }

    async fn update_score_config(&self, config: &ScoreConfig) -> BackendResult<bool> {
        let result = sqlx::query(
            "UPDATE score_configs SET name = $1, is_archived = $2, min_value = $3, \
                max_value = $4, categories = $5, description = $6, updated_at = $7 \
             WHERE project_id = $8 AND id = $9",
        )
        .bind(&config.name)
        .bind(config.is_archived)
        .bind(config.min_value)
        .bind(config.max_value)
        .bind(encode_categories(&config.categories))
        .bind(&config.description)
        .bind(micros(config.updated_at))
        .bind(&config.project_id)
        .bind(&config.id)
        .execute(&self.pool)
        .await
        .map_err(|error| db_error("failed to update score config", error))?;
        Ok(result.rows_affected() > 0)
    }
}
