//! The roles of DESIGN.md §2 — ingest, the pipeline stages, the query API — started in any
//! combination by one function, so `periscope serve` (all of them on the embedded backends)
//! and `periscope ingest` / `process` / `sink` / `api` (one each, against shared services)
//! run the same code.
//!
//! Start-up order: config → telemetry → backends → initial project → pipelines → listeners.
//! Shutdown order (SIGINT/SIGTERM): readiness off → listeners stop accepting and drain →
//! pipelines finish their batch and commit → exit.

mod http;
mod pipelines;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use periscope_core::auth::Authenticator;
use periscope_core::cache::Cache;
use periscope_core::config::Config;
use periscope_core::evals::{EvalServices, SecretCipher};
use periscope_core::log::EventLog;
use periscope_core::shutdown::{Shutdown, signal};
use periscope_core::topics;
use periscope_sinks::TraceStoreSink;

use crate::backends::seed_initial_project;
use crate::stores::{
    LogKind, MetaStores, TraceStores, log_kind, open_blob, open_cache, open_log, open_meta_stores,
    open_trace_stores,
};
use http::{PipelineMetrics, bind, probes, serve_grpc, serve_http};

/// How long an accepted legacy envelope id is remembered, so a retried batch is not appended
/// twice (SDK retries come within seconds; the stores absorb anything later).
const DEDUP_WINDOW: Duration = Duration::from_secs(600);
/// Pipelines get this long after the listeners closed to finish their current batch.
const PIPELINE_DRAIN: Duration = Duration::from_secs(10);

/// Which roles one process runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RoleSet {
    /// OTLP and Langfuse writes → the log (HTTP and gRPC listeners).
    pub(crate) ingest: bool,
    /// The enrich processor (ingest topic → records topic).
    pub(crate) enrich: bool,
    /// The trace sink (records topic → trace store).
    pub(crate) trace_sink: bool,
    /// The query API.
    pub(crate) api: bool,
    /// The raw event archive (ingest topic → blob store).
    pub(crate) archive: bool,
    /// The evaluator scheduler and runner (records → eval jobs → EVAL scores).
    pub(crate) evals: bool,
}

impl RoleSet {
    /// Every role: `periscope serve`.
    pub(crate) const ALL: Self = Self {
        ingest: true,
        enrich: true,
        trace_sink: true,
        api: true,
        archive: true,
        evals: true,
    };

    /// `periscope ingest`.
    pub(crate) const INGEST: Self = Self {
        ingest: true,
        ..Self::NONE
    };
    /// `periscope process enrich`.
    pub(crate) const ENRICH: Self = Self {
        enrich: true,
        ..Self::NONE
    };
    /// `periscope sink traces`.
    pub(crate) const TRACE_SINK: Self = Self {
        trace_sink: true,
        ..Self::NONE
    };
    /// `periscope sink archive`.
    pub(crate) const ARCHIVE: Self = Self {
        archive: true,
        ..Self::NONE
    };
    /// `periscope process evals`.
    pub(crate) const EVALS: Self = Self {
        evals: true,
        ..Self::NONE
    };
    /// `periscope api`.
    pub(crate) const API: Self = Self {
        api: true,
        ..Self::NONE
    };
    const NONE: Self = Self {
        ingest: false,
        enrich: false,
        trace_sink: false,
        api: false,
        archive: false,
        evals: false,
    };

