//! Applying the numbered migrations of `schema.rs`.

use std::time::Duration;

use chrono::Utc;
use clickhouse::{Client, Row};
use periscope_core::error::BackendResult;
use serde::Serialize;
use tracing::{info, warn};

use super::connect::ch_error;
use super::schema::{CREATE_MIGRATIONS_TABLE, LAYOUT_2, MIGRATIONS, Relayout, with_retention};

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
        for table in migration.relayouts {
            relayout_with_retries(client, table, retention_seconds).await?;
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

/// Runs [`relayout`] until it succeeds, at most a few times: processes starting together
/// migrate at once, and one may rename or drop a table between another's check and its
/// statement. Every attempt starts from what the table looks like now.
async fn relayout_with_retries(
    client: &Client,
    table: &Relayout,
    retention_seconds: u64,
) -> BackendResult<()> {
    const ATTEMPTS: u32 = 5;
    let mut attempt = 1;
    loop {
        match relayout(client, table, retention_seconds).await {
            Ok(()) => return Ok(()),
            Err(error) if attempt < ATTEMPTS => {
                warn!(table = table.table, attempt, %error, "rebuilding a table failed; retrying");
                tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    }
}

/// Rebuilds `relayout.table` in its new layout, keeping its rows. Each step checks what the
/// previous ones left, so a run killed anywhere is finished by the next one:
/// 1. an existing table without the new layout's comment is renamed to `{table}_previous`;
/// 2. the new table is created (if missing);
/// 3. the rows of `{table}_previous`, if it exists, are copied in and it is dropped.
///
/// A second copy (a rerun, or two processes migrating at once) only adds duplicate versions,
/// which reads and merges collapse; each process drops the old table only after its own copy
/// finished. Sinks of an older release must be stopped first: rows they write into the old
/// table after the copy would be dropped with it (docs/adr/0021).
async fn relayout(
    client: &Client,
    relayout: &Relayout,
    retention_seconds: u64,
) -> BackendResult<()> {
    let table = relayout.table;
    let previous = format!("{table}_previous");
    let comment = table_comment(client, table).await?;
    if comment
        .as_deref()
        .is_some_and(|comment| comment != LAYOUT_2)
    {
        execute(client, &format!("RENAME TABLE {table} TO {previous}")).await?;
    }
    execute(client, &with_retention(relayout.create, retention_seconds)).await?;
    if table_comment(client, &previous).await?.is_some() {
        let rows: u64 = client
            .query(&format!("SELECT count() FROM {previous}"))
            .fetch_one()
            .await
            .map_err(|error| ch_error(&format!("failed to count the rows of {previous}"), error))?;
        info!(table, rows, "copying rows into the table's new layout");
        execute(
            client,
            &format!("INSERT INTO {table} SELECT * FROM {previous}"),
        )
        .await?;
        execute(client, &format!("DROP TABLE IF EXISTS {previous}")).await?;
        info!(table, rows, "rebuilt the table in its new layout");
    }
    Ok(())
}

/// Returns the comment of `table` in the current database, or `None` when it does not exist.
async fn table_comment(client: &Client, table: &str) -> BackendResult<Option<String>> {
    client
        .query("SELECT comment FROM system.tables WHERE database = currentDatabase() AND name = ?")
        .bind(table)
        .fetch_optional::<String>()
        .await
        .map_err(|error| ch_error(&format!("failed to look up table {table}"), error))
}

async fn execute(client: &Client, statement: &str) -> BackendResult<()> {
    client
        .query_raw(statement)
        .execute()
        .await
        .map_err(|error| {
            let first_line = statement.lines().next().unwrap_or_default();
            ch_error(&format!("migration statement failed: {first_line}"), error)
        })
}

/// Returns the applied migration versions, oldest first.
pub(crate) async fn applied_versions(client: &Client) -> BackendResult<Vec<u32>> {
    client
        .query_raw("SELECT DISTINCT version FROM schema_migrations ORDER BY version")
        .fetch_all::<u32>()
        .await
        .map_err(|error| ch_error("failed to read schema_migrations", error))
}
