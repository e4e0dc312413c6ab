//! `ApiKeyAdmin` for [`SqliteMetaStore`]: listing, creating and revoking the `api_keys` rows
//! that `MetaStore::find_api_key` authenticates against (notes: migration 6).

use async_trait::async_trait;
use periscope_core::error::BackendResult;
use periscope_core::meta::ApiKey;
use periscope_core::sharing::api_keys::{ApiKeyAdmin, ApiKeyEntry};
use sqlx::sqlite::SqliteRow;

use super::SqliteMetaStore;
use super::columns::{get, get_time, micros};
use super::connect::db_error;

const COLUMNS: &str = "public_key, id, project_id, secret_hash, display_secret, created_at, note";

fn decode(row: &SqliteRow) -> BackendResult<ApiKeyEntry> {
    Ok(ApiKeyEntry {
        key: decode_key(row)?,
        note: get(row, "note")?,
    })
}

fn decode_key(row: &SqliteRow) -> BackendResult<ApiKey> {
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
impl ApiKeyAdmin for SqliteMetaStore {
    async fn list_api_keys(&self, project_id: &str) -> BackendResult<Vec<ApiKeyEntry>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM api_keys WHERE project_id = ? ORDER BY created_at, id"
        ))
        .bind(project_id)
        .fetch_all(&self.pools.reader)
        .await
        .map_err(|error| db_error("failed to list api keys", error))?;
        rows.iter().map(decode).collect()
    }

    async fn create_api_key(&self, entry: &ApiKeyEntry) -> BackendResult<()> {
        let key = &entry.key;
        sqlx::query(&format!(
            "INSERT INTO api_keys ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(&key.public_key)
        .bind(&key.id)
        .bind(&key.project_id)
        .bind(&key.secret_hash)
        .bind(&key.display_secret)
        .bind(micros(key.created_at))
        .bind(&entry.note)
        .execute(&self.pools.writer)
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
            "DELETE FROM api_keys WHERE project_id = ? AND id = ? RETURNING {COLUMNS}"
        ))
        .bind(project_id)
        .bind(key_id)
        .fetch_optional(&self.pools.writer)
        .await
        .map_err(|error| db_error("failed to revoke api key", error))?;
        row.as_ref().map(decode_key).transpose()
    }

    async fn revoke_public_key(&self, public_key: &str) -> BackendResult<Option<ApiKey>> {
        let row = sqlx::query(&format!(
            "DELETE FROM api_keys WHERE public_key = ? RETURNING {COLUMNS}"
        ))
        .bind(public_key)
        .fetch_optional(&self.pools.writer)
        .await
        .map_err(|error| db_error("failed to revoke api key", error))?;
        row.as_ref().map(decode_key).transpose()
    }
}
