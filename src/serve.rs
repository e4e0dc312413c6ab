//! `periscope serve`: every role in one process on the embedded backends.
//!
//! Start-up order: config → telemetry → backends → initial project → pipelines → listeners.
//! Shutdown order (SIGINT/SIGTERM): readiness off → listeners stop accepting and drain →
//! pipelines finish their batch and commit → exit.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;

use periscope_core::auth::Authenticator;
use periscope_core::cache::in_process::InProcessCache;
use periscope_core::comments::CommentStore;
use periscope_core::config::Config;
use periscope_core::datasets::{DatasetStore, ExperimentIndex};
use periscope_core::log::EventLog;
use periscope_core::log::embedded::EmbeddedLog;
use periscope_core::meta::MetaStore;
use periscope_core::pipeline::{
    PipelineStats, RunnerConfig, render_prometheus, run_processor, run_sink,
};
use periscope_core::prompts::PromptStore;
use periscope_core::score_configs::ScoreConfigStore;
use periscope_core::shutdown::{Shutdown, signal};
use periscope_core::store::TraceStore;
use periscope_core::telemetry::{self, LogFormat};
use periscope_core::topics;
use periscope_processors::enrich::EnrichProcessor;
use periscope_sinks::TraceStoreSink;

use crate::backends::{load_config, open_meta, open_traces, seed_initial_project};
use crate::cli::ServeArgs;

/// Pipelines get this long after the listeners closed to finish their current batch.
const PIPELINE_DRAIN: Duration = Duration::from_secs(10);
/// Consumer group of the enrich processor.
const ENRICH_GROUP: &str = "periscope-enrich";
/// Consumer group of the trace store sink.
const SINK_GROUP: &str = "periscope-sink-traces";
/// How often the pipeline backlog is measured for backpressure.
const BACKLOG_POLL: Duration = Duration::from_millis(100);
/// Concurrent gRPC requests per connection.
const GRPC_CONCURRENCY_PER_CONNECTION: usize = 32;

/// Runs `periscope serve` until a signal arrives.
pub(crate) async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let format = if args.common.log_json {
        LogFormat::Json
    } else {
        LogFormat::Text
    };
    telemetry::init(&args.common.log_filter, format).map_err(anyhow::Error::msg)?;
    let mut config = load_config(&args.common)?;
    if let Some(addr) = args.http_addr {
        config.server.http_addr = addr;
    }
    if let Some(addr) = args.grpc_addr {
        config.server.grpc_addr = addr;
    }
    let data_dir = config.storage.data_dir.clone();
    let meta = open_meta(&data_dir).await?;
    let traces = open_traces(&data_dir).await?;
    seed_initial_project(meta.as_ref()).await?;
    let log: Arc<dyn EventLog> = Arc::new(
        EmbeddedLog::open(&data_dir.join("log"), &config.log)
            .context("failed to open the event log")?,
    );
    for topic in [topics::INGEST, topics::RECORDS] {
        log.ensure_topic(topic).await?;
    }
    let datasets: Arc<dyn DatasetStore> = meta.clone();
    let prompts: Arc<dyn PromptStore> = meta.clone();
    let score_configs: Arc<dyn ScoreConfigStore> = meta.clone();
    let comments: Arc<dyn CommentStore> = meta.clone();
    let experiments: Arc<dyn ExperimentIndex> = traces.clone();
    let meta: Arc<dyn MetaStore> = meta;
    let traces: Arc<dyn TraceStore> = traces;
    let auth = Authenticator::new(
        meta.clone(),
        Arc::new(InProcessCache::new()),
        config.auth.cache_ttl,
    );

    let shutdown = Shutdown::new();
    let pipelines = Shutdown::new();
    let (enrich_stats, sink_stats) = spawn_pipelines(&config, &log, &meta, &traces, &pipelines)?;
    let backlog = watch_backlog(log.clone(), &shutdown);
    let metrics = PipelineMetrics {
        enrich: enrich_stats,
        sink: sink_stats,
        backlog: backlog.clone(),
    };

    let ready = Arc::new(AtomicBool::new(true));
    // One state for both listeners, so HTTP and gRPC share one in-flight byte budget.
    let ingest = periscope_ingest::IngestState::new(
        log.clone(),
        auth.clone(),
        periscope_ingest::IngestLimits::from_config(&config.server),
    )
    .with_score_configs(score_configs.clone())
    .with_backlog_signal(backlog, config.pipeline.max_backlog_events);
    let api = periscope_api::ApiState {
        traces: traces.clone(),
        meta: meta.clone(),
        datasets,
        experiments,
        prompts,
        score_configs,
        comments,
        auth: auth.clone(),
        version: env!("CARGO_PKG_VERSION"),
    };
    let http = build_http_router(&ingest, api, ready.clone(), metrics);
    let http_listener = tokio::net::TcpListener::bind(config.server.http_addr)
        .await
        .with_context(|| {
            format!(
                "failed to listen on {} (server.http_addr)",
                config.server.http_addr
            )
        })?;
    let grpc_listener = tokio::net::TcpListener::bind(config.server.grpc_addr)
        .await
        .with_context(|| {
            format!(
                "failed to listen on {} (server.grpc_addr)",
                config.server.grpc_addr
            )
        })?;
    tracing::info!(
        http = %config.server.http_addr,
        grpc = %config.server.grpc_addr,
        data_dir = %data_dir.display(),
        "periscope is serving"
    );

    let http_task = shutdown.spawn({
        let token = shutdown.token();
        async move {
            axum::serve(http_listener, http)
                .with_graceful_shutdown(async move { token.cancelled().await })
                .await
        }
    });
    let grpc_routes = periscope_ingest::grpc_routes(ingest);
    let grpc_task = shutdown.spawn({
        let token = shutdown.token();
        async move {
            let incoming = tonic::transport::server::TcpIncoming::from(grpc_listener);
            // tonic buffers a whole message before the handler reserves in-flight bytes, so
            // bound the requests per connection to keep memory bounded.
            tonic::transport::Server::builder()
                .concurrency_limit_per_connection(GRPC_CONCURRENCY_PER_CONNECTION)
                .add_routes(grpc_routes)
                .serve_with_incoming_shutdown(incoming, async move { token.cancelled().await })
                .await
        }
    });

    signal().await;
    tracing::info!("shutting down: refusing new requests and draining in-flight ones");
    ready.store(false, Ordering::Relaxed);
    shutdown.trigger();
    shutdown.wait_for_tasks().await;
    if let Ok(Err(error)) = http_task.await {
        tracing::warn!(%error, "http server ended with an error");
    }
    if let Ok(Err(error)) = grpc_task.await {
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
    tracing::info!("periscope stopped");
    Ok(())
}

