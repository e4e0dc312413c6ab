//! The pipeline of these tests, all real: the embedded log, the SQLite trace and meta stores,
//! the enrich processor, the trace store sink and both evaluator processors.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use periscope_core::config::{FsyncPolicy, LogConfig};
use periscope_core::evals::{
    EvalFilter, EvalStore, EvalTarget, Evaluator, EvaluatorTemplate, LlmConnection, OutputSpec,
    SecretCipher, key_preview,
};
use periscope_core::log::embedded::EmbeddedLog;
use periscope_core::log::{EventLog, LogRecord};
use periscope_core::model::{Record, ScoreRecord, TraceRecord};
use periscope_core::pipeline::{PipelineStats, RunnerConfig, run_processor, run_sink};
use periscope_core::store::{PageRequest, ScoreFilter, TraceStore};
use periscope_core::topics;
use periscope_processors::enrich::EnrichProcessor;
use periscope_processors::evals::{
    EvalDeps, EvalSettings, EvalStats, JudgeSettings, TargetSettings,
};
use periscope_sinks::TraceStoreSink;
use periscope_sinks::sqlite::{SqliteMetaStore, SqliteTraceStore};
use serde_json::Value;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::stub_judge::{self, STUB_API_KEY, StubState};

pub(crate) const PROJECT: &str = "seed-project";
pub(crate) const ENCRYPTION_KEY: &str =
    "7c1e5a9d3b2f4e6a8c0d1b3f5e7a9c2d4f6b8e0a1c3e5d7f9b2a4c6e8d0f1a3b";

pub(crate) struct Harness {
    _dir: tempfile::TempDir,
    pub(crate) log: Arc<dyn EventLog>,
    pub(crate) traces: Arc<SqliteTraceStore>,
    pub(crate) meta: Arc<SqliteMetaStore>,
    pub(crate) judge_url: String,
    pub(crate) judge: Arc<StubState>,
    pub(crate) stats: EvalStats,
    cancel: CancellationToken,
    tasks: JoinSet<()>,
}

/// Settings short enough for tests: judge calls time out after 300 ms, three attempts.
pub(crate) fn test_settings() -> EvalSettings {
    EvalSettings {
        evaluator_refresh: Duration::from_millis(100),
        judge: JudgeSettings {
            request_timeout: Duration::from_millis(300),
            max_attempts: 3,
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(200),
            connection_concurrency: 2,
        },
        targets: TargetSettings {
            target_wait: Duration::from_secs(15),
            max_settle_extension: Duration::from_secs(2),
            poll_interval: Duration::from_millis(50),
        },
        scheduler_batch: 100,
        runner_batch: 8,
        batch_max_wait: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
    }
}

fn runner_config(group: &str) -> RunnerConfig {
    RunnerConfig {
        group: group.to_owned(),
        batch_max_records: 200,
        batch_max_wait: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
    }
}

