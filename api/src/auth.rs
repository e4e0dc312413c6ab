//! The `Caller` extractor: authenticates the `Authorization` header and requires full
//! (Basic) access, as every read endpoint does. A request without the header may instead
//! carry the web UI's session cookie (`ui::session_project`), which grants the same access.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use periscope_core::auth::{AuthError, AuthScope};

use crate::error::ApiError;
use crate::state::ApiState;

/// An authenticated caller with full access to one project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller {
    /// The only project this request may read or change.
    pub(crate) project_id: String,
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .map(|value| value.to_str())
            .transpose()
            .map_err(|_| AuthError::Malformed("authorization header is not visible ascii"))?;
        if header.is_none()
            && let Some(project_id) =
                crate::ui::session_project(&parts.method, &parts.headers, state).await?
        {
            return Ok(Self { project_id });
        }
        let context = state.auth.authenticate(header).await?;
        match context.scope {
            AuthScope::Full => Ok(Self {
                project_id: context.project_id,
            }),
            AuthScope::ScoresOnly => Err(ApiError::ScopeDenied),
        }
    }
}
