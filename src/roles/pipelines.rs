//! Starting the pipeline stages (each its own consumer group) and measuring their backlog.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;

use periscope_core::blob::BlobStore;
use periscope_core::config::Config;
use periscope_core::evals::SecretCipher;
use periscope_core::store::TraceStore;
use periscope_processors::evals::{self, EvalDeps, EvalSettings, EvalStats};

use crate::stores::MetaStores;
use periscope_core::log::EventLog;
use periscope_core::meta::MetaStore;
use periscope_core::pipeline::Sink as _;
use periscope_core::pipeline::{PipelineStats, RunnerConfig, run_processor, run_sink};
use periscope_core::shutdown::Shutdown;
use periscope_core::topics;
use periscope_processors::enrich::EnrichProcessor;
use periscope_sinks::{ArchiverConfig, TraceStoreSink, run_archiver};

/// Consumer group of the enrich processor.
pub(crate) const ENRICH_GROUP: &str = "periscope-enrich";
/// Consumer group of the trace store sink.
pub(crate) const TRACE_SINK_GROUP: &str = "periscope-sink-traces";
/// How often the pipeline backlog is measured for backpressure.
const BACKLOG_POLL_PERIOD: Duration = Duration::from_millis(100);

/// The runner settings of the consumer group `group`.
fn runner_config(config: &Config, group: &str) -> RunnerConfig {
    RunnerConfig {
        group: group.to_owned(),
        batch_max_records: config.pipeline.batch_max_records,
        batch_max_wait: config.pipeline.batch_max_wait,
        max_backoff: Duration::from_millis(config.pipeline.max_retry_backoff_ms),
    }
}

/// Starts enrich: raw events of the ingest topic → records topic.
pub(crate) fn spawn_enrich(
    config: &Config,
    log: &Arc<dyn EventLog>,
    meta: &Arc<dyn MetaStore>,
    blob: &Arc<dyn BlobStore>,
    pipelines: &Shutdown,
) -> anyhow::Result<Arc<PipelineStats>> {
    let stats = Arc::new(PipelineStats::default());
    let enrich = EnrichProcessor::new(&config.masking.rules, meta.clone())
        .context("invalid masking rules (masking.rules)")?
        .with_blob_store(blob.clone());
    pipelines.spawn({
        let (log, runner, cancel) = (
            log.clone(),
            runner_config(config, ENRICH_GROUP),
            pipelines.token(),
        );
        let stats = stats.clone();
        async move {
            let result = run_processor(
                log,
                enrich,
                topics::INGEST,
                topics::RECORDS,
                runner,
                stats,
                cancel,
            )
            .await;
            if let Err(error) = result {
                tracing::error!(%error, "the enrich pipeline stopped");
            }
        }
    });
    Ok(stats)
}

/// Starts the trace sink: records topic → the trace store.
pub(crate) fn spawn_trace_sink(
    config: &Config,
    log: &Arc<dyn EventLog>,
    sink: TraceStoreSink,
    pipelines: &Shutdown,
) -> Arc<PipelineStats> {
    let stats = Arc::new(PipelineStats::default());
    let mut runner = runner_config(config, TRACE_SINK_GROUP);
    if sink.name() == "clickhouse" {
        runner.batch_max_records = config.clickhouse.batch_max_records;
        runner.batch_max_wait = config.clickhouse.batch_max_wait;
    }
    pipelines.spawn({
        let (log, cancel) = (log.clone(), pipelines.token());
        let stats = stats.clone();
        async move {
            if let Err(error) = run_sink(log, sink, topics::RECORDS, runner, stats, cancel).await {
                tracing::error!(%error, "the trace sink pipeline stopped");
            }
        }
    });
    stats
}

