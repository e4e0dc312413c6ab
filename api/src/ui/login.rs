//! Logging in to the UI: `POST /ui/api/login` checks a project's key pair with the same
//! `Authenticator` as the API and sets the `periscope_session` cookie; `GET /ui/api/session`
//! says who is logged in; `POST /ui/api/logout` ends the session. The `Caller` extractor
//! accepts the cookie through [`session_project`].
//!
//! The cookie is HttpOnly (scripts never see it), SameSite=Strict and, when the request came
//! over HTTPS, Secure. Requests that change state must also come from this origin (checked
//! with `Sec-Fetch-Site` or `Origin`), so another site cannot act with the cookie.
//!
//! Sessions live in `ApiState::ui_sessions`, the deployment's cache, so every api process
//! knows them; when that cache fails, these endpoints and cookie requests answer 503.

use std::time::SystemTime;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::header::{COOKIE, HOST, ORIGIN, SET_COOKIE};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use periscope_core::auth::{AuthError, AuthScope};
use serde::{Deserialize, Serialize};

use super::error::UiError;
use super::session::{Session, SessionStore};
use crate::error::ApiError;
use crate::state::ApiState;

/// Name of the session cookie.
pub(crate) const COOKIE_NAME: &str = "periscope_session";

/// The login form's body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LoginRequest {
    public_key: String,
    secret_key: String,
}

/// Who is logged in (never the secret key).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionView {
    project_id: String,
    public_key: String,
}

/// `POST /ui/api/login`: verifies the key pair and starts a session.
pub(crate) async fn login(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<Response, UiError> {
    require_same_origin(&Method::POST, &headers)?;
    let Json(request) = body.map_err(|rejection| ApiError::InvalidBody(rejection.body_text()))?;
    let pair = format!(
        "{}:{}",
        request.public_key.trim(),
        request.secret_key.trim()
    );
    let authorization = format!("Basic {}", STANDARD.encode(pair));
    let context = state.auth.authenticate(Some(&authorization)).await?;
    if context.scope != AuthScope::Full {
        return Err(ApiError::ScopeDenied.into());
    }
    let token = SessionStore::new(state.ui_sessions.as_ref())
        .create(
            context.project_id.clone(),
            context.public_key.clone(),
            SystemTime::now(),
        )
        .await?;
    let cookie = format!(
        "{COOKIE_NAME}={token}; HttpOnly; SameSite=Strict; Path=/{}",
        if came_over_https(&headers) {
            "; Secure"
        } else {
            ""
        }
    );
    let view = SessionView {
        project_id: context.project_id,
        public_key: context.public_key,
    };
    Ok(([(SET_COOKIE, cookie)], Json(view)).into_response())
}

/// `GET /ui/api/session`: the logged-in project, or 401.
pub(crate) async fn current(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    let session = live_session(&Method::GET, &headers, &state)
        .await?
        .ok_or(AuthError::Missing)?;
    let view = SessionView {
        project_id: session.project_id,
        public_key: session.public_key,
    };
    Ok(Json(view).into_response())
}

/// `POST /ui/api/logout`: ends the session and clears the cookie (204 even without one).
pub(crate) async fn logout(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    require_same_origin(&Method::POST, &headers)?;
    if let Some(token) = session_token(&headers) {
        SessionStore::new(state.ui_sessions.as_ref())
            .remove(token)
            .await?;
    }
    let expired = format!("{COOKIE_NAME}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, [(SET_COOKIE, expired)]).into_response())
}

/// The project of the request's session cookie: `Ok(None)` without a cookie, 401 for an
/// unknown or expired one (or a revoked key), 403 for a cross-site state change, 503 when the
/// session store cannot be read.
pub(crate) async fn session_project(
    method: &Method,
    headers: &HeaderMap,
    state: &ApiState,
) -> Result<Option<String>, ApiError> {
    Ok(live_session(method, headers, state)
        .await?
        .map(|session| session.project_id))
}

async fn live_session(
    method: &Method,
    headers: &HeaderMap,
    state: &ApiState,
) -> Result<Option<Session>, UiError> {
    let Some(token) = session_token(headers) else {
        return Ok(None);
    };
    require_same_origin(method, headers)?;
    let session = SessionStore::new(state.ui_sessions.as_ref())
        .touch(token, SystemTime::now())
        .await?
        .ok_or(AuthError::Invalid)?;
    // A key deleted since the login ends its sessions (within the auth cache's TTL).
    let key = state
        .auth
        .authenticate(Some(&format!("Bearer {}", session.public_key)))
        .await?;
    if key.project_id != session.project_id {
        return Err(AuthError::Invalid.into());
    }
    Ok(Some(session))
}

/// Returns the value of the session cookie, if the request carries one.
fn session_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
}

/// Refuses a state-changing request that a browser marks as coming from another site.
/// Safe methods pass: SameSite=Strict already keeps the cookie off cross-site requests, and
/// reads change nothing.
fn require_same_origin(method: &Method, headers: &HeaderMap) -> Result<(), ApiError> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let header = |name| headers.get(name).and_then(|value| value.to_str().ok());
    let same_origin = match (header("sec-fetch-site"), header(ORIGIN.as_str())) {
        (Some(site), _) => site == "same-origin",
        (None, Some(origin)) => header(HOST.as_str()).is_some_and(|host| {
            origin
                .split_once("://")
                .is_some_and(|(_, origin_host)| origin_host == host)
        }),
        // Neither header: not a browser request (browsers send `Origin` on every POST, PATCH
        // and DELETE), so there is no cross-site page to defend against.
        (None, None) => true,
    };
    if same_origin {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "cross-site request refused: the UI session only works from the UI's own origin".into(),
        ))
    }
}

