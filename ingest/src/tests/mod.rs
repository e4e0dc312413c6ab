//! Handler tests against the real embedded event log: requests go through the axum router
//! (`oneshot`) or an in-memory tonic channel, and what was appended is read back by consuming
//! the log and decoding each `pv1::Event`.

mod grpc;
mod ingestion;
mod limits;
mod otlp_http;
mod score_configs;
mod scores;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response};
use base64::Engine as _;
use bytes::Bytes;
use chrono::Utc;
use flate2::Compression;
use flate2::write::GzEncoder;
use http_body_util::BodyExt;
use periscope_core::auth::Authenticator;
use periscope_core::cache::in_process::InProcessCache;
use periscope_core::config::{FsyncPolicy, LogConfig};
use periscope_core::error::{BackendError, BackendResult};
use periscope_core::log::embedded::EmbeddedLog;
use periscope_core::log::{EventLog, LogConsumer, LogRecord};
use periscope_core::meta::{ApiKey, MetaStore, ModelDefinition, Project, hash_secret};
use periscope_core::topics;
use periscope_proto::otlp_collector::ExportTraceServiceRequest;
use periscope_proto::otlp_common::{AnyValue, InstrumentationScope, KeyValue, any_value};
use periscope_proto::otlp_resource::Resource;
use periscope_proto::otlp_trace::{ResourceSpans, ScopeSpans, Span};
use periscope_proto::pv1;
use prost::Message;
use tower::ServiceExt;

use crate::{IngestLimits, IngestState, http_router};

pub(crate) const PROJECT: &str = "project-a";
pub(crate) const PUBLIC_KEY: &str = "pk-lf-test";
pub(crate) const SECRET_KEY: &str = "sk-lf-test";

/// A meta store holding one API key: a test double of configuration, not of the backend
/// under test (the log is real).
#[derive(Debug)]
struct OneKeyMeta {
    key: ApiKey,
}

fn unsupported() -> BackendError {
    BackendError::Invalid {
        backend: "test meta store",
        message: "not supported".to_owned(),
    }
}

#[async_trait]
impl MetaStore for OneKeyMeta {
    async fn healthcheck(&self) -> BackendResult<()> {
        Ok(())
    }
    async fn upsert_project(&self, _id: &str, _name: &str) -> BackendResult<Project> {
        Err(unsupported())
    }
    async fn list_projects(&self) -> BackendResult<Vec<Project>> {
        Ok(Vec::new())
    }
    async fn get_project(&self, _id: &str) -> BackendResult<Option<Project>> {
        Ok(None)
    }
    async fn upsert_api_key(&self, _key: &ApiKey) -> BackendResult<()> {
        Err(unsupported())
    }
    async fn find_api_key(&self, public_key: &str) -> BackendResult<Option<ApiKey>> {
        Ok((public_key == self.key.public_key).then(|| self.key.clone()))
    }
    async fn upsert_model(&self, _model: &ModelDefinition) -> BackendResult<()> {
        Err(unsupported())
    }
    async fn list_models(&self, _project_id: &str) -> BackendResult<Vec<ModelDefinition>> {
        Ok(Vec::new())
    }
    async fn delete_model(&self, _project_id: &str, _model_id: &str) -> BackendResult<bool> {
        Ok(false)
    }
}

/// An ingest edge over a fresh embedded log in a temporary directory.
pub(crate) struct Harness {
    _dir: tempfile::TempDir,
    pub(crate) log: Arc<EmbeddedLog>,
    pub(crate) state: IngestState,
}

pub(crate) fn default_limits() -> IngestLimits {
    IngestLimits {
        max_body_bytes: 1024 * 1024,
        max_inflight_bytes: 8 * 1024 * 1024,
        request_timeout: Duration::from_secs(10),
        blocking_threshold_bytes: 16 * 1024,
        max_pipeline_backlog: u64::MAX,
    }
}

pub(crate) fn authenticator() -> Authenticator {
    let key = ApiKey {
        id: "key-1".to_owned(),
        project_id: PROJECT.to_owned(),
        public_key: PUBLIC_KEY.to_owned(),
        secret_hash: hash_secret(SECRET_KEY),
        display_secret: "sk-lf-...test".to_owned(),
        created_at: Utc::now(),
    };
    Authenticator::new(
        Arc::new(OneKeyMeta { key }),
        Arc::new(InProcessCache::new()),
        Duration::from_secs(60),
    )
}

impl Harness {
    pub(crate) fn new() -> Self {
        Self::with_limits(default_limits())
    }

