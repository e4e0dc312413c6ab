//! The listeners every role shares: HTTP (its routes plus `/livez`, `/readyz`, `/metrics`)
//! and, for the ingest role, gRPC.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use anyhow::Context as _;
use axum::Router;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use tokio::task::JoinHandle;

use periscope_core::pipeline::{PipelineStats, render_prometheus};
use periscope_core::shutdown::Shutdown;

/// Concurrent gRPC requests per connection.
const GRPC_CONCURRENCY_PER_CONNECTION: usize = 32;

/// What `GET /metrics` reports: the counters of the stages this process runs.
#[derive(Debug, Clone, Default)]
pub(crate) struct PipelineMetrics {
    pub(crate) stages: Vec<(&'static str, Arc<PipelineStats>)>,
    /// Uncommitted pipeline events, when this process measures them (the ingest role).
    pub(crate) backlog: Option<Arc<AtomicU64>>,
}

impl PipelineMetrics {
    /// Renders the Prometheus text exposition. No label carries project data.
    fn render(&self) -> String {
        let stages: Vec<(&str, &PipelineStats)> = self
            .stages
            .iter()
            .map(|(name, stats)| (*name, stats.as_ref()))
            .collect();
        let backlog = self
            .backlog
            .as_ref()
            .map_or(0, |backlog| backlog.load(Ordering::Relaxed));
        render_prometheus(&stages, backlog)
    }
}

/// `/livez` (the process runs), `/readyz` (it accepts work) and `/metrics`.
pub(crate) fn probes(ready: Arc<AtomicBool>, metrics: PipelineMetrics) -> Router {
    Router::new()
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
        )
        .route(
            "/metrics",
            get(move || {
                let text = metrics.render();
                async move { ([(CONTENT_TYPE, "text/plain; version=0.0.4")], text) }
            }),
        )
}

/// Binds `addr`, naming the configuration key in the error.
pub(crate) async fn bind(addr: SocketAddr, key: &str) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("failed to listen on {addr} ({key})"))
}

/// Serves `router` until shutdown, then drains in-flight requests.
pub(crate) fn serve_http(
    shutdown: &Shutdown,
    listener: tokio::net::TcpListener,
    router: Router,
) -> JoinHandle<std::io::Result<()>> {
    let token = shutdown.token();
    shutdown.spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move { token.cancelled().await })
            .await
    })
}

/// Serves the ingest gRPC services until shutdown.
pub(crate) fn serve_grpc(
    shutdown: &Shutdown,
    listener: tokio::net::TcpListener,
    routes: tonic::service::Routes,
) -> JoinHandle<Result<(), tonic::transport::Error>> {
    let token = shutdown.token();
    shutdown.spawn(async move {
        let incoming = tonic::transport::server::TcpIncoming::from(listener);
        // tonic buffers a whole message before the handler reserves in-flight bytes, so
        // bound the requests per connection to keep memory bounded.
        tonic::transport::Server::builder()
            .concurrency_limit_per_connection(GRPC_CONCURRENCY_PER_CONNECTION)
            .add_routes(routes)
            .serve_with_incoming_shutdown(incoming, async move { token.cancelled().await })
            .await
    })
}
