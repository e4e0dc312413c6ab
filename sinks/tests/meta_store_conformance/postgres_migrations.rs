//! The Postgres migration runner: a migration killed half-way leaves nothing behind and the
//! next start finishes it; concurrent starts serialise; objects that exist without their
//! bookkeeping row do not stop a migration; a database from a newer build is refused.

use std::time::Duration;

use periscope_core::config::PostgresConfig;
use periscope_core::error::BackendError;
use periscope_core::meta::MetaStore;
use periscope_sinks::PostgresMetaStore;
use periscope_sinks::postgres::META_MIGRATIONS;
use periscope_sinks::postgres::migrate::{Migration, run_migrations};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection};

use crate::backends::TestDatabase;

/// The statement the test hook inserts into a migration to hold it open.
const PAUSE: &str = "SELECT pg_sleep(60) /* periscope test pause */";

/// Returns the real migrations with [`PAUSE`] after the first statement of `version`.
fn migrations_pausing_in(version: i64) -> Vec<Migration> {
    META_MIGRATIONS
        .iter()
        .map(|migration| {
            if migration.version != version {
                return *migration;
            }
            let mut statements = migration.statements.to_vec();
            statements.insert(1, PAUSE);
            Migration {
                statements: Box::leak(statements.into_boxed_slice()),
                ..*migration
            }
        })
        .collect()
}

/// Returns the version of every migration this build knows.
fn all_versions() -> Vec<i64> {
    META_MIGRATIONS
        .iter()
        .map(|migration| migration.version)
        .collect()
}

/// Returns every table column, constraint and index of the public schema, one line each.
async fn schema_of(connection: &mut PgConnection) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT line FROM (
            SELECT format('column %s.%s %s nullable=%s default=%s', table_name, column_name,
                data_type, is_nullable, column_default) AS line
            FROM information_schema.columns WHERE table_schema = 'public'
            UNION ALL
            SELECT format('constraint %s %s %s', conrelid::regclass, conname,
                pg_get_constraintdef(oid))
            FROM pg_constraint WHERE connamespace = 'public'::regnamespace
            UNION ALL
            SELECT format('index %s', indexdef) FROM pg_indexes WHERE schemaname = 'public'
        ) lines ORDER BY line",
    )
    .fetch_all(connection)
    .await
    .unwrap()
}

async fn table_exists(connection: &mut PgConnection, table: &str) -> bool {
    sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(table)
        .fetch_one(connection)
        .await
        .unwrap()
}

async fn recorded_versions(connection: &mut PgConnection) -> Vec<i64> {
    sqlx::query_scalar("SELECT version FROM periscope_migrations ORDER BY version")
        .fetch_all(connection)
        .await
        .unwrap()
}

