//! The migration runner of the Postgres meta store (docs/adr/0010-postgres-migrations.md).
//!
//! Each migration runs in ONE transaction that first takes a cluster-wide advisory lock
//! (`pg_advisory_xact_lock`), then checks `periscope_migrations`, runs the migration's
//! statements and records its row. Postgres DDL is transactional, so a process killed at any
//! point leaves either the whole migration with its row or nothing at all; the lock ends with
//! the transaction (or the dead session), so concurrent starters simply run one after the
//! other and the later ones find the work done. There is no "dirty" state to repair by hand.
//! Statements are written idempotently as well (`IF NOT EXISTS`), so a schema object that
//! exists without its row (created by hand, or by an older build) does not stop a rerun.

use periscope_core::error::BackendResult;
use sqlx::{PgConnection, PgPool, Row};

use super::connect::{corrupt, db_error};

/// The key of the advisory lock every migration transaction holds ("periscop" in ASCII).
/// The stores' row locks use the two-key form, whose key space is separate.
const MIGRATION_LOCK_KEY: i64 = 0x7065_7269_7363_6f70;

/// One schema change.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Strictly increasing, starting at 1; never renumbered once released.
    pub version: i64,
    /// What the migration does, recorded beside its version.
    pub name: &'static str,
    /// Executed in order inside one transaction; each must be idempotent.
    pub statements: &'static [&'static str],
}

/// Applies every migration of `migrations` that the database lacks, one transaction each.
///
/// Fails when the database records a version newer than the newest of `migrations` (a newer
/// build migrated it; this one must not write to it).
pub async fn run_migrations(pool: &PgPool, migrations: &[Migration]) -> BackendResult<()> {
    debug_assert!(
        migrations
            .windows(2)
            .all(|pair| pair[0].version < pair[1].version)
    );
    let newest_known = migrations.last().map_or(0, |migration| migration.version);
    for migration in migrations {
        apply(pool, migration, newest_known).await?;
    }
    Ok(())
}

/// Takes the migration lock and creates the bookkeeping table inside the open transaction.
async fn lock_and_prepare(connection: &mut PgConnection, context: &str) -> BackendResult<()> {
    // Under the lock, so two starters never race on creating the table either (a concurrent
    // `CREATE TABLE IF NOT EXISTS` can fail on the catalog's unique index).
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK_KEY)
        .execute(&mut *connection)
        .await
        .map_err(|error| db_error(context, error))?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS periscope_migrations (
            version BIGINT PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )",
    )
    .execute(&mut *connection)
    .await
    .map_err(|error| db_error(context, error))?;
    Ok(())
}

async fn apply(pool: &PgPool, migration: &Migration, newest_known: i64) -> BackendResult<()> {
    let context = format!(
        "failed to apply migration {} ({})",
        migration.version, migration.name
    );
    let mut transaction = pool
        .begin()
        .await
        .map_err(|error| db_error(&context, error))?;
    lock_and_prepare(&mut transaction, &context).await?;
    let newest_applied: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM periscope_migrations")
            .fetch_one(&mut *transaction)
            .await
            .map_err(|error| db_error(&context, error))?;
    if let Some(applied) = newest_applied.filter(|applied| *applied > newest_known) {
        return Err(corrupt(format!(
            "postgres schema version {applied} is newer than this build knows ({newest_known}); \
             run a build at least as new as the one that migrated the database"
        )));
    }
    let already_applied = sqlx::query("SELECT 1 FROM periscope_migrations WHERE version = $1")
        .bind(migration.version)
        .fetch_optional(&mut *transaction)
        .await
        .map_err(|error| db_error(&context, error))?
        .is_some();
    if already_applied {
        // Nothing was written; ending the transaction releases the lock.
        return transaction
            .rollback()
            .await
            .map_err(|error| db_error(&context, error));
    }
    for statement in migration.statements {
        sqlx::query(statement)
            .execute(&mut *transaction)
            .await
            .map_err(|error| db_error(&context, error))?;
    }
    sqlx::query("INSERT INTO periscope_migrations (version, name) VALUES ($1, $2)")
        .bind(migration.version)
        .bind(migration.name)
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
        "applied postgres migration"
    );
    Ok(())
}

/// Returns the versions recorded in `periscope_migrations`, in order (empty before the first
/// migration).
pub async fn applied_versions(pool: &PgPool) -> BackendResult<Vec<i64>> {
    let context = "failed to read periscope_migrations";
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('periscope_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await
        .map_err(|error| db_error(context, error))?;
    if !exists {
        return Ok(Vec::new());
    }
    let rows = sqlx::query("SELECT version FROM periscope_migrations ORDER BY version")
        .fetch_all(pool)
        .await
        .map_err(|error| db_error(context, error))?;
    rows.iter()
        .map(|row| row.try_get(0).map_err(|error| db_error(context, error)))
        .collect()
}
