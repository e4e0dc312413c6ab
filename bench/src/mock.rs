//! An in-process stand-in for `periscope serve` (OTLP/gRPC, OTLP/HTTP and `GET /traces/{id}`),
//! so that the harness's whole run can be tested without the real server, and those tests.
//! Traces become readable a fixed delay after their request was acknowledged, like a
//! pipeline's lag, so the tests can check the measured delays against it.

use std::collections::HashMap;
use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use flate2::read::GzDecoder;
use periscope_proto::otlp_collector::trace_service_server::{TraceService, TraceServiceServer};
use periscope_proto::otlp_collector::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use prost::Message as _;
use tokio::task::JoinSet;
use tonic::codec::CompressionEncoding;

use crate::markers::hex;

/// What the mock has stored: spans per trace id, and when each trace becomes readable.
#[derive(Debug, Clone)]
pub(crate) struct MockStore {
    traces: Arc<Mutex<HashMap<String, (usize, Instant)>>>,
    authorization: String,
    lag: Duration,
}

impl MockStore {
    fn record(&self, request: &ExportTraceServiceRequest) {
        let ready = Instant::now() + self.lag;
        let mut traces = self.traces.lock().unwrap();
        for span in request
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
        {
            traces.entry(hex(&span.trace_id)).or_insert((0, ready)).0 += 1;
        }
    }

    fn authorized(&self, value: Option<&str>) -> bool {
        value == Some(self.authorization.as_str())
    }

    /// Returns the number of distinct traces received.
    pub(crate) fn trace_count(&self) -> usize {
        self.traces.lock().unwrap().len()
    }
}

