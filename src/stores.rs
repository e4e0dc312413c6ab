//! Chooses every backend from the configuration: the embedded implementation in the data
//! directory unless the backend's address is set (DESIGN.md §3). Each role opens only the
//! backends it uses, so a role never waits for, or fails on, a service it does not need.

use std::sync::Arc;

use anyhow::Context as _;

use periscope_core::annotation::AnnotationStore;
use periscope_core::blob::BlobStore;
use periscope_core::blob::filesystem::FilesystemBlobStore;
use periscope_core::cache::Cache;
use periscope_core::cache::in_process::InProcessCache;
use periscope_core::comments::CommentStore;
use periscope_core::config::Config;
use periscope_core::datasets::{DatasetStore, ExperimentIndex};
use periscope_core::evals::EvalStore;
use periscope_core::log::EventLog;
use periscope_core::log::embedded::EmbeddedLog;
use periscope_core::log::kafka::KafkaEventLog;
use periscope_core::meta::MetaStore;
use periscope_core::prompts::PromptStore;
use periscope_core::score_configs::ScoreConfigStore;
use periscope_core::sharing::ShareStore;
use periscope_core::sharing::api_keys::ApiKeyAdmin;
use periscope_core::store::TraceStore;
use periscope_sinks::clickhouse::ClickHouseTraceStore;
use periscope_sinks::postgres::PostgresMetaStore;
use periscope_sinks::redis::RedisCache;
use periscope_sinks::s3::S3BlobStore;

use crate::backends::{open_meta, open_traces};

/// Every store kept in the meta database (SQLite or Postgres).
#[derive(Debug, Clone)]
pub(crate) struct MetaStores {
    pub(crate) meta: Arc<dyn MetaStore>,
    pub(crate) prompts: Arc<dyn PromptStore>,
    pub(crate) datasets: Arc<dyn DatasetStore>,
    pub(crate) score_configs: Arc<dyn ScoreConfigStore>,
    pub(crate) comments: Arc<dyn CommentStore>,
    pub(crate) annotations: Arc<dyn AnnotationStore>,
    pub(crate) shares: Arc<dyn ShareStore>,
    pub(crate) api_keys: Arc<dyn ApiKeyAdmin>,
    pub(crate) evals: Arc<dyn EvalStore>,
    /// `"sqlite"` or `"postgres"`, for logs and metrics.
    pub(crate) backend: &'static str,
}

impl MetaStores {
    fn from_store<S>(store: Arc<S>, backend: &'static str) -> Self
    where
        S: MetaStore
            + PromptStore
            + DatasetStore
            + ScoreConfigStore
            + CommentStore
            + AnnotationStore
            + ShareStore
            + ApiKeyAdmin
            + EvalStore,
    {
        Self {
            meta: store.clone(),
            prompts: store.clone(),
            datasets: store.clone(),
            score_configs: store.clone(),
            comments: store.clone(),
            annotations: store.clone(),
            shares: store.clone(),
            api_keys: store.clone(),
            evals: store,
            backend,
        }
    }
}

/// The trace store and the dataset-run index that lives beside it.
#[derive(Debug, Clone)]
pub(crate) struct TraceStores {
    pub(crate) traces: Arc<dyn TraceStore>,
    pub(crate) experiments: Arc<dyn ExperimentIndex>,
    /// `"sqlite"` or `"clickhouse"`, for logs and metrics.
    pub(crate) backend: &'static str,
}

/// Opens the meta stores: Postgres when `postgres.url` is set, else SQLite in the data dir.
pub(crate) async fn open_meta_stores(config: &Config) -> anyhow::Result<MetaStores> {
    if config.postgres.url.is_empty() {
        let store = open_meta(&config.storage.data_dir).await?;
        return Ok(MetaStores::from_store(store, "sqlite"));
    }
    let store = PostgresMetaStore::connect(&config.postgres)
        .await
        .context("failed to open the meta store on Postgres (postgres.url)")?;
    Ok(MetaStores::from_store(Arc::new(store), "postgres"))
}

/// Opens the trace store: ClickHouse when `clickhouse.url` is set, else SQLite in the data dir.
pub(crate) async fn open_trace_stores(config: &Config) -> anyhow::Result<TraceStores> {
    if config.clickhouse.url.is_empty() {
        let store = open_traces(&config.storage.data_dir).await?;
        return Ok(TraceStores {
            traces: store.clone(),
            experiments: store,
            backend: "sqlite",
        });
    }
    let store = ClickHouseTraceStore::connect(&config.clickhouse)
        .await
        .context("failed to open the trace store on ClickHouse (clickhouse.url)")?;
    let store = Arc::new(store);
    Ok(TraceStores {
        traces: store.clone(),
        experiments: store,
        backend: "clickhouse",
    })
}

/// Where the event log lives, for the roles that cannot share an embedded one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogKind {
    Embedded,
    Kafka,
}

/// Which log the configuration selects, without opening it.
pub(crate) fn log_kind(config: &Config) -> LogKind {
    if config.kafka.brokers.is_empty() {
        LogKind::Embedded
    } else {
        LogKind::Kafka
    }
}

/// Opens the event log: Kafka when `kafka.brokers` is set, else segment files in the data dir.
pub(crate) async fn open_log(config: &Config) -> anyhow::Result<Arc<dyn EventLog>> {
    match log_kind(config) {
        LogKind::Embedded => {
            let log = EmbeddedLog::open(&config.storage.data_dir.join("log"), &config.log)
                .context("failed to open the event log in the data directory")?;
            Ok(Arc::new(log))
        }
        LogKind::Kafka => {
            let log = KafkaEventLog::connect(&config.kafka)
                .await
                .context("failed to connect to Kafka (kafka.brokers)")?;
            Ok(Arc::new(log))
        }
    }
}

/// Opens the cache: Redis when `redis.url` is set, else in process.
pub(crate) async fn open_cache(config: &Config) -> anyhow::Result<Arc<dyn Cache>> {
    if config.redis.url.is_empty() {
        return Ok(Arc::new(InProcessCache::new()));
    }
    let cache = RedisCache::connect(&config.redis)
        .await
        .context("failed to connect to Redis (redis.url)")?;
    Ok(Arc::new(cache))
}

/// Opens the blob store: S3 when `s3.endpoint` is set, else files under `<data_dir>/blobs`.
pub(crate) async fn open_blob(config: &Config) -> anyhow::Result<Arc<dyn BlobStore>> {
    if config.s3.endpoint.is_empty() {
        return Ok(Arc::new(FilesystemBlobStore::new(
            config.storage.data_dir.join("blobs"),
        )));
    }
    let blob = S3BlobStore::connect(&config.s3)
        .await
        .context("failed to connect to S3 (s3.endpoint)")?;
    Ok(Arc::new(blob))
}
