//! Applying the numbered migrations of `schema.rs`.

use chrono::Utc;
use clickhouse::{Client, Row};
use periscope_core::error::BackendResult;
use serde::Serialize;
use tracing::info;

use super::connect::ch_error;
use super::schema::{CREATE_MIGRATIONS_TABLE, MIGRATIONS, with_retention};

#[derive(Debug, Row, Serialize)]
struct AppliedMigration<'a> {
    version: u32,
    name: &'a str,
    applied_at: i64,
}

/// Applies every migration not yet recorded. A migration is recorded only after all of its
/// statements succeeded, and its statements are idempotent, so an interrupted run is finished
/// by the next one.
pub(crate) async fn run(client: &Client, retention_seconds: u64) -> BackendResult<()> {
    client
        .query_raw(CREATE_MIGRATIONS_TABLE)
        .execute()
        .await
        .map_err(|error| ch_error("failed to create schema_migrations", error))?;
    let applied = applied_versions(client).await?;
    for migration in MIGRATIONS {
        if applied.contains(&migration.version) {
            continue;
        }
        for statement in migration.statements {
            client
                .query_raw(&with_retention(statement, retention_seconds))
                .execute()
                .await
                .map_err(|error| {
                    ch_error(&format!("migration {} failed", migration.version), error)
                })?;
        }
        let mut insert = client
            .insert::<AppliedMigration<'_>>("schema_migrations")
            .await
            .map_err(|error| ch_error("failed to record a migration", error))?;
        insert
            .write(&AppliedMigration {
                version: migration.version,
                name: migration.name,
                applied_at: Utc::now().timestamp_micros(),
            })
            .await
            .map_err(|error| ch_error("failed to record a migration", error))?;
        insert
            .end()
            .await
            .map_err(|error| ch_error("failed to record a migration", error))?;
        info!(
            version = migration.version,
            name = migration.name,
            "applied clickhouse migration"
        );
    }
    Ok(())
}

/// Returns the applied migration versions, oldest first.
pub(crate) async fn applied_versions(client: &Client) -> BackendResult<Vec<u32>> {
    client
        .query_raw("SELECT DISTINCT version FROM schema_migrations ORDER BY version")
        .fetch_all::<u32>()
        .await
        .map_err(|error| ch_error("failed to read schema_migrations", error))
}
