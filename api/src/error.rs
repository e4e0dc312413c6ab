//! The errors of the query API and their Langfuse-style JSON responses.
//!
//! Client errors carry a message that says what to fix. Backend errors are logged here, once,
//! and answered with a generic message so that no internals (SQL, paths, hosts) leak.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use periscope_core::auth::AuthError;
use periscope_core::error::{BackendError, ErrorCode, Retry, ServiceError};
use serde::Serialize;

/// Result of API handlers.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// Why an API request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A query parameter could not be parsed or is out of range.
    #[error("invalid query parameter {name}: {reason}")]
    InvalidParameter { name: &'static str, reason: String },
    /// The request body is invalid; the message names the field.
    #[error("invalid request body: {0}")]
    InvalidBody(String),
    /// The credentials are missing, malformed or wrong (or cannot be checked right now).
    #[error(transparent)]
    Unauthenticated(#[from] AuthError),
    /// Scores-only (Bearer) credentials were used on a read endpoint.
    #[error(
        "access scope denied: bearer (public key only) credentials may only create scores; \
         use Basic auth with the public and secret key"
    )]
    ScopeDenied,
    /// The addressed object does not exist in the caller's project.
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// The named object does not exist in the caller's project.
    #[error("{what} {name:?} not found")]
    NamedNotFound { what: &'static str, name: String },
    /// The request conflicts with stored data (a prompt type change, a deletion that would
    /// break a reference, …); the message says what to change.
    #[error("{0}")]
    Rejected(String),
    /// The operation is not allowed on this object.
    #[error("{0}")]
    Forbidden(String),
    /// A store failed.
    #[error("store request failed: {0}")]
    Backend(#[from] BackendError),
    /// The UI's login sessions cannot be read or written (a login, or a request authenticated
    /// by the session cookie): said as such, never answered like a logout.
    #[error("ui session store failed: {0}")]
    SessionStoreUnavailable(String),
}

/// What the client reads when the session store is down.
pub(crate) const SESSION_STORE_DOWN: &str =
    "login sessions are unavailable: the session store cannot be reached; retry later";

impl ApiError {
    /// Returns an invalid-parameter error.
    pub(crate) fn parameter(name: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidParameter {
            name,
            reason: reason.into(),
        }
    }

    /// Returns the HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        let code = match self {
            Self::InvalidParameter { .. } | Self::InvalidBody(_) | Self::Rejected(_) => {
                ErrorCode::InvalidArgument
            }
            Self::Unauthenticated(error) => error.code(),
            Self::ScopeDenied => ErrorCode::Unauthenticated,
            Self::NotFound { .. } | Self::NamedNotFound { .. } => ErrorCode::NotFound,
            Self::Forbidden(_) => ErrorCode::PermissionDenied,
            Self::Backend(error) => error.code(),
            Self::SessionStoreUnavailable(_) => ErrorCode::Unavailable,
        };
        StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// Returns the Langfuse error name of the `error` field.
    fn error_name(&self) -> &'static str {
        match self.status() {
            StatusCode::BAD_REQUEST => "InvalidRequestError",
            StatusCode::UNAUTHORIZED => "UnauthorizedError",
            StatusCode::FORBIDDEN => "AccessDeniedError",
            StatusCode::NOT_FOUND => "LangfuseNotFoundError",
            StatusCode::CONFLICT => "ConflictError",
            StatusCode::SERVICE_UNAVAILABLE => "ServiceUnavailableError",
            _ => "InternalServerError",
        }
    }

    /// Returns the message shown to the client: the error itself for client errors, a
    /// generic sentence for server-side failures.
    fn public_message(&self) -> String {
        if let Self::SessionStoreUnavailable(_) = self {
            return SESSION_STORE_DOWN.to_owned();
        }
        match self.status() {
            StatusCode::SERVICE_UNAVAILABLE => {
                "the service is temporarily unavailable; retry later".to_owned()
            }
            status if status.is_server_error() => "internal server error".to_owned(),
            _ => match self {
                // The store's own words may name tables or hosts.
                Self::Backend(_) => "the request was rejected by the store".to_owned(),
                other => other.to_string(),
            },
        }
    }

    fn retry(&self) -> Retry {
        match self {
            Self::Backend(error) => error.retry(),
            Self::Unauthenticated(error) => error.retry(),
            Self::SessionStoreUnavailable(_) => Retry::AfterMillis(1000),
            _ => Retry::No,
        }
    }
}

/// The JSON body of every error response.
#[derive(Debug, Serialize)]
struct ErrorBody {
    message: String,
    error: &'static str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            // Logged here and only here, so every failure is logged exactly once.
            if status == StatusCode::SERVICE_UNAVAILABLE {
                tracing::warn!(error = %self, "api request failed: backend unavailable");
            } else {
                tracing::error!(error = %self, "api request failed");
            }
        }
        let body = ErrorBody {
            message: self.public_message(),
            error: self.error_name(),
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Retry::AfterMillis(millis) = self.retry() {
            let seconds = millis.div_ceil(1000).max(1);
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;
    use serde_json::{Value, json};

    async fn body_of(error: ApiError) -> (StatusCode, Option<HeaderValue>, Value) {
        let response = error.into_response();
        let status = response.status();
        let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
        let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, retry_after, serde_json::from_slice(&bytes).unwrap())
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        // The body is already in memory, so one poll with a no-op waker completes it.
        let mut future = std::pin::pin!(future);
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut context) {
            std::task::Poll::Ready(output) => output,
            std::task::Poll::Pending => panic!("in-memory body was not ready"),
        }
    }

    #[test]
    fn invalid_parameter_is_400_and_names_the_parameter() {
        let (status, _, body) =
            block_on(body_of(ApiError::parameter("page", "must be at least 1")));
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body,
            json!({"message": "invalid query parameter page: must be at least 1", "error": "InvalidRequestError"})
        );
    }

    #[test]
    fn not_found_uses_langfuse_wording() {
        let (status, _, body) = block_on(body_of(ApiError::NotFound { what: "Trace" }));
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            body,
            json!({"message": "Trace not found", "error": "LangfuseNotFoundError"})
        );
    }

    #[test]
    fn auth_failures_are_401_and_scope_denial_explains_itself() {
        let (status, _, body) = block_on(body_of(ApiError::from(AuthError::Invalid)));
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            body,
            json!({"message": "invalid api key", "error": "UnauthorizedError"})
        );
        let (status, _, body) = block_on(body_of(ApiError::ScopeDenied));
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(body["message"].as_str().unwrap().contains("Basic auth"));
    }

    #[test]
    fn backend_failures_hide_internals_and_hint_a_retry() {
        let unavailable = BackendError::Unavailable {
            backend: "sqlite",
            message: "database /var/secret.db is locked".to_owned(),
        };
        let (status, retry_after, body) = block_on(body_of(ApiError::from(unavailable)));
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry_after, Some(HeaderValue::from_static("1")));
        assert!(!body["message"].as_str().unwrap().contains("secret"));
        assert_eq!(body["error"], "ServiceUnavailableError");

        let other = BackendError::Other {
            backend: "sqlite",
            context: "failed to decode row of table traces".to_owned(),
            source: "boom".into(),
        };
        let (status, _, body) = block_on(body_of(ApiError::from(other)));
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            body,
            json!({"message": "internal server error", "error": "InternalServerError"})
        );
    }

    #[test]
    fn auth_backend_outage_is_503_not_401() {
        let outage = AuthError::Unavailable(BackendError::Unavailable {
            backend: "sqlite",
            message: "locked".to_owned(),
        });
        let (status, _, _) = block_on(body_of(ApiError::from(outage)));
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    }
}