#[tonic::async_trait]
impl TraceService for MockStore {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let authorization = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if !self.authorized(authorization) {
            return Err(tonic::Status::unauthenticated("bad key"));
        }
        self.record(request.get_ref());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

async fn http_export(
    State(store): State<MockStore>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if !store.authorized(header("authorization")) {
        return StatusCode::UNAUTHORIZED;
    }
    let mut inflated = Vec::new();
    let bytes = if header("content-encoding") == Some("gzip") {
        GzDecoder::new(&body[..])
            .read_to_end(&mut inflated)
            .unwrap();
        &inflated[..]
    } else {
        &body[..]
    };
    match ExportTraceServiceRequest::decode(bytes) {
        Ok(request) => {
            store.record(&request);
            StatusCode::OK
        }
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

async fn read_trace(
    State(store): State<MockStore>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> (StatusCode, String) {
    if !store.authorized(headers.get("authorization").and_then(|v| v.to_str().ok())) {
        return (StatusCode::UNAUTHORIZED, String::new());
    }
    match store.traces.lock().unwrap().get(&id) {
        Some((spans, ready)) if Instant::now() >= *ready => {
            let observations = vec![serde_json::json!({"traceId": id}); *spans];
            (
                StatusCode::OK,
                serde_json::json!({"id": id, "observations": observations}).to_string(),
            )
        }
        _ => (StatusCode::NOT_FOUND, String::new()),
    }
}

/// Starts the mock on two free loopback ports; returns the HTTP and gRPC URLs.
pub(crate) async fn start(
    tasks: &mut JoinSet<()>,
    authorization: &str,
    lag: Duration,
) -> (MockStore, String, String) {
    let store = MockStore {
        traces: Arc::default(),
        authorization: authorization.to_owned(),
        lag,
    };
    let http_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let grpc_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http_addr: SocketAddr = http_listener.local_addr().unwrap();
    let grpc_addr: SocketAddr = grpc_listener.local_addr().unwrap();
    let router = Router::new()
        .route("/api/public/otel/v1/traces", post(http_export))
        .route("/api/public/traces/{id}", get(read_trace))
        .with_state(store.clone());
    tasks.spawn(async move {
        axum::serve(http_listener, router).await.unwrap();
    });
    let service =
        TraceServiceServer::new(store.clone()).accept_compressed(CompressionEncoding::Gzip);
    tasks.spawn(async move {
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(grpc_listener))
            .await
            .unwrap();
    });
    (
        store,
        format!("http://{http_addr}"),
        format!("http://{grpc_addr}"),
    )
}

/// The harness's whole run against the mock, per protocol and loop kind.
mod tests {
    use super::*;
    use crate::client::{Protocol, basic_auth};
    use crate::load::{LoadConfig, run};

    fn config(protocol: Protocol, gzip: bool, http: &str, grpc: &str) -> LoadConfig {
        LoadConfig {
            label: "test".to_owned(),
            http: http.to_owned(),
            grpc: grpc.to_owned(),
            protocol,
            gzip,
            concurrency: 2,
            duration: Duration::from_millis(1500),
            spans_per_request: 20,
            pool_size: 4,
            rate: None,
            public_key: "pk-lf-bench".to_owned(),
            secret_key: "sk-lf-bench".to_owned(),
            server_pid: Some(std::process::id()),
            grpc_connections: 1,
            marker_interval: Some(Duration::from_millis(100)),
            poll_interval: Duration::from_millis(20),
            queryable_timeout: Duration::from_secs(5),
            drain_timeout: Duration::from_secs(5),
            max_pending_markers: 50,
            backoff: Duration::from_millis(50),
            sample_size: 10,
            json_out: None,
            ingest_only: false,
            observe: Vec::new(),
        }
    }

    async fn run_against_mock(protocol: Protocol, gzip: bool, rate: Option<f64>) {
        let lag = Duration::from_millis(200);
        let mut server = JoinSet::new();
        let (store, http, grpc) =
            start(&mut server, &basic_auth("pk-lf-bench", "sk-lf-bench"), lag).await;
        let mut settings = config(protocol, gzip, &http, &grpc);
        settings.rate = rate;
        let report = run(settings).await.unwrap();

        assert!(report.load.accepted_spans >= 20, "{:?}", report.load);
        assert_eq!(
            report.load.accepted_spans,
            report.load.accepted_requests * 20
        );
        assert!(
            report.load.failures.is_empty(),
            "{:?}",
            report.load.failures
        );
        assert_eq!(report.load.backpressure, 0);
        // Each request holds four whole traces, and the mock saw every one (plus the markers).
        assert!(store.trace_count() as u64 >= report.load.accepted_spans / 5);
        let markers = &report.markers;
        assert!(markers.delays_us.len() >= 5, "{markers:?}");
        assert_eq!(markers.timed_out, 0);
        // The mock starts a trace's lag just before it answers, so a delay may fall short of the
        // lag by the answer's transit time, never by more.
        let shortest = markers.delays_us.iter().min().copied().unwrap_or(0);
        assert!(
            shortest + 50_000 >= lag.as_micros() as u64,
            "shortest delay {shortest} µs"
        );
        let drain = report.drain.unwrap();
        assert!(
            drain >= Duration::from_millis(100) && drain < Duration::from_secs(2),
            "{drain:?}"
        );
        let (checked, found, complete) = report.sample;
        assert!(checked > 0);
        assert_eq!((found, complete), (checked, checked));
        assert!(report.memory.samples > 0 && report.memory.peak_rss_kib > 0);
        let json = report.to_json();
        assert_eq!(json["accepted_spans"], report.load.accepted_spans);
        assert!(json["queryable_ms"]["p99"].as_f64().unwrap() >= 200.0);
        assert!(report.to_text().contains("queryable"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn measures_a_grpc_run_end_to_end() {
        run_against_mock(Protocol::Grpc, false, None).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn measures_a_gzipped_http_run_end_to_end() {
        run_against_mock(Protocol::Http, true, None).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn measures_an_open_loop_grpc_gzip_run() {
        run_against_mock(Protocol::Grpc, true, Some(2000.0)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_ingest_only_run_never_reads_and_reports_observed_processes() {
        let mut server = JoinSet::new();
        let (_, http, grpc) = start(
            &mut server,
            &basic_auth("pk-lf-bench", "sk-lf-bench"),
            Duration::from_millis(200),
        )
        .await;
        let mut settings = config(Protocol::Grpc, false, &http, &grpc);
        settings.ingest_only = true;
        settings.marker_interval = None;
        settings.observe = vec![("me".to_owned(), std::process::id())];
        let report = run(settings).await.unwrap();
        assert!(report.load.accepted_spans >= 20);
        assert_eq!(report.markers.sent, 0);
        assert_eq!(report.markers.polls, 0);
        assert_eq!(report.drain, None);
        assert_eq!(report.sample, (0, 0, 0));
        assert_eq!(report.cpu.observed.len(), 1);
        assert!(!report.memory.timeline_kib.is_empty());
        let json = report.to_json();
        assert!(
            json["observed_cpu_cores"]["me"].as_f64().is_some(),
            "{json}"
        );
        assert!(report.to_text().contains("--ingest-only"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_wrong_key_stops_the_run_before_the_load() {
        let mut server = JoinSet::new();
        let (_, http, grpc) = start(
            &mut server,
            &basic_auth("pk-other", "sk-other"),
            Duration::ZERO,
        )
        .await;
        let error = run(config(Protocol::Http, false, &http, &grpc))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("http 401"), "{error}");
    }
}
