//! Opening SQLite databases (file, pragmas, pools) and mapping SQLite errors to
//! [`BackendError`].

use std::path::Path;
use std::time::Duration;

use periscope_core::error::{BackendError, BackendResult};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// Name of this backend in errors.
pub(crate) const BACKEND: &str = "sqlite";

/// How long a connection waits for a lock held by another connection or process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Primary SQLite result codes that mean "try again later".
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;
const SQLITE_IOERR: i64 = 10;
const SQLITE_FULL: i64 = 13;
/// Extended result codes of unique-key violations.
const SQLITE_CONSTRAINT_PRIMARYKEY: i64 = 1555;
const SQLITE_CONSTRAINT_UNIQUE: i64 = 2067;

/// How durable each commit is (`PRAGMA synchronous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    /// `NORMAL`: a power loss may lose the last commits, never corrupts.
    Normal,
    /// `FULL`: every commit survives a power loss.
    Full,
}

/// The connections of one database: writes are serialised through a single connection, so
/// writers never race for SQLite's one write lock, while WAL lets readers run beside them.
#[derive(Debug, Clone)]
pub(crate) struct Pools {
    pub(crate) writer: SqlitePool,
    pub(crate) reader: SqlitePool,
}

/// Opens (creating if needed) the database at `path` and its parent directories.
pub(crate) async fn open_pools(
    path: &Path,
    durability: Durability,
    max_readers: u32,
) -> BackendResult<Pools> {
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|source| BackendError::Io {
                backend: BACKEND,
                context: format!("failed to create directory {}", parent.display()),
                source,
            })?;
    }
    let synchronous = match durability {
        Durability::Normal => SqliteSynchronous::Normal,
        Durability::Full => SqliteSynchronous::Full,
    };
    let mut options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(synchronous)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true)
        .pragma("temp_store", "memory")
        // 32 MiB of page cache for the writer (negative = KiB); readers get less below, so
        // the caches of all pooled connections stay well inside the server's memory budget.
        .pragma("cache_size", "-32768");
    if durability == Durability::Normal {
        options = options.pragma("wal_autocheckpoint", "16384");
    }
    let context = format!("failed to open database {}", path.display());
    let writer = connect(
        SqlitePoolOptions::new().max_connections(1),
        options.clone(),
        &context,
    )
    .await?;
    let reader = connect(
        SqlitePoolOptions::new().max_connections(max_readers.max(1)),
        options.read_only(true).pragma("cache_size", "-8192"),
        &context,
    )
    .await?;
    Ok(Pools { writer, reader })
}

/// Opens a pool, retrying while the file is busy: two processes opening a new database at once
/// race to switch it to WAL, and SQLite answers the loser "database is locked" at once, without
/// waiting out the busy timeout.
async fn connect(
    pool: SqlitePoolOptions,
    options: SqliteConnectOptions,
    context: &str,
) -> BackendResult<SqlitePool> {
    const ATTEMPTS: u32 = 20;
    let mut attempt = 1;
    loop {
        match pool.clone().connect_with(options.clone()).await {
            Ok(pool) => return Ok(pool),
            Err(error) => match db_error(context, error) {
                BackendError::Unavailable { .. } if attempt < ATTEMPTS => {
                    tokio::time::sleep(Duration::from_millis(25 * u64::from(attempt))).await;
                    attempt += 1;
                }
                error => return Err(error),
            },
        }
    }
}

/// Runs a trivial query on both pools.
pub(crate) async fn ping(pools: &Pools) -> BackendResult<()> {
    for pool in [&pools.writer, &pools.reader] {
        sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .map_err(|error| db_error("healthcheck query failed", error))?;
    }
    Ok(())
}

/// Maps a sqlx error to a [`BackendError`], classifying what a retry can fix.
pub(crate) fn db_error(context: &str, error: sqlx::Error) -> BackendError {
    match error {
        sqlx::Error::Database(database_error) => {
            let code = database_error
                .code()
                .and_then(|code| code.parse::<i64>().ok());
            let message = format!("{context}: {database_error}");
            match code {
                Some(SQLITE_CONSTRAINT_PRIMARYKEY | SQLITE_CONSTRAINT_UNIQUE) => {
                    BackendError::AlreadyExists {
                        backend: BACKEND,
                        what: message,
                    }
                }
                Some(code)
                    if matches!(
                        code & 0xff,
                        SQLITE_BUSY | SQLITE_LOCKED | SQLITE_IOERR | SQLITE_FULL
                    ) =>
                {
                    BackendError::Unavailable {
                        backend: BACKEND,
                        message,
                    }
                }
                _ => BackendError::Other {
                    backend: BACKEND,
                    context: context.to_owned(),
                    source: Box::new(sqlx::Error::Database(database_error)),
                },
            }
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
            BackendError::Unavailable {
                backend: BACKEND,
                message: format!("{context}: {error}"),
            }
        }
        sqlx::Error::Io(source) => BackendError::Io {
            backend: BACKEND,
            context: context.to_owned(),
            source,
        },
        other => BackendError::Other {
            backend: BACKEND,
            context: context.to_owned(),
            source: Box::new(other),
        },
    }
}

/// Maps a JSON error on a stored body: the row is unreadable, which no retry fixes.
pub(crate) fn body_error(context: &str, error: serde_json::Error) -> BackendError {
    BackendError::Other {
        backend: BACKEND,
        context: context.to_owned(),
        source: Box::new(error),
    }
}

/// Returns an error for an impossible stored value (a corrupt or foreign database).
pub(crate) fn corrupt(message: String) -> BackendError {
    BackendError::Invalid {
        backend: BACKEND,
        message,
    }
}