/// Whether the browser reached us over HTTPS, directly or through a TLS-terminating proxy.
fn came_over_https(headers: &HeaderMap) -> bool {
    let header = |name| headers.get(name).and_then(|value| value.to_str().ok());
    header("x-forwarded-proto").is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
        || header("forwarded").is_some_and(|value| {
            value
                .to_ascii_lowercase()
                .split([';', ','])
                .any(|part| part.trim() == "proto=https")
        })
        || header(ORIGIN.as_str()).is_some_and(|origin| origin.starts_with("https://"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let map = headers(&[("cookie", "a=1; periscope_session=tok; b=2")]);
        assert_eq!(session_token(&map), Some("tok"));
        let map = headers(&[("cookie", "a=1"), ("cookie", "periscope_session=t2")]);
        assert_eq!(session_token(&map), Some("t2"));
        assert_eq!(
            session_token(&headers(&[("cookie", "periscope_session=")])),
            None
        );
        assert_eq!(session_token(&HeaderMap::new()), None);
    }

    #[test]
    fn cross_site_state_changes_are_refused() {
        let post = Method::POST;
        assert!(
            require_same_origin(&Method::GET, &headers(&[("sec-fetch-site", "cross-site")]))
                .is_ok()
        );
        assert!(require_same_origin(&post, &headers(&[("sec-fetch-site", "same-origin")])).is_ok());
        assert!(require_same_origin(&post, &headers(&[("sec-fetch-site", "cross-site")])).is_err());
        assert!(require_same_origin(&post, &headers(&[("sec-fetch-site", "same-site")])).is_err());
        let same = headers(&[("origin", "http://h:3000"), ("host", "h:3000")]);
        assert!(require_same_origin(&post, &same).is_ok());
        let other = headers(&[("origin", "https://evil.example"), ("host", "h:3000")]);
        assert!(require_same_origin(&post, &other).is_err());
        assert!(require_same_origin(&Method::DELETE, &HeaderMap::new()).is_ok());
    }

    #[test]
    fn https_is_recognised_behind_a_proxy() {
        assert!(came_over_https(&headers(&[("x-forwarded-proto", "https")])));
        assert!(came_over_https(&headers(&[(
            "forwarded",
            "for=1.2.3.4;proto=https"
        )])));
        assert!(came_over_https(&headers(&[("origin", "https://x")])));
        assert!(!came_over_https(&headers(&[(
            "origin",
            "http://localhost:3000"
        )])));
        assert!(!came_over_https(&HeaderMap::new()));
    }
}
