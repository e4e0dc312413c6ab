//! The Langfuse-compatible read API of Periscope (`/api/public/...`), plus model definitions.
//!
//! Every route except `GET /api/public/health` needs Basic auth (public and secret key); a
//! Bearer (scores-only) key is refused with 401. Handlers are thin: parse the query string
//! (`params`), ask the `TraceStore`/`MetaStore`, and convert records into Langfuse's JSON shapes
//! (`views`). Field names and shapes follow WIRE-PROTOCOL.md §12 and Langfuse's fern
//! definitions.
//!
//! Errors are JSON `{"message", "error"}`: 400 `InvalidRequestError` for bad parameters or
//! bodies (naming the parameter), 401 `UnauthorizedError`, 404 `LangfuseNotFoundError`, and a
//! generic 500/503 for backend failures, which are logged once and never leak internals.

mod auth;
mod cursor;
mod error;
mod params;
mod routes;
mod state;
mod ui;
mod views;

use axum::Router;
use axum::routing::{get, post};

pub use error::{ApiError, Result};
pub use state::ApiState;

/// Returns the routes of the query API, ready to merge into the server's router.
///
/// The router has no fallback, so it merges with the ingest router (which serves the POST
/// side of `/api/public/scores`).
/// `state.prompts` is wrapped in an in-process cache of prompt lookups.
pub fn router(state: ApiState) -> Router {
    router_with_shared_cache(state, None)
}

/// Like [`router`], with prompt-cache invalidations shared through `shared` (Redis), for
/// deployments with several api processes.
pub fn router_with_shared_cache(
    mut state: ApiState,
    shared: Option<std::sync::Arc<dyn periscope_core::cache::Cache>>,
) -> Router {
    // Every prompt read goes through one in-process cache, invalidated by the writes of
    // this router (the SDK fetches prompts on its hot path) and, with `shared`, of others.
    state.prompts = routes::prompts::cached(state.prompts, shared);
    routes().with_state(state)
}

/// Returns the route table, still waiting for its state.
fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/public/health", get(routes::health::health))
        .route("/api/public/projects", get(routes::projects::list))
        .route("/api/public/traces", get(routes::traces::list))
        .route("/api/public/traces/{id}", get(routes::traces::get_one))
        .route("/api/public/observations", get(routes::observations::list))
        .route(
            "/api/public/observations/{id}",
            get(routes::observations::get_one),
        )
        .route(
            "/api/public/v2/observations",
            get(routes::observations::list_v2),
        )
        .route("/api/public/sessions", get(routes::sessions::list))
        .route("/api/public/sessions/{id}", get(routes::sessions::get_one))
        .route("/api/public/scores", get(routes::scores::list))
        .route(
            "/api/public/scores/{id}",
            get(routes::scores::get_one).delete(routes::scores::delete),
        )
        .route("/api/public/v2/scores", get(routes::scores::list))
        .route("/api/public/v2/scores/{id}", get(routes::scores::get_one))
        .route("/api/public/metrics/daily", get(routes::metrics::daily))
        .route("/api/public/v2/metrics", get(routes::metrics_v2::query))
        .route(
            "/api/public/models",
            get(routes::models::list).post(routes::models::create),
        )
        .route(
            "/api/public/models/{id}",
            get(routes::models::get_one).delete(routes::models::delete),
        )
        .route(
            "/api/public/v2/datasets",
            get(routes::datasets::list).post(routes::datasets::create),
        )
        .route(
            "/api/public/v2/datasets/{name}",
            get(routes::datasets::get_one),
        )
        .route("/api/public/datasets", post(routes::datasets::create_v1))
        .route(
            "/api/public/datasets/{name}",
            get(routes::datasets::get_one_v1),
        )
        .route(
            "/api/public/datasets/{name}/runs",
            get(routes::datasets::runs::list),
        )
        .route(
            "/api/public/datasets/{name}/runs/{run_name}",
            get(routes::datasets::runs::get_one).delete(routes::datasets::runs::delete),
        )
        .route(
            "/api/public/dataset-items",
            get(routes::datasets::items::list).post(routes::datasets::items::create),
        )
        .route(
            "/api/public/dataset-items/{id}",
            get(routes::datasets::items::get_one),
        )
        .route(
            "/api/public/dataset-run-items",
            get(routes::datasets::runs::list_items).post(routes::datasets::runs::create_item),
        )
        .route(
            "/api/public/score-configs",
            get(routes::score_configs::list).post(routes::score_configs::create),
        )
        .route(
            "/api/public/score-configs/{id}",
            get(routes::score_configs::get_one).patch(routes::score_configs::update),
        )
        .route(
            "/api/public/comments",
            get(routes::comments::list).post(routes::comments::create),
        )
        .route("/api/public/comments/{id}", get(routes::comments::get_one))
        .route(
            "/api/public/v2/prompts",
            get(routes::prompts::list).post(routes::prompts::create),
        )
        .route(
            "/api/public/v2/prompts/{*path}",
            get(routes::prompts::get_one)
                .patch(routes::prompts::update_labels)
                .delete(routes::prompts::delete),
        )
        .merge(routes::annotation::router())
        .merge(routes::sharing::router())
        .merge(routes::admin::router())
        .merge(routes::evaluators::router())
        .merge(ui::router())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::post;

    #[test]
    fn the_route_table_builds_and_merges_with_the_ingest_routes() {
        // axum panics on malformed paths and on overlapping method routes; the ingest router
        // owns `POST /api/public/scores` and must merge with our `GET` of the same path.
        let ingest = Router::new()
            .route("/api/public/scores", post(|| async {}))
            .route("/api/public/ingestion", post(|| async {}));
        let _merged = routes().merge(ingest);
    }
}
