//! Error codes shared across services, with their HTTP and gRPC mappings.

/// A small closed set of error codes every service error maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InvalidArgument,
    Unauthenticated,
    PermissionDenied,
    NotFound,
    AlreadyExists,
    ResourceExhausted,
    Unavailable,
    DeadlineExceeded,
    Internal,
}

impl ErrorCode {
    /// Returns the HTTP status code for this error.
    pub fn http_status(self) -> u16 {
        match self {
            Self::InvalidArgument => 400,
            Self::Unauthenticated => 401,
            Self::PermissionDenied => 403,
            Self::NotFound => 404,
            Self::AlreadyExists => 409,
            Self::ResourceExhausted => 429,
            Self::Unavailable => 503,
            Self::DeadlineExceeded => 504,
            Self::Internal => 500,
        }
    }

    /// Returns the gRPC status code number for this error.
    pub fn grpc_code(self) -> i32 {
        match self {
            Self::InvalidArgument => 3,
            Self::DeadlineExceeded => 4,
            Self::NotFound => 5,
            Self::AlreadyExists => 6,
            Self::PermissionDenied => 7,
            Self::ResourceExhausted => 8,
            Self::Internal => 13,
            Self::Unavailable => 14,
            Self::Unauthenticated => 16,
        }
    }

    /// Returns a stable lower-case label for metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidArgument => "invalid_argument",
            Self::Unauthenticated => "unauthenticated",
            Self::PermissionDenied => "permission_denied",
            Self::NotFound => "not_found",
            Self::AlreadyExists => "already_exists",
            Self::ResourceExhausted => "resource_exhausted",
            Self::Unavailable => "unavailable",
            Self::DeadlineExceeded => "deadline_exceeded",
            Self::Internal => "internal",
        }
    }
}

/// Whether the caller may retry a failed operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Retry {
    /// Do not retry (the default, to avoid accidental retry loops).
    #[default]
    No,
    /// Retry after roughly this many milliseconds.
    AfterMillis(u64),
}

/// An error that crosses a service boundary.
pub trait ServiceError: std::error::Error {
    /// Returns the code this error maps to.
    fn code(&self) -> ErrorCode;
    /// Returns whether and when to retry.
    fn retry(&self) -> Retry {
        Retry::No
    }
}

/// The error of a backend (log, stores, blob store, cache) operation.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The backend cannot be reached or is overloaded; retrying may succeed.
    #[error("{backend} is unavailable: {message}")]
    Unavailable {
        backend: &'static str,
        message: String,
    },
    /// The request was invalid for the backend; retrying will not help.
    #[error("{backend} rejected the request: {message}")]
    Invalid {
        backend: &'static str,
        message: String,
    },
    /// An object that must be unique exists already.
    #[error("{backend}: {what} already exists")]
    AlreadyExists { backend: &'static str, what: String },
    /// A local I/O error.
    #[error("{backend} i/o failed: {context}")]
    Io {
        backend: &'static str,
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// Any other backend failure, with its source.
    #[error("{backend} failed: {context}")]
    Other {
        backend: &'static str,
        context: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl BackendError {
    /// Returns true when retrying the same operation may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Unavailable { .. } | Self::Io { .. } | Self::Other { .. }
        )
    }
}

impl ServiceError for BackendError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Unavailable { .. } => ErrorCode::Unavailable,
            Self::Invalid { .. } => ErrorCode::InvalidArgument,
            Self::AlreadyExists { .. } => ErrorCode::AlreadyExists,
            Self::Io { .. } | Self::Other { .. } => ErrorCode::Internal,
        }
    }

    fn retry(&self) -> Retry {
        if self.is_transient() {
            Retry::AfterMillis(1000)
        } else {
            Retry::No
        }
    }
}

/// Result of backend operations.
pub type BackendResult<T> = Result<T, BackendError>;
