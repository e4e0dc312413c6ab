//! `ShareStore` for [`SqliteMetaStore`]: the `shares` table of migration 6.
//!
//! Only public record flags create rows (a `false` flag just updates an existing row), so the
//! table holds shared objects and toggled ones, not every trace.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use periscope_core::error::BackendResult;
use periscope_core::sharing::{
    RecordShareFlag, ShareObjectType, ShareResolution, ShareState, ShareStore,
};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::SqliteMetaStore;
use super::columns::{get, micros};
use super::connect::db_error;

fn decode_state(row: &SqliteRow) -> BackendResult<ShareState> {
    let toggle: Option<i64> = get(row, "toggle")?;
    let record_flag: i64 = get(row, "record_flag")?;
    Ok(ShareState {
        toggle: toggle.map(|toggle| toggle != 0),
        record_flag: record_flag != 0,
    })
}

#[async_trait]
impl ShareStore for SqliteMetaStore {
    async fn set_public(
        &self,
        project_id: &str,
        object_type: ShareObjectType,
        object_id: &str,
        public: bool,
        now: DateTime<Utc>,
    ) -> BackendResult<()> {
        sqlx::query(
            "INSERT INTO shares \
                (project_id, object_type, object_id, toggle, record_flag, updated_at) \
             VALUES (?, ?, ?, ?, 0, ?) \
             ON CONFLICT (project_id, object_type, object_id) \
             DO UPDATE SET toggle = excluded.toggle, updated_at = excluded.updated_at",
        )
        .bind(project_id)
        .bind(object_type.as_str())
        .bind(object_id)
        .bind(i64::from(public))
        .bind(micros(now))
        .execute(&self.pools.writer)
        .await
        .map_err(|error| db_error("failed to store share toggle", error))?;
        Ok(())
    }

    async fn record_public_flags(
        &self,
        flags: &[RecordShareFlag],
        now: DateTime<Utc>,
    ) -> BackendResult<()> {
        let context = "failed to store record share flags";
        let mut transaction = self
            .pools
            .writer
            .begin()
            .await
            .map_err(|error| db_error(context, error))?;
        for flag in flags {
            let statement = if flag.public {
                "INSERT INTO shares \
                    (project_id, object_type, object_id, toggle, record_flag, updated_at) \
                 VALUES (?, ?, ?, NULL, 1, ?) \
                 ON CONFLICT (project_id, object_type, object_id) \
                 DO UPDATE SET record_flag = 1, updated_at = excluded.updated_at"
            } else {
                "UPDATE shares SET record_flag = 0, updated_at = ?4 \
                 WHERE project_id = ?1 AND object_type = ?2 AND object_id = ?3"
            };
            sqlx::query(statement)
                .bind(&flag.project_id)
                .bind(ShareObjectType::Trace.as_str())
                .bind(&flag.trace_id)
                .bind(micros(now))
                .execute(&mut *transaction)
                .await
                .map_err(|error| db_error(context, error))?;
        }
        transaction
            .commit()
            .await
            .map_err(|error| db_error(context, error))
    }

    async fn share_state(
        &self,
        project_id: &str,
        object_type: ShareObjectType,
        object_id: &str,
    ) -> BackendResult<Option<ShareState>> {
        let row = sqlx::query(
            "SELECT toggle, record_flag FROM shares \
             WHERE project_id = ? AND object_type = ? AND object_id = ?",
        )
        .bind(project_id)
        .bind(object_type.as_str())
        .bind(object_id)
        .fetch_optional(&self.pools.reader)
        .await
        .map_err(|error| db_error("failed to read share state", error))?;
        row.as_ref().map(decode_state).transpose()
    }

    async fn resolve(
        &self,
        object_type: ShareObjectType,
        object_id: &str,
    ) -> BackendResult<ShareResolution> {
        let rows = sqlx::query(
            "SELECT project_id, toggle, record_flag FROM shares \
             WHERE object_type = ? AND object_id = ? LIMIT 16",
        )
        .bind(object_type.as_str())
        .bind(object_id)
        .fetch_all(&self.pools.reader)
        .await
        .map_err(|error| db_error("failed to resolve share", error))?;
        if rows.is_empty() {
            return Ok(ShareResolution::Unknown);
        }
        let mut public = Vec::new();
        for row in &rows {
            if decode_state(row)?.is_public() {
                public.push(
                    row.try_get::<String, _>("project_id")
                        .map_err(|error| db_error("failed to read column project_id", error))?,
                );
            }
        }
        match <[String; 1]>::try_from(public) {
            Ok([project_id]) => Ok(ShareResolution::Public { project_id }),
            Err(public) => {
                if public.len() > 1 {
                    // Ids are chosen by clients, so two projects may share one; serving either
                    // would be a guess, and a guess could show the wrong project's data.
                    tracing::warn!(
                        object_type = object_type.as_str(),
                        projects = public.len(),
                        "several projects share the same object id; refusing to serve it"
                    );
                }
                Ok(ShareResolution::NotPublic)
            }
        }
    }
}
