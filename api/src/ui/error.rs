//! Errors of the UI's session endpoints: the API's own errors, plus a session store that
//! cannot be reached, which is answered with 503 and says so, rather than looking like a
//! logout (the UI would send the user back to the login form, which cannot help either).

use axum::response::{IntoResponse, Response};
use periscope_core::auth::AuthError;

use super::session::SessionStoreError;
use crate::error::ApiError;

/// Why a session endpoint failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UiError {
    /// Any error the API answers the same way everywhere (auth, CSRF, bodies).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The session store failed.
    #[error(transparent)]
    SessionStore(#[from] SessionStoreError),
}

impl From<AuthError> for UiError {
    fn from(error: AuthError) -> Self {
        Self::Api(error.into())
    }
}

impl From<UiError> for ApiError {
    /// Session endpoints and the `Caller` extractor of `/api/public` answer alike: every
    /// session-store failure, whatever its kind, is a 503 that names the session store.
    fn from(error: UiError) -> Self {
        match error {
            UiError::Api(error) => error,
            UiError::SessionStore(SessionStoreError(source)) => {
                ApiError::SessionStoreUnavailable(source.to_string())
            }
        }
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;
    use axum::http::StatusCode;
    use axum::http::header::RETRY_AFTER;
    use periscope_core::error::BackendError;

    use crate::error::SESSION_STORE_DOWN;

    fn store_down() -> UiError {
        // A Redis error that is not "unavailable" (e.g. WRONGTYPE) must still be a 503.
        UiError::SessionStore(SessionStoreError(BackendError::Invalid {
            backend: "redis cache",
            message: "GET failed: WRONGTYPE at 10.0.0.7".to_owned(),
        }))
    }

    #[tokio::test]
    async fn a_failing_session_store_is_503_with_a_clear_message() {
        // Session endpoints answer with UiError, cookie requests of /api/public with ApiError.
        for response in [
            store_down().into_response(),
            ApiError::from(store_down()).into_response(),
        ] {
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(response.headers()[RETRY_AFTER], "1");
            let body = to_bytes(response.into_body(), 1 << 16).await.unwrap();
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(body["message"], SESSION_STORE_DOWN);
            assert_eq!(body["error"], "ServiceUnavailableError");
            assert!(!body.to_string().contains("10.0.0.7"), "no internals leak");
        }
    }

    #[test]
    fn cookie_requests_of_the_public_api_get_503_too() {
        assert_eq!(
            ApiError::from(store_down()).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        let unauthenticated = UiError::from(AuthError::Invalid);
        assert_eq!(
            ApiError::from(unauthenticated).status(),
            StatusCode::UNAUTHORIZED
        );
    }
}
