//! The ingest edge of Periscope: OTLP over gRPC and HTTP, Langfuse REST writes and the native
//! gRPC `IngestService`, all appending to the event log (`periscope.ingest.v1`).
//!
//! Every request goes through the same steps: authenticate, reserve in-flight bytes (429 /
//! `RESOURCE_EXHAUSTED` when the budget is spent), read the body within `max_body_bytes`
//! (inflating gzip with the same limit), decode once, validate, split into one
//! `periscope.v1.Event` per trace, append all of them in one log call, and acknowledge only
//! after the log accepted them. A failed append is answered 503 / `UNAVAILABLE` with a retry
//! hint, never with a success. Nothing is mapped, priced or deduplicated here: that happens
//! after the log, idempotently.

mod body;
mod error;
mod langfuse;
mod otlp;
mod retry_info;
mod state;

#[cfg(test)]
mod tests;

use axum::Router;
use axum::routing::post;

pub use error::{IngestError, Result};
pub use langfuse::native::NativeIngestService;
pub use otlp::grpc::OtlpTraceServer;
pub use state::{IngestLimits, IngestState};

/// The OTLP/HTTP path used by Langfuse SDKs.
pub const LANGFUSE_OTLP_PATH: &str = "/api/public/otel/v1/traces";
/// The default OTLP/HTTP path of plain OpenTelemetry exporters.
pub const OTLP_PATH: &str = "/v1/traces";
/// Langfuse's legacy batch ingestion.
pub const INGESTION_PATH: &str = "/api/public/ingestion";
/// Langfuse score creation (one object or an array).
pub const SCORES_PATH: &str = "/api/public/scores";

/// Returns the HTTP routes of the ingest edge (POST only), ready to merge into the server's
/// router.
pub fn http_router(state: IngestState) -> Router {
    Router::new()
        .route(LANGFUSE_OTLP_PATH, post(otlp::http::export_traces))
        .route(OTLP_PATH, post(otlp::http::export_traces))
        .route(INGESTION_PATH, post(langfuse::http::ingestion))
        .route(SCORES_PATH, post(langfuse::http::scores))
        .with_state(state)
}

/// Returns the gRPC services of the ingest edge: OTLP `TraceService/Export` and
/// `periscope.v1.IngestService/Ingest`, both accepting gzip and limited to `max_body_bytes`.
pub fn grpc_routes(state: IngestState) -> tonic::service::Routes {
    tonic::service::Routes::new(OtlpTraceServer::new(state.clone()))
        .add_service(NativeIngestService::new(state).into_server())
}
