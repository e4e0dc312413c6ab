//! Mapping of SDK errors to `BackendError`: what a retry may fix and what it never will.

use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use periscope_core::error::BackendError;

pub(super) const BACKEND: &str = "s3 blob store";

/// The HTTP status of a failed request, when the server answered at all.
pub(super) fn status_of<E>(error: &SdkError<E>) -> Option<u16> {
    error
        .raw_response()
        .map(|response| response.status().as_u16())
}

/// Converts an SDK error into a backend error that says what was being done.
///
/// Network failures, timeouts, throttling (429/503) and server errors are transient; a request
/// the server refused for any other 4xx reason (bad credentials, missing bucket permission) will
/// fail the same way again.
pub(super) fn to_backend_error<E>(context: String, error: SdkError<E>) -> BackendError
where
    E: std::error::Error + Send + Sync + 'static,
{
    let message = format!("{context}: {}", DisplayErrorContext(&error));
    let permanent = match &error {
        SdkError::ConstructionFailure(_) => true,
        SdkError::ServiceError(_) => {
            status_of(&error).is_some_and(|status| (400..500).contains(&status) && status != 429)
        }
        _ => false,
    };
    if permanent {
        BackendError::Invalid {
            backend: BACKEND,
            message,
        }
    } else {
        BackendError::Unavailable {
            backend: BACKEND,
            message,
        }
    }
}
