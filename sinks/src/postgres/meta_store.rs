//! [`PostgresMetaStore`]: the scale-out `MetaStore` (projects, API keys, model definitions).

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::Utc;
use periscope_core::config::PostgresConfig;
use periscope_core::error::{BackendError, BackendResult};
use periscope_core::meta::{ApiKey, MetaStore, ModelDefinition, Project};
use serde_json::Value;
use sqlx::PgPool;
use sqlx::postgres::PgRow;

use super::connect::{
    BACKEND, corrupt, db_error, get, get_optional_time, get_time, json_error, micros, open_pool,
    optional_micros,
};
use super::migrate::{applied_versions, run_migrations};
use super::schema::META_MIGRATIONS;

const MODEL_COLUMNS: &str = "id, project_id, model_name, match_pattern, start_date, prices, \
    unit, tokenizer_id, created_at";

/// Configuration data in a Postgres database, shared by every Periscope process.
///
/// It implements the same store traits as `SqliteMetaStore` (`MetaStore`, `ApiKeyAdmin`,
/// `PromptStore`, `DatasetStore`, `ScoreConfigStore`, `CommentStore`, `AnnotationStore`,
/// `ShareStore`, `EvalStore`) with the same semantics, so the binary can hand either one to the API.
/// Cloning shares the pool.
#[derive(Debug, Clone)]
pub struct PostgresMetaStore {
    pub(super) pool: PgPool,
}

impl PostgresMetaStore {
    /// Connects a pool of at most `config.max_connections` connections to `config.url` and
    /// applies the missing schema migrations (serialised across processes, see
    /// [`super::migrate`]).
    pub async fn connect(config: &PostgresConfig) -> BackendResult<Self> {
        let pool = open_pool(config).await?;
        run_migrations(&pool, META_MIGRATIONS).await?;
        Ok(Self { pool })
    }

    /// Returns the applied schema migration versions, oldest first.
    pub async fn schema_versions(&self) -> BackendResult<Vec<i64>> {
        applied_versions(&self.pool).await
    }
}

fn decode_project(row: &PgRow) -> BackendResult<Project> {
    Ok(Project {
        id: get(row, "id")?,
        name: get(row, "name")?,
        created_at: get_time(row, "created_at")?,
    })
}

fn decode_api_key(row: &PgRow) -> BackendResult<ApiKey> {
    Ok(ApiKey {
        id: get(row, "id")?,
        project_id: get(row, "project_id")?,
        public_key: get(row, "public_key")?,
        secret_hash: get(row, "secret_hash")?,
        display_secret: get(row, "display_secret")?,
        created_at: get_time(row, "created_at")?,
    })
}

fn decode_model(row: &PgRow) -> BackendResult<ModelDefinition> {
    let prices: Value = get(row, "prices")?;
    let prices: BTreeMap<String, f64> = serde_json::from_value(prices)
        .map_err(|error| json_error("failed to decode column prices", error))?;
    Ok(ModelDefinition {
        id: get(row, "id")?,
        project_id: get(row, "project_id")?,
        model_name: get(row, "model_name")?,
        match_pattern: get(row, "match_pattern")?,
        start_date: get_optional_time(row, "start_date")?,
        prices,
        unit: get(row, "unit")?,
        tokenizer_id: get(row, "tokenizer_id")?,
        created_at: get_time(row, "created_at")?,
    })
}

#[async_trait]
impl MetaStore for PostgresMetaStore {
    async fn healthcheck(&self) -> BackendResult<()> {
        let newest_applied = applied_versions(&self.pool).await?.last().copied();
        let newest_known = META_MIGRATIONS.last().map(|migration| migration.version);
        if newest_applied != newest_known {
            return Err(corrupt(format!(
                "postgres meta schema is at version {newest_applied:?}, expected {newest_known:?}"
            )));
        }
        Ok(())
    }