/// What `GET /metrics` reports.
#[derive(Debug, Clone)]
struct PipelineMetrics {
    enrich: Arc<PipelineStats>,
    sink: Arc<PipelineStats>,
    backlog: Arc<AtomicU64>,
}

impl PipelineMetrics {
    /// Renders the Prometheus text exposition. No label carries project data.
    fn render(&self) -> String {
        render_prometheus(
            &[("enrich", &self.enrich), ("sink_traces", &self.sink)],
            self.backlog.load(Ordering::Relaxed),
        )
    }
}

fn build_http_router(
    ingest: &periscope_ingest::IngestState,
    api: periscope_api::ApiState,
    ready: Arc<AtomicBool>,
    metrics: PipelineMetrics,
) -> Router {
    let api = periscope_api::router(api);
    let ingest = periscope_ingest::http_router(ingest.clone());
    let probes = Router::new()
        .route("/livez", get(|| async { StatusCode::OK }))
        .route(
            "/readyz",
            get(move || {
                let ready = ready.load(Ordering::Relaxed);
                async move {
                    if ready {
                        StatusCode::OK
                    } else {
                        StatusCode::SERVICE_UNAVAILABLE
                    }
                }
            }),
        );
    let probes = probes.route(
        "/metrics",
        get(move || {
            let text = metrics.render();
            async move { ([(CONTENT_TYPE, "text/plain; version=0.0.4")], text) }
        }),
    );
    ingest.merge(api).merge(probes)
}

/// Publishes the number of events the pipelines have not committed yet (enrich input plus
/// sink input), refreshed every `BACKLOG_POLL`, for the ingest edge's backpressure.
fn watch_backlog(log: Arc<dyn EventLog>, shutdown: &Shutdown) -> Arc<AtomicU64> {
    let backlog = Arc::new(AtomicU64::new(0));
    let published = backlog.clone();
    let token = shutdown.token();
    shutdown.spawn(async move {
        let mut tick = tokio::time::interval(BACKLOG_POLL);
        loop {
            tokio::select! {
                () = token.cancelled() => return,
                _ = tick.tick() => {}
            }
            let ingest = log.lag(topics::INGEST, ENRICH_GROUP).await;
            let records = log.lag(topics::RECORDS, SINK_GROUP).await;
            match (ingest, records) {
                (Ok(ingest), Ok(records)) => published.store(ingest + records, Ordering::Relaxed),
                (Err(error), _) | (_, Err(error)) => {
                    tracing::warn!(%error, "failed to measure the pipeline backlog");
                }
            }
        }
    });
    backlog
}

fn spawn_pipelines(
    config: &Config,
    log: &Arc<dyn EventLog>,
    meta: &Arc<dyn MetaStore>,
    traces: &Arc<dyn TraceStore>,
    pipelines: &Shutdown,
) -> anyhow::Result<(Arc<PipelineStats>, Arc<PipelineStats>)> {
    let enrich_stats = Arc::new(PipelineStats::default());
    let sink_stats = Arc::new(PipelineStats::default());
    let runner = |group: &str| RunnerConfig {
        group: group.to_owned(),
        batch_max_records: config.pipeline.batch_max_records,
        batch_max_wait: config.pipeline.batch_max_wait,
        max_backoff: Duration::from_millis(config.pipeline.max_retry_backoff_ms),
    };
    let enrich = EnrichProcessor::new(&config.masking.rules, meta.clone())
        .context("invalid masking rules (masking.rules)")?;
    pipelines.spawn({
        let (log, config, cancel) = (log.clone(), runner(ENRICH_GROUP), pipelines.token());
        let stats = enrich_stats.clone();
        async move {
            let result = run_processor(
                log,
                enrich,
                topics::INGEST,
                topics::RECORDS,
                config,
                stats,
                cancel,
            )
            .await;
            if let Err(error) = result {
                tracing::error!(%error, "the enrich pipeline stopped");
            }
        }
    });
    let sink = TraceStoreSink::new(traces.clone(), "sqlite");
    pipelines.spawn({
        let (log, config, cancel) = (log.clone(), runner(SINK_GROUP), pipelines.token());
        let stats = sink_stats.clone();
        async move {
            if let Err(error) = run_sink(log, sink, topics::RECORDS, config, stats, cancel).await {
                tracing::error!(%error, "the trace sink pipeline stopped");
            }
        }
    });
    Ok((enrich_stats, sink_stats))
}
