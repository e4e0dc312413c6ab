//! `ApiKeyAdmin` for [`PostgresMetaStore`]: listing, creating and revoking the `api_keys` rows
//! that `MetaStore::find_api_key` authenticates against (notes: migration 6).

use async_trait::async_trait;
use periscope_core::error::BackendResult;
use periscope_core::meta::ApiKey;
use periscope_core::sharing::api_keys::{ApiKeyAdmin, ApiKeyEntry};
use sqlx::postgres::PgRow;

use super::PostgresMetaStore;
use super::connect::{db_error, get, get_time, micros};

const COLUMNS: &str = "public_key, id, project_id, secret_hash, display_secret, created_at, note";

fn decode(row: &PgRow) -> BackendResult<ApiKeyEntry> {
    Ok(ApiKeyEntry {
        key: decode_key(row)?,
        note: get(row, "note")?,
    })
}

fn decode_key(row: &PgRow) -> BackendResult<ApiKey> {
    Ok(ApiKey {
        id: get(row, "id")?,
        project_id: get(row, "project_id")?,
        public_key: get(row, "public_key")?,
        secret_hash: get(row, "secret_hash")?,
        display_secret: get(row, "display_secret")?,
        created_at: get_time(row, "created_at")?,
    })
}

#[async_trait]
impl ApiKeyAdmin for PostgresMetaStore {
    async fn list_api_keys(&self, project_id: &str) -> BackendResult<Vec<ApiKeyEntry>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM api_keys WHERE project_id = $1 \
             ORDER BY created_at, id COLLATE \"C\""
        ))
        .bind(project_id)
        .fetch_all(&self.pool)
        .await
        .map_err(|error| db_error("failed to list api keys", error))?;
        rows.iter().map(decode).collect()
    }

    async fn create_api_key(&self, entry: &ApiKeyEntry) -> BackendResult<()> {
        let key = &entry.key;
        sqlx::query(&format!(
            "INSERT INTO api_keys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ))
        .bind(&key.public_key)
        .bind(&key.id)
        .bind(&key.project_id)
        .bind(&key.secret_hash)
        .bind(&key.display_secret)
        .bind(micros(key.created_at))
        .bind(&entry.note)
        .execute(&self.pool)
        .await
        .map_err(|error| db_error("failed to create api key", error))?;
        Ok(())
    }

    async fn revoke_api_key(
        &self,
        project_id: &str,
        key_id: &str,
    ) -> BackendResult<Option<ApiKey>> {
        let row = sqlx::query(&format!(
            "DELETE FROM api_keys WHERE project_id = $1 AND id = $2 RETURNING {COLUMNS}"
        ))
        .bind(project_id)
        .bind(key_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|error| db_error("failed to revoke api key", error))?;
        row.as_ref().map(decode_key).transpose()
    }

    async fn revoke_public_key(&self, public_key: &str) -> BackendResult<Option<ApiKey>> {
        let row = sqlx::query(&format!(
            "DELETE FROM api_keys WHERE public_key = $1 RETURNING {COLUMNS}"
        ))
        .bind(public_key)
        .fetch_optional(&self.pool)
        .await
        .map_err(|error| db_error("failed to revoke api key", error))?;
        row.as_ref().map(decode_key).transpose()
    }
}
