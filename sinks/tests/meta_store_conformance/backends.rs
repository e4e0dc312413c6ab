//! The two backends under test, behind one trait, and the per-test Postgres database.

use std::collections::hash_map::RandomState;
use std::future::Future;
use std::hash::BuildHasher;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Duration, TimeZone, Utc};
use periscope_core::annotation::AnnotationStore;
use periscope_core::comments::CommentStore;
use periscope_core::config::PostgresConfig;
use periscope_core::datasets::DatasetStore;
use periscope_core::evals::EvalStore;
use periscope_core::meta::MetaStore;
use periscope_core::prompts::PromptStore;
use periscope_core::score_configs::ScoreConfigStore;
use periscope_core::sharing::ShareStore;
use periscope_core::sharing::api_keys::ApiKeyAdmin;
use periscope_sinks::{PostgresMetaStore, SqliteMetaStore};
use sqlx::{Connection, PgConnection};
use tempfile::TempDir;

/// Every store trait the meta database backs.
pub(crate) trait AllStores:
    MetaStore
    + ApiKeyAdmin
    + PromptStore
    + DatasetStore
    + ScoreConfigStore
    + CommentStore
    + AnnotationStore
    + ShareStore
    + EvalStore
    + Clone
{
}

impl<T> AllStores for T where
    T: MetaStore
        + ApiKeyAdmin
        + PromptStore
        + DatasetStore
        + ScoreConfigStore
        + CommentStore
        + AnnotationStore
        + ShareStore
        + EvalStore
        + Clone
{
}

/// A store on a database of its own.
pub(crate) trait Backend: Send + Sync {
    type Store: AllStores;

    /// The store the scenario uses.
    fn store(&self) -> &Self::Store;

    /// Opens another store on the same database, as a second process would.
    fn open_again(&self) -> impl Future<Output = Self::Store> + Send;

    /// Returns the migration versions the store reports.
    fn schema_versions(&self) -> impl Future<Output = Vec<i64>> + Send;
}

/// The embedded store on a file in a temporary directory.
pub(crate) struct SqliteBackend {
    store: SqliteMetaStore,
    path: PathBuf,
    _directory: TempDir,
}

impl SqliteBackend {
    pub(crate) async fn open() -> Self {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("data").join("meta.db");
        let store = SqliteMetaStore::open(&path).await.unwrap();
        Self {
            store,
            path,
            _directory: directory,
        }
    }
}

impl Backend for SqliteBackend {
    type Store = SqliteMetaStore;

    fn store(&self) -> &SqliteMetaStore {
        &self.store
    }

    async fn open_again(&self) -> SqliteMetaStore {
        SqliteMetaStore::open(&self.path).await.unwrap()
    }

    async fn schema_versions(&self) -> Vec<i64> {
        self.store.schema_versions().await.unwrap()
    }
}

/// The Postgres store on a database created for this test.
pub(crate) struct PostgresBackend {
    store: PostgresMetaStore,
    // Dropped last: the database goes once the store's pool is no longer needed.
    database: TestDatabase,
}

impl PostgresBackend {
    pub(crate) async fn open() -> Self {
        let database = TestDatabase::create().await;
        let store = PostgresMetaStore::connect(&database.config).await.unwrap();
        Self { store, database }
    }
}

impl Backend for PostgresBackend {
    type Store = PostgresMetaStore;

    fn store(&self) -> &PostgresMetaStore {
        &self.store
    }

    async fn open_again(&self) -> PostgresMetaStore {
        PostgresMetaStore::connect(&self.database.config)
            .await
            .unwrap()
    }

    async fn schema_versions(&self) -> Vec<i64> {
        self.store.schema_versions().await.unwrap()
    }
}

/// A Postgres database `periscope_test_<random>` on the server of `PERISCOPE__POSTGRES__URL`,
/// dropped (with any open connections) when this value is dropped, also after a failed assert.
pub(crate) struct TestDatabase {
    pub(crate) name: String,
    pub(crate) config: PostgresConfig,
    admin_url: String,
}

impl TestDatabase {
    pub(crate) async fn create() -> Self {
        let url = match std::env::var("PERISCOPE__POSTGRES__URL") {
            Ok(url) if !url.is_empty() => url,
            _ => panic!(
                "PERISCOPE__POSTGRES__URL is not set; start the services: \
                 eval \"$(deploy/dev-services.sh start)\""
            ),
        };
        let name = format!("periscope_test_{}", random_suffix());
        let admin_url = with_database(&url, "postgres");
        let mut admin = PgConnection::connect(&admin_url).await.unwrap();
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
        Self {
            config: PostgresConfig {
                url: with_database(&url, &name),
                max_connections: 5,
            },
            name,
            admin_url,
        }
    }

    /// Opens a plain connection to the test database.
    pub(crate) async fn connection(&self) -> PgConnection {
        PgConnection::connect(&self.config.url).await.unwrap()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop cannot await; a thread with its own runtime can, even while a panic unwinds.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let mut admin = PgConnection::connect(&admin_url).await?;
                sqlx::raw_sql(&statement).execute(&mut admin).await?;
                admin.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) && !std::thread::panicking() {
            panic!("failed to drop test database {}: {dropped:?}", self.name);
        }
    }
}

/// Returns `url` with its database (the last path segment) replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |index| index + 3);
    let server = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

/// 16 hex digits that differ between tests, processes and runs.
fn random_suffix() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let seed = (
        nanos,
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
    );
    format!("{:016x}", RandomState::new().hash_one(seed))
}

/// 2026-11-27 00:00:00 UTC plus `seconds`.
pub(crate) fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0)
        .single()
        .unwrap()
        + Duration::seconds(seconds)
}

#[test]
fn urls_get_their_database_replaced() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/periscope", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://u:p@h/db?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
    assert_eq!(
        with_database("postgres://h:5432", "x"),
        "postgres://h:5432/x"
    );
}
