//! `GET /api/public/projects`: the caller's own project (API keys belong to one project).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::Result;
use crate::state::ApiState;

/// Periscope has no organizations; every project reports this one.
const ORGANIZATION_ID: &str = "default";
const ORGANIZATION_NAME: &str = "Default";

/// Returns `{"data":[{"id","name","organization":{"id","name"},"metadata":{}}]}`.
pub(crate) async fn list(State(state): State<ApiState>, caller: Caller) -> Result<Json<Value>> {
    let project = state.meta.get_project(&caller.project_id).await?;
    // A key whose project row is missing still names a project: report it by id.
    let name = project.map_or_else(|| caller.project_id.clone(), |project| project.name);
    Ok(Json(json!({
        "data": [{
            "id": caller.project_id,
            "name": name,
            "organization": {"id": ORGANIZATION_ID, "name": ORGANIZATION_NAME},
            "metadata": {},
        }]
    })))
}