    pub(crate) fn with_limits(limits: IngestLimits) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            fsync: FsyncPolicy::Always,
            segment_bytes: 64 * 1024 * 1024,
            retention_bytes: u64::MAX,
            retention_age: Duration::from_secs(3600),
        };
        let log = Arc::new(EmbeddedLog::open(dir.path(), &config).unwrap());
        let state = IngestState::new(log.clone(), authenticator(), limits);
        Self {
            _dir: dir,
            log,
            state,
        }
    }

    pub(crate) fn router(&self) -> Router {
        http_router(self.state.clone())
    }

    /// Sends one request through the HTTP router.
    pub(crate) async fn send(&self, request: Request<Body>) -> Response<Body> {
        self.router().oneshot(request).await.unwrap()
    }

    /// Returns how many records the ingest topic holds.
    pub(crate) async fn appended_count(&self) -> u64 {
        self.log.lag(topics::INGEST, "count-probe").await.unwrap()
    }

    /// Reads back every record on the ingest topic as (key, event).
    pub(crate) async fn appended(&self) -> Vec<(String, pv1::Event)> {
        let expected = self.appended_count().await as usize;
        let group = format!("reader-{}", periscope_core::ids::new_event_id());
        let mut consumer: Box<dyn LogConsumer> =
            self.log.subscribe(topics::INGEST, &group).await.unwrap();
        let mut events = Vec::new();
        while events.len() < expected {
            let batch = consumer.poll(1000, Duration::from_secs(2)).await.unwrap();
            assert!(
                !batch.is_empty(),
                "log returned {} of {expected} records",
                events.len()
            );
            for record in batch {
                let key = String::from_utf8(record.key.to_vec()).unwrap();
                events.push((key, pv1::Event::decode(record.value).unwrap()));
            }
        }
        events
    }
}

/// An event log whose appends always fail, to check that nothing is acknowledged then.
#[derive(Debug)]
pub(crate) struct FailingLog;

#[async_trait]
impl EventLog for FailingLog {
    async fn ensure_topic(&self, _topic: &str) -> BackendResult<()> {
        Ok(())
    }
    async fn append(&self, _topic: &str, _records: Vec<LogRecord>) -> BackendResult<()> {
        Err(BackendError::Unavailable {
            backend: "failing log",
            message: "disk gone".to_owned(),
        })
    }
    async fn subscribe(&self, _topic: &str, _group: &str) -> BackendResult<Box<dyn LogConsumer>> {
        Err(unsupported())
    }
    async fn lag(&self, _topic: &str, _group: &str) -> BackendResult<u64> {
        Ok(0)
    }
}

pub(crate) fn basic_auth() -> String {
    let credentials = format!("{PUBLIC_KEY}:{SECRET_KEY}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

pub(crate) fn wrong_basic_auth() -> String {
    let credentials = format!("{PUBLIC_KEY}:sk-lf-wrong");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

pub(crate) fn bearer_auth() -> String {
    format!("Bearer {PUBLIC_KEY}")
}

pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

pub(crate) async fn body_bytes(response: Response<Body>) -> Bytes {
    response.into_body().collect().await.unwrap().to_bytes()
}

pub(crate) async fn body_json(response: Response<Body>) -> serde_json::Value {
    let bytes = body_bytes(response).await;
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|error| panic!("response is not json ({error}): {bytes:?}"))
}

pub(crate) fn string_attribute(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..KeyValue::default()
    }
}

/// Returns a valid span of `trace` with span id `[id; 8]`.
pub(crate) fn span(trace: u8, id: u8, name: &str) -> Span {
    Span {
        trace_id: vec![trace; 16],
        span_id: vec![id; 8],
        name: name.to_owned(),
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_000_500_000_000,
        ..Span::default()
    }
}

/// Returns an export request with one resource and one scope holding `spans`.
pub(crate) fn export_request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![string_attribute("service.name", "checkout")],
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "langfuse-sdk".to_owned(),
                    version: "5.0.4".to_owned(),
                    ..InstrumentationScope::default()
                }),
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// Returns the spans carried by an appended OTLP event.
pub(crate) fn otlp_spans(event: &pv1::Event) -> &ResourceSpans {
    match &event.body {
        Some(pv1::event::Body::OtlpSpans(spans)) => spans,
        other => panic!("expected otlp spans, got {other:?}"),
    }
}

/// Returns the names of all spans in an OTLP event.
pub(crate) fn span_names(event: &pv1::Event) -> Vec<String> {
    otlp_spans(event)
        .scope_spans
        .iter()
        .flat_map(|scope| scope.spans.iter().map(|span| span.name.clone()))
        .collect()
}