impl Harness {
    /// Opens the stores and the log and starts the stub judge (no pipeline yet).
    pub(crate) async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            fsync: FsyncPolicy::Never,
            segment_bytes: 1 << 20,
            retention_bytes: 1 << 30,
            retention_age: Duration::from_secs(86_400),
        };
        let log: Arc<dyn EventLog> =
            Arc::new(EmbeddedLog::open(&dir.path().join("log"), &config).unwrap());
        for topic in [topics::INGEST, topics::RECORDS, topics::EVAL_JOBS] {
            log.ensure_topic(topic).await.unwrap();
        }
        let traces = Arc::new(
            SqliteTraceStore::open(&dir.path().join("traces.db"))
                .await
                .unwrap(),
        );
        let meta = Arc::new(
            SqliteMetaStore::open(&dir.path().join("meta.db"))
                .await
                .unwrap(),
        );
        let cancel = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let (judge_url, judge) = stub_judge::start(&mut tasks, cancel.clone()).await;
        Self {
            _dir: dir,
            log,
            traces,
            meta,
            judge_url,
            judge,
            stats: EvalStats::default(),
            cancel,
            tasks,
        }
    }

    /// Starts enrich (ingest → records), the trace store sink and the evaluator processors.
    pub(crate) fn start_pipeline(&mut self) {
        let enrich = EnrichProcessor::new(&[], self.meta.clone()).unwrap();
        let (log, cancel) = (self.log.clone(), self.cancel.clone());
        self.tasks.spawn(async move {
            let stats = Arc::new(PipelineStats::default());
            run_processor(
                log,
                enrich,
                topics::INGEST,
                topics::RECORDS,
                runner_config("enrich"),
                stats,
                cancel,
            )
            .await
            .unwrap();
        });
        let sink = TraceStoreSink::new(self.traces.clone(), "sqlite");
        let (log, cancel) = (self.log.clone(), self.cancel.clone());
        self.tasks.spawn(async move {
            let stats = Arc::new(PipelineStats::default());
            run_sink(
                log,
                sink,
                topics::RECORDS,
                runner_config("sink"),
                stats,
                cancel,
            )
            .await
            .unwrap();
        });
        let deps = EvalDeps {
            log: self.log.clone(),
            traces: self.traces.clone(),
            datasets: self.meta.clone(),
            store: self.meta.clone(),
            cipher: SecretCipher::from_hex(Some(ENCRYPTION_KEY)),
            settings: test_settings(),
        };
        let (stats, cancel) = (self.stats.clone(), self.cancel.clone());
        self.tasks.spawn(async move {
            periscope_processors::evals::run(deps, stats, cancel)
                .await
                .unwrap();
        });
    }

    /// Stops every task and waits for them.
    pub(crate) async fn stop(mut self) {
        self.cancel.cancel();
        while let Some(joined) = self.tasks.join_next().await {
            joined.unwrap();
        }
    }

    /// Stores a connection to the stub judge with its key sealed.
    pub(crate) async fn create_connection(&self) -> LlmConnection {
        let now = Utc::now();
        let id = format!("conn-{}", periscope_core::ids::new_event_id());
        let cipher = SecretCipher::from_hex(Some(ENCRYPTION_KEY));
        let sealed = cipher
            .seal(STUB_API_KEY, &LlmConnection::seal_context(PROJECT, &id))
            .unwrap();
        let connection = LlmConnection {
            id,
            project_id: PROJECT.into(),
            name: "stub judge".into(),
            base_url: self.judge_url.clone(),
            default_model: "stub-judge".into(),
            extra_headers: BTreeMap::from([("x-team".into(), "evals".into())]),
            sealed_api_key: sealed,
            key_preview: key_preview(STUB_API_KEY),
            created_at: now,
            updated_at: now,
        };
        self.meta.create_connection(&connection).await.unwrap();
        connection
    }

    /// Stores the seed experiment's custom hallucination template.
    pub(crate) async fn create_hallucination_template(&self) -> EvaluatorTemplate {
        let template = EvaluatorTemplate {
            id: periscope_core::ids::new_event_id(),
            project_id: Some(PROJECT.into()),
            name: "seed-hallucination".into(),
            version: 0,
            prompt: "Question:\n{{question}}\n\nContext:\n{{context}}\n\nAnswer:\n{{answer}}\n\n\
                     Score 1 if the answer is supported by the context and follows the \
                     question's instructions, else 0."
                .into(),
            output: OutputSpec::Numeric {
                min: Some(0.0),
                max: Some(1.0),
            },
            description: None,
            created_at: Utc::now(),
        };
        self.meta.create_template_version(&template).await.unwrap()
    }

    /// Stores an active evaluator over traces tagged `tag`.
    pub(crate) async fn create_evaluator(
        &self,
        template: &EvaluatorTemplate,
        connection: &LlmConnection,
        tag: &str,
        sampling_rate: f64,
    ) -> Evaluator {
        let now = Utc::now();
        let evaluator = Evaluator {
            id: format!("ev-{}", periscope_core::ids::new_event_id()),
            project_id: PROJECT.into(),
            score_name: "faithfulness".into(),
            template_name: template.name.clone(),
            template_version: template.version,
            connection_id: connection.id.clone(),
            model: None,
            target: EvalTarget::Trace,
            filter: EvalFilter {
                tags: vec![tag.into()],
                ..EvalFilter::default()
            },
            sampling_rate,
            variable_mapping: BTreeMap::from([
                ("question".into(), "input.question".into()),
                ("context".into(), "metadata.reference_context".into()),
                ("answer".into(), "output".into()),
            ]),
            settle_window: Duration::from_millis(200),
            active: true,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        self.meta.create_evaluator(&evaluator).await.unwrap();
        evaluator
    }

    /// Appends trace records to the records topic, as enrich would.
    pub(crate) async fn append_traces(&self, traces: &[TraceRecord]) {
        let records = traces
            .iter()
            .map(|trace| LogRecord {
                key: Bytes::from(topics::trace_key(&trace.project_id, &trace.id)),
                value: Bytes::from(serde_json::to_vec(&Record::Trace(trace.clone())).unwrap()),
            })
            .collect();
        self.log.append(topics::RECORDS, records).await.unwrap();
    }

    /// Returns the scores of a trace.
    pub(crate) async fn scores(&self, trace_id: &str) -> Vec<ScoreRecord> {
        let filter = ScoreFilter {
            trace_id: Some(trace_id.into()),
            ..ScoreFilter::default()
        };
        self.traces
            .list_scores(PROJECT, &filter, PageRequest::default())
            .await
            .unwrap()
            .items
    }
}

/// Returns a trace record of the seed experiment.
pub(crate) fn seed_trace(
    id: &str,
    tag: &str,
    question: &str,
    context: &str,
    answer: &str,
) -> TraceRecord {
    TraceRecord {
        project_id: PROJECT.into(),
        id: id.into(),
        timestamp: Some(Utc::now()),
        name: Some("qa".into()),
        tags: vec![tag.into()],
        input: Some(serde_json::json!({ "question": question })),
        output: Some(Value::String(answer.into())),
        metadata: BTreeMap::from([("reference_context".into(), Value::String(context.into()))]),
        event_time: Utc::now(),
        ..TraceRecord::default()
    }
}

/// Polls `check` until it returns `Some`, failing after `timeout`.
pub(crate) async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
