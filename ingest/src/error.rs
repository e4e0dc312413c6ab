//! Errors of the ingest edge and how they map to HTTP responses and gRPC statuses.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use periscope_core::auth::AuthError;
use periscope_core::error::{BackendError, ErrorCode, Retry, ServiceError};

use crate::retry_info;

/// What clients are told to wait before retrying after overload or a log outage.
pub(crate) const RETRY_AFTER_SECS: u64 = 1;

/// Why a request was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The body (as sent, or after gzip inflation) is larger than allowed.
    #[error("request body exceeds the limit of {limit} bytes (server.max_body_bytes)")]
    BodyTooLarge { limit: usize },
    /// The in-flight byte budget is spent; the client should retry later.
    #[error(
        "server is at its limit of {limit} in-flight request bytes; retry after {RETRY_AFTER_SECS}s"
    )]
    Overloaded { limit: usize },
    /// The pipeline behind the log is further behind than its bound: accepting more would only
    /// grow the delay until data is queryable (and the disk backlog) without limit.
    #[error("the processing pipeline is {backlog} events behind; retry after {RETRY_AFTER_SECS}s")]
    PipelineBehind { backlog: u64 },
    /// The project sent more requests this second than `server.project_requests_per_second`.
    #[error(
        "project {project_id} is over its limit of {limit} requests per second \
         (server.project_requests_per_second); retry after 1s"
    )]
    RateLimited { project_id: String, limit: u64 },
    /// The credentials are missing or wrong.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// A Bearer (public key only) caller used an endpoint that needs Basic auth.
    #[error(
        "access scope denied: this endpoint needs Basic auth with publicKey:secretKey; a Bearer \
         public key may only create scores"
    )]
    ScopeDenied,
    /// The `Content-Type` is not one this endpoint reads.
    #[error("unsupported content-type {content_type:?}; send {expected}")]
    UnsupportedContentType {
        content_type: String,
        expected: &'static str,
    },
    /// The `Content-Encoding` is not gzip or identity.
    #[error("unsupported content-encoding {0:?}; send gzip or identity")]
    UnsupportedContentEncoding(String),
    /// The body claims gzip but does not inflate.
    #[error("failed to inflate the gzip request body: {0}")]
    Gzip(#[source] std::io::Error),
    /// The body could not be read from the connection.
    #[error("failed to read the request body: {0}")]
    BodyRead(#[source] axum::Error),
    /// The body is not a valid OTLP protobuf `ExportTraceServiceRequest`.
    #[error("invalid OTLP protobuf ExportTraceServiceRequest: {0}")]
    OtlpProtobuf(#[source] prost::DecodeError),
    /// The body is not a valid OTLP/JSON `ExportTraceServiceRequest`.
    #[error("invalid OTLP/JSON ExportTraceServiceRequest: {0}")]
    OtlpJson(#[source] periscope_core::otlp_json::OtlpJsonError),
    /// The body is not valid JSON of the expected shape.
    #[error("invalid request body: {0}")]
    InvalidBody(String),
    /// The request did not finish within the configured deadline.
    #[error("request did not complete within {0:?} (server.request_timeout)")]
    Timeout(Duration),
    /// The log did not accept the events; nothing was acknowledged.
    #[error("the event log did not accept the events: {0}")]
    LogUnavailable(#[source] BackendError),
    /// The score configs named by scores could not be read.
    #[error("the score config store did not answer: {0}")]
    ScoreConfigsUnavailable(#[source] BackendError),
    /// A bug or an unexpected runtime failure; details are logged, not returned.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The result of ingest operations.
pub type Result<T, E = IngestError> = std::result::Result<T, E>;

impl ServiceError for IngestError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::BodyTooLarge { .. }
            | Self::UnsupportedContentType { .. }
            | Self::UnsupportedContentEncoding(_)
            | Self::Gzip(_)
            | Self::OtlpProtobuf(_)
            | Self::OtlpJson(_)
            | Self::InvalidBody(_)
            | Self::BodyRead(_) => ErrorCode::InvalidArgument,
            Self::Overloaded { .. } | Self::PipelineBehind { .. } | Self::RateLimited { .. } => {
                ErrorCode::ResourceExhausted
            }
            Self::Auth(error) => error.code(),
            Self::ScopeDenied => ErrorCode::Unauthenticated,
            Self::Timeout(_) => ErrorCode::DeadlineExceeded,
            Self::LogUnavailable(_) | Self::ScoreConfigsUnavailable(_) => ErrorCode::Unavailable,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }

    fn retry(&self) -> Retry {
        if let Self::RateLimited { .. } = self {
            return Retry::AfterMillis(1000);
        }
        match self.code() {
            ErrorCode::ResourceExhausted | ErrorCode::Unavailable | ErrorCode::DeadlineExceeded => {
                Retry::AfterMillis(RETRY_AFTER_SECS * 1000)
            }
            _ => Retry::No,
        }
    }
}

impl IngestError {
    /// Returns the HTTP status of this error (413 and 415 are finer than the shared codes).
    pub fn http_status(&self) -> StatusCode {
        match self {
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedContentType { .. } | Self::UnsupportedContentEncoding(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            _ => StatusCode::from_u16(self.code().http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    /// Returns the short error name of the JSON body's `error` field.
    fn error_name(&self) -> &'static str {
        match self {
            Self::BodyTooLarge { .. } => "PayloadTooLarge",
            Self::UnsupportedContentType { .. } | Self::UnsupportedContentEncoding(_) => {
                "UnsupportedMediaType"
            }
            _ => match self.code() {
                ErrorCode::InvalidArgument => "InvalidRequestError",
                ErrorCode::Unauthenticated => "UnauthorizedError",
                ErrorCode::PermissionDenied => "ForbiddenError",
                ErrorCode::NotFound => "NotFoundError",
                ErrorCode::AlreadyExists => "ConflictError",
                ErrorCode::ResourceExhausted => "TooManyRequests",
                ErrorCode::Unavailable => "ServiceUnavailable",
                ErrorCode::DeadlineExceeded => "Timeout",
                ErrorCode::Internal => "InternalServerError",
            },
        }
    }

    /// Returns the message shown to the client; internal details stay in the server log.
    pub fn public_message(&self) -> String {
        match self {
            Self::Internal(_) => "internal server error".to_owned(),
            other => other.to_string(),
        }
    }

    /// Logs the error once, at a level matching who must act: client errors are not errors of
    /// the server, so they never reach `error`.
    pub(crate) fn log(&self) {
        match self.code() {
            ErrorCode::Internal => tracing::error!(error = %self, "ingest request failed"),
            ErrorCode::Unavailable | ErrorCode::DeadlineExceeded => {
                tracing::warn!(error = %self, "ingest request not acknowledged")
            }
            _ => tracing::debug!(error = %self, "ingest request rejected"),
        }
    }

    /// Returns the gRPC status of this error, with a `retry-after` hint and a
    /// `google.rpc.RetryInfo` detail when the client should retry.
    pub fn to_status(&self) -> tonic::Status {
        let code = tonic::Code::from_i32(self.code().grpc_code());
        let message = self.public_message();
        let Retry::AfterMillis(delay_ms) = self.retry() else {
            return tonic::Status::new(code, message);
        };
        let details = retry_info::encode_status_with_retry_info(code, &message, delay_ms);
        let mut status = tonic::Status::with_details(code, message, details);
        let seconds = delay_ms.div_ceil(1000).to_string();
        if let Ok(value) = seconds.parse() {
            status.metadata_mut().insert("retry-after", value);
        }
        status
    }
}

impl IntoResponse for IngestError {
    fn into_response(self) -> Response {
        self.log();
        let status = self.http_status();
        let body =
            serde_json::json!({ "message": self.public_message(), "error": self.error_name() });
        let mut response = (status, axum::Json(body)).into_response();
        if let Retry::AfterMillis(delay_ms) = self.retry() {
            let seconds = delay_ms.div_ceil(1000);
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

impl From<IngestError> for tonic::Status {
    fn from(error: IngestError) -> Self {
        error.log();
        error.to_status()
    }
}
