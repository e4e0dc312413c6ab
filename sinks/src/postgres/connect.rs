//! Opening the Postgres pool, mapping Postgres errors to [`BackendError`], the column helpers
//! shared by the stores, and the advisory locks that serialise read-decide-write transactions.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use periscope_core::config::PostgresConfig;
use periscope_core::error::{BackendError, BackendResult};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgConnection, PgPool, Row};

/// Name of this backend in errors.
pub(crate) const BACKEND: &str = "postgres";

/// How long a caller waits for a free pooled connection before the store reports itself
/// unavailable (pushback instead of an unbounded queue). Short, because a request that needs
/// Postgres (key verification) should fail fast with 503 while Postgres is down.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// Opens a pool of at most `config.max_connections` connections to `config.url`.
pub(crate) async fn open_pool(config: &PostgresConfig) -> BackendResult<PgPool> {
    if config.url.trim().is_empty() {
        return Err(BackendError::Invalid {
            backend: BACKEND,
            message: "postgres.url is empty; set PERISCOPE__POSTGRES__URL (e.g. \
                      postgres://periscope@127.0.0.1:5432/periscope)"
                .to_owned(),
        });
    }
    let options = PgConnectOptions::from_str(&config.url)
        .map_err(|error| BackendError::Invalid {
            backend: BACKEND,
            // The error never echoes the password: sqlx reports only what failed to parse.
            message: format!("postgres.url is not a valid Postgres URL: {error}"),
        })?
        .application_name("periscope");
    PgPoolOptions::new()
        .max_connections(config.max_connections.max(1))
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(|error| db_error("failed to connect to postgres", error))
}

/// Maps a sqlx error to a [`BackendError`], classifying what a retry can fix by SQLSTATE.
pub(crate) fn db_error(context: &str, error: sqlx::Error) -> BackendError {
    match error {
        sqlx::Error::Database(database_error) => {
            let code = database_error.code().map(|code| code.into_owned());
            let message = format!("{context}: {database_error}");
            match code.as_deref() {
                Some("23505") => BackendError::AlreadyExists {
                    backend: BACKEND,
                    what: message,
                },
                // Connection trouble, serialization failures, deadlocks, lock timeouts,
                // insufficient resources and a server shutting down: a retry may succeed.
                Some(code)
                    if code.starts_with("08")
                        || code.starts_with("53")
                        || code.starts_with("57P")
                        || matches!(code, "40001" | "40P01" | "55P03") =>
                {
                    BackendError::Unavailable {
                        backend: BACKEND,
                        message,
                    }
                }
                // Bad data or a violated constraint: the same request fails again.
                Some(code) if code.starts_with("22") || code.starts_with("23") => {
                    BackendError::Invalid {
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

/// Returns an error for an impossible stored value (a corrupt or foreign database).
pub(crate) fn corrupt(message: String) -> BackendError {
    BackendError::Invalid {
        backend: BACKEND,
        message,
    }
}

/// Maps a JSON error on a stored value: the row is unreadable, which no retry fixes.
pub(crate) fn json_error(context: &str, error: serde_json::Error) -> BackendError {
    BackendError::Other {
        backend: BACKEND,
        context: context.to_owned(),
        source: Box::new(error),
    }
}

/// Returns a time as stored: unix microseconds (the precision of both meta stores).
pub(crate) fn micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

/// Returns an optional time as stored.
pub(crate) fn optional_micros(time: Option<DateTime<Utc>>) -> Option<i64> {
    time.map(micros)
}

/// Returns `time` at the precision it is stored with, so a created object equals its re-read.
pub(crate) fn stored_precision(time: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros(time)).unwrap_or(time)
}

fn from_micros(value: i64, column: &str) -> BackendResult<DateTime<Utc>> {
    DateTime::from_timestamp_micros(value).ok_or_else(|| {
        corrupt(format!(
            "column {column} holds an out-of-range time {value}"
        ))
    })
}

/// Reads one column, naming it in the error.
pub(crate) fn get<'r, T>(row: &'r PgRow, column: &str) -> BackendResult<T>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(column)
        .map_err(|error| db_error(&format!("failed to read column {column}"), error))
}

/// Reads a required time column.
pub(crate) fn get_time(row: &PgRow, column: &str) -> BackendResult<DateTime<Utc>> {
    from_micros(get(row, column)?, column)
}

/// Reads an optional time column.
pub(crate) fn get_optional_time(row: &PgRow, column: &str) -> BackendResult<Option<DateTime<Utc>>> {
    let value: Option<i64> = get(row, column)?;
    value.map(|value| from_micros(value, column)).transpose()
}

/// Returns a page size or offset as a SQL integer.
pub(crate) fn sql_integer(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// What a transaction-scoped advisory lock protects. The class is the first key of the
/// two-key lock form, whose key space is separate from the one-key migration lock.
#[derive(Debug, Clone, Copy)]
pub(crate) enum LockClass {
    PromptName = 1,
    DatasetName = 2,
    DatasetItem = 3,
    DatasetRun = 4,
    DatasetRunItem = 5,
    EvalTemplate = 6,
}

/// Returns the 32-bit FNV-1a hash of `parts`, each followed by a 0xff byte (which never occurs
/// in UTF-8), so `("ab", "c")` and `("a", "bc")` differ. A collision only makes two unrelated
/// writers wait for each other.
fn lock_key(parts: &[&str]) -> i32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in parts
        .iter()
        .flat_map(|part| part.bytes().chain(std::iter::once(0xff)))
    {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    i32::from_ne_bytes(hash.to_ne_bytes())
}

/// Takes the advisory lock of one logical key until the open transaction ends, so concurrent
/// read-decide-write transactions on that key (from any process) run one after the other,
/// as SQLite's `BEGIN IMMEDIATE` makes them.
pub(crate) async fn lock_for_transaction(
    connection: &mut PgConnection,
    class: LockClass,
    parts: &[&str],
    context: &str,
) -> BackendResult<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
        .bind(class as i32)
        .bind(lock_key(parts))
        .execute(&mut *connection)
        .await
        .map_err(|error| db_error(context, error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_separate_their_parts_and_are_stable() {
        assert_ne!(lock_key(&["ab", "c"]), lock_key(&["a", "bc"]));
        assert_eq!(lock_key(&["p", "qa"]), lock_key(&["p", "qa"]));
        // FNV-1a of the empty input is its offset basis.
        assert_eq!(
            lock_key(&[]),
            i32::from_ne_bytes(0x811c_9dc5_u32.to_ne_bytes())
        );
    }

    #[test]
    fn stored_times_keep_microseconds() {
        let time = DateTime::from_timestamp(1_795_000_000, 123_456_789).unwrap();
        assert_eq!(micros(stored_precision(time)), 1_795_000_000_123_456);
        assert!(from_micros(i64::MAX, "t").is_err());
    }
}
