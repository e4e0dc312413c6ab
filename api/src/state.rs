//! The shared state of the API handlers.

use std::sync::Arc;

use periscope_core::annotation::{AnnotationStore, ScoreWriter};
use periscope_core::auth::Authenticator;
use periscope_core::cache::Cache;
use periscope_core::comments::CommentStore;
use periscope_core::datasets::{DatasetStore, ExperimentIndex};
use periscope_core::meta::MetaStore;
use periscope_core::prompts::PromptStore;
use periscope_core::score_configs::ScoreConfigStore;
use periscope_core::sharing::ShareStore;
use periscope_core::sharing::api_keys::{AdminToken, ApiKeyAdmin};
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
    /// Where the web UI's login sessions live: the deployment's cache, so that with several
    /// api processes (Redis) a session works on all of them; in process in `periscope serve`.
    pub ui_sessions: Arc<dyn Cache>,
    /// The server version reported by `GET /api/public/health`.
    pub version: &'static str,
    /// Annotation queues, their items and assignments (`/annotation-queues`).
    pub annotations: Arc<dyn AnnotationStore>,
    /// Where completed annotation items write their scores (the ingest log); `None` in a
    /// process without the log, where annotation scores are refused with 503.
    pub score_writer: Option<Arc<dyn ScoreWriter>>,
    /// Public sharing of traces and sessions (`/share/...`, `PATCH /traces/{id}`).
    pub shares: Arc<dyn ShareStore>,
    /// API key administration (`/projects/{projectId}/apiKeys`); `None` where the meta store
    /// has no implementation yet, answered with 503.
    pub api_keys: Option<Arc<dyn ApiKeyAdmin>>,
    /// The cross-project admin credential (`PERISCOPE_ADMIN_TOKEN`), when configured.
    pub admin_token: Option<AdminToken>,
    /// Prompt labels only the admin token may move (`prompts.protected_labels`).
    pub protected_labels: Arc<Vec<String>>,
    /// LLM connections, evaluator templates, evaluators and their jobs (`/llm-connections`,
    /// `/evaluator-templates`, `/evaluators`); `None` where the meta store has no evaluator
    /// storage, answered with 400 naming the reason.
    pub evals: Option<periscope_core::evals::EvalServices>,
}
