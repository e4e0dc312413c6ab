//! Validation errors of legacy ingestion batches, events and scores.
//!
//! Langfuse answers a malformed envelope with HTTP 400 and each malformed event with a 400 entry
//! inside the 207 body; both carry the message `"Invalid request data"` and schema details that
//! name the offending field, which is what `Display` renders here.

use crate::error::{ErrorCode, ServiceError};

/// The message Langfuse puts next to every validation failure.
pub const INVALID_REQUEST_MESSAGE: &str = "Invalid request data";

/// A request body that is not `{"batch": [...]}`: the whole request is rejected with 400.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// The body is not valid JSON.
    #[error("body: invalid json: {0}")]
    NotJson(#[source] serde_json::Error),
    /// The body is JSON but not an object.
    #[error("body: expected an object with a batch array")]
    NotAnObject,
    /// The object has no `batch` array.
    #[error("batch: expected an array")]
    MissingBatch,
}

impl EnvelopeError {
    /// Returns the HTTP status of the whole request (always 400).
    pub fn status(&self) -> u16 {
        self.code().http_status()
    }

    /// Returns the top-level response message (`"Invalid request data"`).
    pub fn message(&self) -> &'static str {
        INVALID_REQUEST_MESSAGE
    }
}

impl ServiceError for EnvelopeError {
    fn code(&self) -> ErrorCode {
        ErrorCode::InvalidArgument
    }
}

/// One event or score that failed validation; its neighbours in the batch are unaffected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// A field is missing or has the wrong shape. `field` is a dotted path such as
    /// `body.usageDetails.input`.
    #[error("{field}: {reason}")]
    InvalidField { field: String, reason: String },
}

impl EventError {
    /// Returns an error for `field` with the given reason.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidField {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Returns an error for a required `field` that is absent or null.
    pub fn missing(field: impl Into<String>) -> Self {
        Self::invalid(field, "is required")
    }

    /// Returns the dotted path of the offending field.
    pub fn field(&self) -> &str {
        match self {
            Self::InvalidField { field, .. } => field,
        }
    }

    /// Returns the HTTP-like status of the event in a 207 response (always 400).
    pub fn status(&self) -> u16 {
        self.code().http_status()
    }

    /// Returns the per-event response message (`"Invalid request data"`); `to_string()` gives
    /// the details for the `error` field.
    pub fn message(&self) -> &'static str {
        INVALID_REQUEST_MESSAGE
    }
}

impl ServiceError for EventError {
    fn code(&self) -> ErrorCode {
        ErrorCode::InvalidArgument
    }
}