/// Starts the archiver: raw events of the ingest topic → large objects in the blob store.
pub(crate) fn spawn_archiver(
    config: &Config,
    log: &Arc<dyn EventLog>,
    blob: &Arc<dyn BlobStore>,
    pipelines: &Shutdown,
) -> Arc<PipelineStats> {
    let stats = Arc::new(PipelineStats::default());
    let archiver = ArchiverConfig {
        max_wait: config.archive.max_wait,
        max_bytes: config.archive.max_bytes,
        max_backoff: Duration::from_millis(config.pipeline.max_retry_backoff_ms),
        ..ArchiverConfig::default()
    };
    pipelines.spawn({
        let (log, blob, cancel) = (log.clone(), blob.clone(), pipelines.token());
        let stats = stats.clone();
        async move {
            if let Err(error) = run_archiver(log, blob, archiver, stats, cancel).await {
                tracing::error!(%error, "the archiver stopped");
            }
        }
    });
    stats
}

/// Starts the evaluator scheduler and runner (each its own consumer group).
pub(crate) fn spawn_evals(
    log: &Arc<dyn EventLog>,
    meta: &MetaStores,
    traces: &Arc<dyn TraceStore>,
    pipelines: &Shutdown,
) -> EvalStats {
    let stats = EvalStats::default();
    let deps = EvalDeps {
        log: log.clone(),
        traces: traces.clone(),
        datasets: meta.datasets.clone(),
        store: meta.evals.clone(),
        cipher: SecretCipher::from_env(),
        settings: EvalSettings::default(),
    };
    pipelines.spawn({
        let (stats, cancel) = (stats.clone(), pipelines.token());
        async move {
            if let Err(error) = evals::run(deps, stats, cancel).await {
                tracing::error!(%error, "the evaluator pipelines stopped");
            }
        }
    });
    stats
}

/// The consumer-group lag of each stage, measured from the log's committed offsets (so it
/// works across processes), for `/metrics` and for the ingest edge's backpressure.
#[derive(Debug, Default)]
pub(crate) struct LagWatch {
    /// Stats of the enrich stage run by this process, if any.
    pub(crate) enrich: Option<Arc<PipelineStats>>,
    /// Stats of the trace sink run by this process, if any.
    pub(crate) trace_sink: Option<Arc<PipelineStats>>,
}

impl LagWatch {
    /// Measures both stages' lag every `period` until shutdown: publishes each into its
    /// stage's stats, and their sum (the pipeline backlog) into the returned gauge.
    pub(crate) fn spawn(
        self,
        log: Arc<dyn EventLog>,
        period: Duration,
        shutdown: &Shutdown,
    ) -> Arc<AtomicU64> {
        let backlog = Arc::new(AtomicU64::new(0));
        let published = backlog.clone();
        let token = shutdown.token();
        shutdown.spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tokio::select! {
                    () = token.cancelled() => return,
                    _ = tick.tick() => {}
                }
                let ingest = log.lag(topics::INGEST, ENRICH_GROUP).await;
                let records = log.lag(topics::RECORDS, TRACE_SINK_GROUP).await;
                match (ingest, records) {
                    (Ok(ingest), Ok(records)) => {
                        published.store(ingest + records, Ordering::Relaxed);
                        for (stats, lag) in [(&self.enrich, ingest), (&self.trace_sink, records)] {
                            if let Some(stats) = stats {
                                stats.lag_events.store(lag, Ordering::Relaxed);
                            }
                        }
                    }
                    (Err(error), _) | (_, Err(error)) => {
                        tracing::warn!(%error, "failed to measure the pipeline lag");
                    }
                }
            }
        });
        backlog
    }
}

/// How often the ingest edge measures the backlog it pushes back on.
pub(crate) const BACKLOG_POLL: Duration = BACKLOG_POLL_PERIOD;
/// How often the ingest edge measures the backlog on Kafka.
pub(crate) const KAFKA_BACKLOG_POLL: Duration = Duration::from_millis(500);
/// How often other roles refresh their lag gauges.
pub(crate) const LAG_POLL: Duration = Duration::from_secs(1);
