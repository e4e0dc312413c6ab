//! The shared state of the API handlers.

use std::sync::Arc;

use periscope_core::auth::Authenticator;
use periscope_core::comments::CommentStore;
use periscope_core::datasets::{DatasetStore, ExperimentIndex};
use periscope_core::meta::MetaStore;
use periscope_core::prompts::PromptStore;
use periscope_core::score_configs::ScoreConfigStore;
use periscope_core::store::TraceStore;

/// What every handler of the query API needs.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// Traces, observations, scores, sessions and metrics.
    pub traces: Arc<dyn TraceStore>,
    /// Projects and model definitions.
    pub meta: Arc<dyn MetaStore>,
    /// Prompt versions, labels and tags (`periscope_api::router` puts a cache in front).
    pub prompts: Arc<dyn PromptStore>,
    /// Datasets, dataset items, and runs created through `POST /dataset-run-items`.
    pub datasets: Arc<dyn DatasetStore>,
    /// Score configs (`/score-configs`).
    pub score_configs: Arc<dyn ScoreConfigStore>,
    /// Comments on traces, observations, sessions and prompts (`/comments`).
    pub comments: Arc<dyn CommentStore>,
    /// Dataset runs recorded in experiment spans (usually the trace store).
    pub experiments: Arc<dyn ExperimentIndex>,
    /// Verifies the `Authorization` header of each request.
    pub auth: Authenticator,
    /// The server version reported by `GET /api/public/health`.
    pub version: &'static str,
}
