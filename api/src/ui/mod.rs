//! The web UI, served by the binary itself: `/` and `/ui/` (the app), `/ui/assets/*` (its
//! embedded files), `/ui/share/traces/{id}` (the public share page) and Langfuse's
//! `htmlPath` (`/project/{project}/traces/{id}`), which redirects into the app.
//!
//! The login page posts a project's key pair once to `/ui/api/login`, which sets an HttpOnly
//! session cookie (`login`, `session`); the app then calls the public API (`/api/public/...`)
//! with that cookie instead of Basic auth, and the browser never keeps the secret key.
//! Sessions live in the deployment's cache (`ApiState::ui_sessions`), so they work on every
//! api process behind a load balancer. The share page calls the credential-free
//! `/api/public/share/...` reads.
//! Every page is sent with a strict Content-Security-Policy (only same-origin scripts,
//! styles and requests), so traced data, which the scripts insert as text, cannot run code.

mod assets;
mod error;
mod login;
mod scores;
mod session;

pub(crate) use login::session_project;

use axum::Router;
use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use assets::Asset;

const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// Returns the UI's routes: the pages and the login session endpoints.
pub(crate) fn router() -> Router<crate::state::ApiState> {
    Router::new()
        .route("/ui/api/login", post(login::login))
        .route("/ui/api/logout", post(login::logout))
        .route("/ui/api/session", get(login::current))
        .route("/ui/api/scores", post(scores::create))
        .merge(page_routes())
}

/// Returns the routes of the pages and assets; they need no state.
fn page_routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(app))
        .route("/ui", get(app))
        .route("/ui/", get(app))
        .route("/ui/assets/{name}", get(asset))
        .route("/ui/share/traces/{id}", get(share_page))
        .route("/project/{project_id}/traces/{trace_id}", get(trace_link))
}

/// Sends an embedded file with the headers every UI response carries.
fn send(asset: &Asset) -> Response {
    let headers = [
        (CONTENT_TYPE, asset.content_type),
        // Assets change with the binary, which a browser cannot know: always revalidate.
        (CACHE_CONTROL, "no-cache"),
        (
            HeaderName::from_static("content-security-policy"),
            CONTENT_SECURITY_POLICY,
        ),
        (HeaderName::from_static("x-content-type-options"), "nosniff"),
        // Share links carry trace ids; do not hand them to other sites.
        (HeaderName::from_static("referrer-policy"), "no-referrer"),
    ];
    (headers, asset.body).into_response()
}

async fn app() -> Response {
    send(&assets::APP_HTML)
}

async fn share_page() -> Response {
    send(&assets::SHARE_HTML)
}

async fn asset(Path(name): Path<String>) -> Response {
    match assets::find(&name) {
        Some(asset) => send(asset),
        None => (StatusCode::NOT_FOUND, "no such UI asset").into_response(),
    }
}

/// Redirects Langfuse's `htmlPath` to the trace in the app (the app's key pair decides the
/// project, so the project part of the path only has to be well-formed).
async fn trace_link(Path((_project_id, trace_id)): Path<(String, String)>) -> Response {
    let location = format!("/ui/#/traces/{}", percent_encode(&trace_id));
    (StatusCode::SEE_OTHER, [(LOCATION, location)]).into_response()
}

/// Percent-encodes everything but RFC 3986's unreserved characters, as the app's
/// `decodeURIComponent` expects (form encoding's `+` for a space would not round-trip).
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests;