    fn names(self) -> Vec<&'static str> {
        [
            (self.ingest, "ingest"),
            (self.enrich, "process enrich"),
            (self.trace_sink, "sink traces"),
            (self.api, "api"),
            (self.archive, "sink archive"),
            (self.evals, "process evals"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }

    /// The api role appends annotation scores to the log, like the ingest edge.
    fn uses_log(self) -> bool {
        self.ingest || self.enrich || self.trace_sink || self.archive || self.api || self.evals
    }
}

/// Runs `roles` until a signal arrives.
pub(crate) async fn run(mut roles: RoleSet, config: Config) -> anyhow::Result<()> {
    if roles != RoleSet::ALL && roles.uses_log() && log_kind(&config) == LogKind::Embedded {
        anyhow::bail!(
            "`periscope {}` runs one role of a scaled-out deployment and needs a shared event \
             log: set kafka.brokers (PERISCOPE__KAFKA__BROKERS=host:9092), or run every role \
             in one process with `periscope serve`",
            roles.names().join(", ")
        );
    }
    if roles == RoleSet::ALL {
        roles.archive = config.archive.enabled;
    }
    let needs_meta = roles.ingest || roles.enrich || roles.api || roles.trace_sink || roles.evals;
    let meta = match needs_meta {
        true => Some(open_meta_stores(&config).await?),
        false => None,
    };
    if let Some(meta) = &meta {
        seed_initial_project(meta.meta.as_ref()).await?;
    }
    let traces = match roles.trace_sink || roles.api || roles.evals {
        true => Some(open_trace_stores(&config).await?),
        false => None,
    };
    let log = match roles.uses_log() {
        true => Some(open_log(&config).await?),
        false => None,
    };
    // Large payloads: ingest offloads them, enrich resolves them.
    let blob = match roles.ingest || roles.enrich || roles.archive {
        true => Some(open_blob(&config).await?),
        false => None,
    };
    if let Some(log) = &log {
        for topic in [topics::INGEST, topics::RECORDS] {
            log.ensure_topic(topic).await?;
        }
    }

    let shutdown = Shutdown::new();
    let pipelines = Shutdown::new();
    let mut metrics = PipelineMetrics::default();
    let mut lag_watch = pipelines::LagWatch::default();
    if let (true, Some(log), Some(meta), Some(blob)) = (roles.enrich, &log, &meta, &blob) {
        let stats = pipelines::spawn_enrich(&config, log, &meta.meta, blob, &pipelines)?;
        lag_watch.enrich = Some(stats.clone());
        metrics.stages.push(("enrich", stats));
    }
    // Annotation queues, share toggles and key admin (the meta database).
    let access = match (roles.api || roles.trace_sink, &meta) {
        (true, Some(meta)) => Some(crate::admin::open_access(meta, log.as_ref())?),
        _ => None,
    };
    if let (true, Some(log), Some(traces), Some(access)) =
        (roles.trace_sink, &log, &traces, &access)
    {
        let sink = TraceStoreSink::new(traces.traces.clone(), traces.backend)
            .with_share_store(access.shares.clone());
        let stats = pipelines::spawn_trace_sink(&config, log, sink, &pipelines);
        lag_watch.trace_sink = Some(stats.clone());
        metrics.stages.push(("sink_traces", stats));
    }
    if let (true, Some(log), Some(blob)) = (roles.archive, &log, &blob) {
        let stats = pipelines::spawn_archiver(&config, log, blob, &pipelines);
        metrics.stages.push(("archive", stats));
    }
    if let (true, Some(log), Some(meta), Some(traces)) = (roles.evals, &log, &meta, &traces) {
        let stats = pipelines::spawn_evals(log, meta, &traces.traces, &pipelines);
        metrics.stages.push(("eval_scheduler", stats.scheduler));
        metrics.stages.push(("eval_runner", stats.runner));
    }
    let backlog = log.as_ref().map(|log| {
        // Measuring Kafka lag costs broker round trips per partition: poll it less often.
        let period = match (roles.ingest, log_kind(&config)) {
            (true, LogKind::Embedded) => pipelines::BACKLOG_POLL,
            (true, LogKind::Kafka) => pipelines::KAFKA_BACKLOG_POLL,
            (false, _) => pipelines::LAG_POLL,
        };
        lag_watch.spawn(log.clone(), period, &shutdown)
    });
    metrics.backlog = backlog.clone();

    let ready = Arc::new(AtomicBool::new(true));
    let mut router = axum::Router::new();
    let mut grpc_task = None;
    // Only the request-serving roles verify keys and use the cache (key cache, rate limits,
    // dedup claims, prompt-cache invalidation); the pipeline roles never connect to it.
    let cache = match roles.ingest || roles.api {
        true => Some(open_cache(&config).await?),
        false => None,
    };
    let auth = meta.as_ref().zip(cache.as_ref()).map(|(meta, cache)| {
        Authenticator::new(meta.meta.clone(), cache.clone(), config.auth.cache_ttl)
    });
    if let (true, Some(log), Some(meta), Some(auth), Some(blob), Some(backlog), Some(cache)) =
        (roles.ingest, &log, &meta, &auth, &blob, &backlog, &cache)
    {
        let ingest = ingest_state(&config, log, meta, auth.clone())
            .with_payload_offload(blob.clone(), config.s3.offload_bytes)
            .with_rate_limit(cache.clone(), config.server.project_requests_per_second)
            .with_dedup(cache.clone(), DEDUP_WINDOW)
            .with_backlog_signal(backlog.clone(), config.pipeline.max_backlog_events);
        router = router.merge(periscope_ingest::http_router(ingest.clone()));
        let listener = bind(config.server.grpc_addr, "server.grpc_addr").await?;
        grpc_task = Some(serve_grpc(
            &shutdown,
            listener,
            periscope_ingest::grpc_routes(ingest),
        ));
    }
    if let (true, Some(meta), Some(traces), Some(auth), Some(access), Some(cache)) =
        (roles.api, &meta, &traces, &auth, access, &cache)
    {
        let state = api_state(
            meta,
            traces,
            auth.clone(),
            access,
            cache.clone(),
            &config.prompts.protected_labels,
        );
        // Only Redis is shared between api processes; an in-process cache has no one to tell.
        let shared = (!config.redis.url.is_empty()).then(|| cache.clone());
        router = router.merge(periscope_api::router_with_shared_cache(state, shared));
    }
    router = router.merge(probes(ready.clone(), metrics));
    let listener = bind(config.server.http_addr, "server.http_addr").await?;
    let http_task = serve_http(&shutdown, listener, router);
    tracing::info!(
        roles = %roles.names().join(", "),
        http = %config.server.http_addr,
        grpc = %config.server.grpc_addr,
        data_dir = %config.storage.data_dir.display(),
        meta = meta.as_ref().map_or("-", |meta| meta.backend),
        traces = traces.as_ref().map_or("-", |traces| traces.backend),
        "periscope is serving"
    );

    signal().await;
    tracing::info!("shutting down: refusing new requests and draining in-flight ones");
    ready.store(false, Ordering::Relaxed);
    shutdown.trigger();
    shutdown.wait_for_tasks().await;
    if let Ok(Err(error)) = http_task.await {
        tracing::warn!(%error, "http server ended with an error");
    }
    if let Some(task) = grpc_task
        && let Ok(Err(error)) = task.await
    {
        tracing::warn!(%error, "grpc server ended with an error");
    }
    pipelines.trigger();
    if tokio::time::timeout(PIPELINE_DRAIN, pipelines.wait_for_tasks())
        .await
        .is_err()
    {
        tracing::warn!(
            "pipelines did not finish in time; uncommitted batches will be re-read on start"
        );
    }
    drop(log);
    tracing::info!("periscope stopped");
    Ok(())
}

/// The ingest edge's state: one for both listeners, so HTTP and gRPC share one in-flight
/// byte budget.
fn ingest_state(
    config: &Config,
    log: &Arc<dyn EventLog>,
    meta: &MetaStores,
    auth: Authenticator,
) -> periscope_ingest::IngestState {
    periscope_ingest::IngestState::new(
        log.clone(),
        auth,
        periscope_ingest::IngestLimits::from_config(&config.server),
    )
    .with_score_configs(meta.score_configs.clone())
}

/// The query API's state.
fn api_state(
    meta: &MetaStores,
    traces: &TraceStores,
    auth: Authenticator,
    access: crate::admin::AccessStores,
    cache: Arc<dyn Cache>,
    protected_labels: &[String],
) -> periscope_api::ApiState {
    periscope_api::ApiState {
        traces: traces.traces.clone(),
        meta: meta.meta.clone(),
        datasets: meta.datasets.clone(),
        experiments: traces.experiments.clone(),
        prompts: meta.prompts.clone(),
        score_configs: meta.score_configs.clone(),
        comments: meta.comments.clone(),
        auth,
        // UI login sessions: Redis in scale-out mode, so every api process shares them.
        ui_sessions: cache,
        version: env!("CARGO_PKG_VERSION"),
        annotations: access.annotations,
        score_writer: access.score_writer,
        shares: access.shares,
        api_keys: access.api_keys,
        admin_token: access.admin_token,
        protected_labels: Arc::new(protected_labels.to_vec()),
        evals: Some(EvalServices::new(
            meta.evals.clone(),
            SecretCipher::from_env(),
        )),
    }
}
