//! An in-process stand-in for `periscope serve` (OTLP/gRPC, OTLP/HTTP and `GET /traces/{id}`),
//! so that the harness's whole run can be tested without the real server. Traces become
//! readable a fixed delay after their request was acknowledged, like a pipeline's lag.

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
