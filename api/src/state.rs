//! The shared state of the API handlers.

use std::sync::Arc;

use periscope_core::auth::Authenticator;
use periscope_core::meta::MetaStore;
use periscope_core::store::TraceStore;

/// What every handler of the query API needs.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// Traces, observations, scores, sessions and metrics.
    pub traces: Arc<dyn TraceStore>,
    /// Projects and model definitions.
    pub meta: Arc<dyn MetaStore>,
    /// Verifies the `Authorization` header of each request.
    pub auth: Authenticator,
    /// The server version reported by `GET /api/public/health`.
    pub version: &'static str,
}