/// Polls `query` (one `$1` = the database name) every 50 ms until it returns a row, for at
/// most 15 s, and returns that row's value.
async fn poll_for(database: &TestDatabase, query: &str, what: &str) -> i32 {
    let mut observer = database.connection().await;
    for _ in 0..300 {
        let found: Option<i32> = sqlx::query_scalar(query)
            .bind(&database.name)
            .fetch_optional(&mut observer)
            .await
            .unwrap();
        if let Some(found) = found {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Waits until a backend of `database` sleeps in the pause statement and returns its pid.
/// While it sleeps, the migration holds its transaction and the advisory lock, and the
/// statements before the pause have run inside that transaction.
async fn wait_for_pause(database: &TestDatabase) -> i32 {
    let query = format!(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND state = 'active' \
         AND query = '{PAUSE}'"
    );
    poll_for(database, &query, "the migration to reach its pause").await
}

/// Waits until another backend of `database` waits for an advisory lock.
async fn wait_for_lock_waiter(database: &TestDatabase) {
    let query = "SELECT a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
        WHERE a.datname = $1 AND l.locktype = 'advisory' AND NOT l.granted LIMIT 1";
    poll_for(database, query, "a start to wait for the migration lock").await;
}

/// Ends the session `pid`, as a crash or `kill -9` of the migrating process would.
async fn terminate(database: &TestDatabase, pid: i32) {
    let terminated: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&mut database.connection().await)
        .await
        .unwrap();
    assert!(terminated);
}

/// Waits for the pause and kills the migration there.
async fn terminate_paused_migration(database: &TestDatabase) {
    let pid = wait_for_pause(database).await;
    terminate(database, pid).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_killed_midway_leaves_nothing_and_the_next_start_finishes_it() {
    let reference = TestDatabase::create().await;
    drop(PostgresMetaStore::connect(&reference.config).await.unwrap());
    let expected_schema = schema_of(&mut reference.connection().await).await;

    let database = TestDatabase::create().await;
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(&database.config.url)
        .await
        .unwrap();
    let pausing = migrations_pausing_in(3);
    let (migrated, ()) = tokio::join!(
        run_migrations(&pool, &pausing),
        terminate_paused_migration(&database)
    );
    assert!(migrated.is_err(), "the killed migration must fail");
    pool.close().await;

    // Migrations 1 and 2 committed; nothing of migration 3 is left, although its first
    // statement (`CREATE TABLE prompt_names`) had run.
    let mut connection = database.connection().await;
    assert_eq!(recorded_versions(&mut connection).await, [1, 2]);
    assert!(table_exists(&mut connection, "models").await);
    assert!(!table_exists(&mut connection, "prompt_names").await);
    assert!(!table_exists(&mut connection, "prompts").await);

    // The next start applies the rest: no dirty flag, no manual step.
    let store = PostgresMetaStore::connect(&database.config).await.unwrap();
    store.healthcheck().await.unwrap();
    assert_eq!(store.schema_versions().await.unwrap(), all_versions());
    assert_eq!(schema_of(&mut connection).await, expected_schema);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_waits_for_a_running_migration_and_then_finishes_it() {
    let database = TestDatabase::create().await;
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(&database.config.url)
        .await
        .unwrap();
    let pausing = migrations_pausing_in(4);
    let (paused_sender, paused) = tokio::sync::oneshot::channel();
    let killer = async {
        let pid = wait_for_pause(&database).await;
        paused_sender.send(()).unwrap();
        // Kill the first migrator only once the second start queues behind its lock.
        wait_for_lock_waiter(&database).await;
        terminate(&database, pid).await;
    };
    let second_start = async {
        paused.await.unwrap();
        PostgresMetaStore::connect(&database.config).await
    };
    let (migrated, (), started) =
        tokio::join!(run_migrations(&pool, &pausing), killer, second_start);
    assert!(migrated.is_err());
    let store = started.unwrap();
    assert_eq!(store.schema_versions().await.unwrap(), all_versions());
    store.healthcheck().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_starts_all_succeed() {
    let database = TestDatabase::create().await;
    let starts = (0..4).map(|_| PostgresMetaStore::connect(&database.config));
    for store in futures::future::join_all(starts).await {
        let store = store.unwrap();
        assert_eq!(store.schema_versions().await.unwrap(), all_versions());
        store.healthcheck().await.unwrap();
    }
    let mut connection = database.connection().await;
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM periscope_migrations")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert_eq!(
        rows,
        META_MIGRATIONS.len() as i64,
        "each migration is recorded once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_that_exist_without_their_row_do_not_stop_a_migration() {
    let database = TestDatabase::create().await;
    let mut connection = database.connection().await;
    // As if an operator (or an older build) had created part of migration 1 by hand.
    for statement in &META_MIGRATIONS[0].statements[..2] {
        sqlx::raw_sql(statement)
            .execute(&mut connection)
            .await
            .unwrap();
    }
    let store = PostgresMetaStore::connect(&database.config).await.unwrap();
    assert_eq!(store.schema_versions().await.unwrap(), all_versions());
    store.upsert_project("p", "Production").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_from_a_newer_build_is_refused() {
    let database = TestDatabase::create().await;
    drop(PostgresMetaStore::connect(&database.config).await.unwrap());
    let mut connection = database.connection().await;
    sqlx::query("INSERT INTO periscope_migrations (version, name) VALUES (99, 'future')")
        .execute(&mut connection)
        .await
        .unwrap();
    let error = PostgresMetaStore::connect(&database.config)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("version 99"), "{error}");
    connection.close().await.unwrap();
}

#[tokio::test]
async fn an_empty_url_is_refused_with_the_setting_to_fix() {
    let config = PostgresConfig {
        url: String::new(),
        max_connections: 1,
    };
    let error = PostgresMetaStore::connect(&config).await.unwrap_err();
    assert!(matches!(error, BackendError::Invalid { .. }), "{error:?}");
    assert!(
        error.to_string().contains("PERISCOPE__POSTGRES__URL"),
        "{error}"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_a_transient_error() {
    let config = PostgresConfig {
        // Nothing listens on port 1 of loopback.
        url: "postgres://postgres@127.0.0.1:1/periscope".into(),
        max_connections: 1,
    };
    let error = PostgresMetaStore::connect(&config).await.unwrap_err();
    assert!(error.is_transient(), "{error:?}");
}
