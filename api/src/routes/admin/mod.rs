//! Administration of projects' API keys (docs/adr/0015-admin-api.md):
//!
//! - `GET /projects/{projectId}/apiKeys` → `{apiKeys: [ApiKeySummary]}`;
//! - `POST /projects/{projectId}/apiKeys` `{note?}` → ApiKeyResponse (the secret, once);
//! - `DELETE /projects/{projectId}/apiKeys/{apiKeyId}` → `{success: true}`;
//! - `POST /projects` `{name, id?}` → the project (admin token only).
//!
//! Two credentials may call them: `Authorization: Bearer <PERISCOPE_ADMIN_TOKEN>` for any
//! project, or a project's own Basic key pair for that project only (403 for another one).

mod api_keys;
mod projects;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::routing::{delete, get, post};
use periscope_core::auth::{AuthError, AuthScope};

use crate::error::{ApiError, Result};
use crate::state::ApiState;

/// Returns the admin routes.
pub(crate) fn router() -> Router<ApiState> {
    Router::new()
        .route("/api/public/projects", post(projects::create))
        .route(
            "/api/public/projects/{project_id}/apiKeys",
            get(api_keys::list).post(api_keys::create),
        )
        .route(
            "/api/public/projects/{project_id}/apiKeys/{key_id}",
            delete(api_keys::revoke),
        )
}

/// Who called an admin route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AdminCaller {
    /// The admin token: every project.
    Admin,
    /// A project's own key pair: that project only.
    Project(String),
}

impl AdminCaller {
    /// Refuses a project caller acting on another project.
    pub(crate) fn authorize(&self, project_id: &str) -> Result<()> {
        match self {
            Self::Admin => Ok(()),
            Self::Project(own) if own == project_id => Ok(()),
            Self::Project(_) => Err(ApiError::Forbidden(
                "a project's API key may only manage that project's keys; use the admin token \
                 (PERISCOPE_ADMIN_TOKEN) for other projects"
                    .into(),
            )),
        }
    }
}

impl FromRequestParts<ApiState> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .map(|value| value.to_str())
            .transpose()
            .map_err(|_| AuthError::Malformed("authorization header is not visible ascii"))?;
        if let (Some(token), Some(header)) = (&state.admin_token, header)
            && let Some((scheme, credentials)) = header.trim().split_once(' ')
            && scheme.eq_ignore_ascii_case("bearer")
            && token.matches(credentials.trim())
        {
            return Ok(Self::Admin);
        }
        let context = state.auth.authenticate(header).await?;
        match context.scope {
            AuthScope::Full => Ok(Self::Project(context.project_id)),
            AuthScope::ScoresOnly => Err(ApiError::ScopeDenied),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_keys_manage_only_their_own_project() {
        assert!(AdminCaller::Admin.authorize("any").is_ok());
        let caller = AdminCaller::Project("p1".into());
        assert!(caller.authorize("p1").is_ok());
        let error = caller.authorize("p2").unwrap_err();
        assert_eq!(error.status(), axum::http::StatusCode::FORBIDDEN);
        let _routes: Router<ApiState> = router();
    }
}
