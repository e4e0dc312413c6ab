//! A tiny migration runner: numbered migrations, each applied in its own transaction and
//! recorded in `schema_migrations`, so a crash mid-migration leaves nothing half-applied and
//! reopening a database applies exactly the missing ones.

use chrono::Utc;
use periscope_core::error::BackendResult;
use sqlx::{Row, SqlitePool};

use super::connect::{corrupt, db_error};

/// One schema change.
#[derive(Debug)]
pub(crate) struct Migration {
    /// Strictly increasing, starting at 1; never renumbered once released.
    pub(crate) version: i64,
    pub(crate) name: &'static str,
    /// Executed in order inside one transaction.
    pub(crate) statements: &'static [&'static str],
}

/// Applies every migration of `migrations` that `pool`'s database lacks.
pub(crate) async fn run(pool: &SqlitePool, migrations: &[Migration]) -> BackendResult<()> {
    debug_assert!(
        migrations
            .windows(2)
            .all(|pair| pair[0].version < pair[1].version)
    );
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at INTEGER NOT NULL
        ) STRICT",
    )
    .execute(pool)
    .await
    .map_err(|error| db_error("failed to create table schema_migrations", error))?;

    let newest_applied: Option<i64> = sqlx::query("SELECT MAX(version) FROM schema_migrations")
        .fetch_one(pool)
        .await
        .and_then(|row| row.try_get(0))
        .map_err(|error| db_error("failed to read schema_migrations", error))?;
    let newest_known = migrations.last().map_or(0, |migration| migration.version);
    if let Some(applied) = newest_applied.filter(|applied| *applied > newest_known) {
        return Err(corrupt(format!(
            "database schema version {applied} is newer than this build knows ({newest_known})"
        )));
    }

    for migration in migrations {
        apply(pool, migration).await?;
    }
    Ok(())
}

async fn apply(pool: &SqlitePool, migration: &Migration) -> BackendResult<()> {
    let context = format!(
        "failed to apply migration {} ({})",
        migration.version, migration.name
    );
    // IMMEDIATE takes the write lock up front, so two processes opening the same file cannot
    // both decide that a migration is missing.
    let mut transaction = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(|error| db_error(&context, error))?;
    let already_applied = sqlx::query("SELECT 1 FROM schema_migrations WHERE version = ?")
        .bind(migration.version)
        .fetch_optional(&mut *transaction)
        .await
        .map_err(|error| db_error(&context, error))?
        .is_some();
    if already_applied {
        return transaction
            .commit()
            .await
            .map_err(|error| db_error(&context, error));
    }
    for statement in migration.statements {
        sqlx::query(statement)
            .execute(&mut *transaction)
            .await
            .map_err(|error| db_error(&context, error))?;
    }
    sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
        .bind(migration.version)
        .bind(migration.name)
        .bind(Utc::now().timestamp_micros())
        .execute(&mut *transaction)
        .await
        .map_err(|error| db_error(&context, error))?;
    transaction
        .commit()
        .await
        .map_err(|error| db_error(&context, error))?;
    tracing::info!(
        version = migration.version,
        name = migration.name,
        "applied sqlite migration"
    );
    Ok(())
}

/// Returns the versions recorded in `schema_migrations`, in order.
pub(crate) async fn applied_versions(pool: &SqlitePool) -> BackendResult<Vec<i64>> {
    let rows = sqlx::query("SELECT version FROM schema_migrations ORDER BY version")
        .fetch_all(pool)
        .await
        .map_err(|error| db_error("failed to read schema_migrations", error))?;
    rows.iter()
        .map(|row| {
            row.try_get(0)
                .map_err(|error| db_error("failed to read version", error))
        })
        .collect()
}