    async fn upsert_project(&self, id: &str, name: &str) -> BackendResult<Project> {
        let context = format!("failed to upsert project {id}");
        sqlx::query(
            "INSERT INTO projects (id, name, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(name)
        .bind(micros(Utc::now()))
        .execute(&self.pool)
        .await
        .map_err(|error| db_error(&context, error))?;
        let row = sqlx::query("SELECT id, name, created_at FROM projects WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .map_err(|error| db_error(&context, error))?;
        decode_project(&row)
    }

    async fn list_projects(&self) -> BackendResult<Vec<Project>> {
        let rows = sqlx::query(
            "SELECT id, name, created_at FROM projects ORDER BY created_at, id COLLATE \"C\"",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|error| db_error("failed to list projects", error))?;
        rows.iter().map(decode_project).collect()
    }

    async fn get_project(&self, id: &str) -> BackendResult<Option<Project>> {
        let row = sqlx::query("SELECT id, name, created_at FROM projects WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|error| db_error("failed to read project", error))?;
        row.as_ref().map(decode_project).transpose()
    }

    async fn upsert_api_key(&self, key: &ApiKey) -> BackendResult<()> {
        // A conflict on the public key keeps the stored pair; one on the key id alone (another
        // public key) is a unique violation, reported as `AlreadyExists`.
        sqlx::query(
            "INSERT INTO api_keys \
                (public_key, id, project_id, secret_hash, display_secret, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (public_key) DO NOTHING",
        )
        .bind(key.public_key.as_str())
        .bind(key.id.as_str())
        .bind(key.project_id.as_str())
        .bind(key.secret_hash.as_str())
        .bind(key.display_secret.as_str())
        .bind(micros(key.created_at))
        .execute(&self.pool)
        .await
        .map_err(|error| db_error(&format!("failed to store api key {}", key.id), error))?;
        Ok(())
    }

    async fn find_api_key(&self, public_key: &str) -> BackendResult<Option<ApiKey>> {
        let row = sqlx::query(
            "SELECT public_key, id, project_id, secret_hash, display_secret, created_at \
             FROM api_keys WHERE public_key = $1",
        )
        .bind(public_key)
        .fetch_optional(&self.pool)
        .await
        .map_err(|error| db_error("failed to read api key", error))?;
        row.as_ref().map(decode_api_key).transpose()
    }

    async fn upsert_model(&self, model: &ModelDefinition) -> BackendResult<()> {
        let prices = serde_json::to_value(&model.prices)
            .map_err(|error| json_error("failed to encode model prices", error))?;
        // The `WHERE` keeps one project from overwriting another project's model by id.
        let result = sqlx::query(&format!(
            "INSERT INTO models ({MODEL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (id) DO UPDATE SET model_name = excluded.model_name, \
                match_pattern = excluded.match_pattern, start_date = excluded.start_date, \
                prices = excluded.prices, unit = excluded.unit, \
                tokenizer_id = excluded.tokenizer_id, created_at = excluded.created_at \
             WHERE models.project_id IS NOT DISTINCT FROM excluded.project_id"
        ))
        .bind(model.id.as_str())
        .bind(model.project_id.as_deref())
        .bind(model.model_name.as_str())
        .bind(model.match_pattern.as_str())
        .bind(optional_micros(model.start_date))
        .bind(prices)
        .bind(model.unit.as_str())
        .bind(model.tokenizer_id.as_deref())
        .bind(micros(model.created_at))
        .execute(&self.pool)
        .await
        .map_err(|error| db_error(&format!("failed to store model {}", model.id), error))?;
        if result.rows_affected() == 0 {
            return Err(BackendError::AlreadyExists {
                backend: BACKEND,
                what: format!("model {} of another project", model.id),
            });
        }
        Ok(())
    }

    async fn list_models(&self, project_id: &str) -> BackendResult<Vec<ModelDefinition>> {
        let rows = sqlx::query(&format!(
            "SELECT {MODEL_COLUMNS} FROM models WHERE project_id = $1 ORDER BY model_name COLLATE \"C\", id COLLATE \"C\""
        ))
        .bind(project_id)
        .fetch_all(&self.pool)
        .await
        .map_err(|error| db_error("failed to list models", error))?;
        rows.iter().map(decode_model).collect()
    }

    async fn delete_model(&self, project_id: &str, model_id: &str) -> BackendResult<bool> {
        let result = sqlx::query("DELETE FROM models WHERE project_id = $1 AND id = $2")
            .bind(project_id)
            .bind(model_id)
            .execute(&self.pool)
            .await
            .map_err(|error| db_error(&format!("failed to delete model {model_id}"), error))?;
        Ok(result.rows_affected() > 0)
    }
}
