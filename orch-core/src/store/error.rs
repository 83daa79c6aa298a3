//! `StoreError`: every way an object-store call can fail, each with one HTTP status and Kubernetes reason.

use crate::FieldErrors;

/// An error from the object-store contract. Each variant maps to exactly one HTTP status
/// ([`StoreError::http_status`]) and one Kubernetes `Status.reason` ([`StoreError::reason`]), so the
/// API server and its client translate it losslessly.
///
/// ```
/// use orch_core::StoreError;
/// let e = StoreError::Conflict { message: "the object has been modified".into() };
/// assert_eq!(e.http_status(), 409);
/// assert_eq!(e.reason(), "Conflict");
/// let gone = StoreError::Gone { requested: 5, compacted: 10 };
/// assert_eq!(gone.http_status(), 410);
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// The request itself is malformed (bad selector, bad patch, bad parameters). HTTP 400.
    #[error("bad request: {message}")]
    BadRequest {
        /// What is wrong.
        message: String,
    },
    /// The object does not exist. HTTP 404.
    #[error("{resource} {name:?} not found")]
    NotFound {
        /// `plural.group` of the object.
        resource: String,
        /// Name of the object (with `namespace/` where namespaced).
        name: String,
    },
    /// An object with this name already exists. HTTP 409.
    #[error("{resource} {name:?} already exists")]
    AlreadyExists {
        /// `plural.group` of the object.
        resource: String,
        /// Name of the object.
        name: String,
    },
    /// A precondition (resourceVersion, uid) no longer holds; re-read and retry. HTTP 409.
    #[error("conflict: {message}")]
    Conflict {
        /// What changed.
        message: String,
    },
    /// The object failed validation; every field error is listed. HTTP 422.
    #[error("{kind} {name:?} is invalid: {errors}")]
    Invalid {
        /// Kind of the object.
        kind: String,
        /// Name of the object.
        name: String,
        /// Every problem found, each with its field path.
        errors: FieldErrors,
    },
    /// The requested revision has been compacted away; relist. HTTP 410.
    #[error("requested revision {requested} has been compacted (oldest available {compacted})")]
    Gone {
        /// The revision asked for.
        requested: i64,
        /// The compaction revision: history before it is gone.
        compacted: i64,
    },
    /// The caller is authenticated but not allowed to do this. HTTP 403.
    #[error("forbidden: {message}")]
    Forbidden {
        /// What was refused and why.
        message: String,
    },
    /// The caller is not authenticated. HTTP 401.
    #[error("unauthorized: {message}")]
    Unauthorized {
        /// Why authentication failed.
        message: String,
    },
    /// The request or object is larger than allowed. HTTP 413.
    #[error("too large: {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Size of what was sent, in bytes.
        size: usize,
        /// The limit, in bytes.
        limit: usize,
    },
    /// The caller sent too many requests; retry later. HTTP 429.
    #[error("too many requests: {message}")]
    TooManyRequests {
        /// Why the request was throttled.
        message: String,
        /// Seconds after which a retry may succeed.
        retry_after_seconds: Option<u64>,
    },
    /// The content type (for example a patch type) is not supported. HTTP 415.
    #[error("unsupported media type: {message}")]
    UnsupportedMediaType {
        /// What was sent and what is accepted.
        message: String,
    },
    /// The operation did not finish in time; its outcome is unknown. HTTP 504.
    #[error("timeout: {message}")]
    Timeout {
        /// What timed out.
        message: String,
    },
    /// The store or server cannot serve now (down, not leader, shutting down). HTTP 503.
    #[error("unavailable: {message}")]
    Unavailable {
        /// Why.
        message: String,
    },
    /// A bug or unexpected failure inside the store or server. HTTP 500.
    #[error("internal error: {message}")]
    Internal {
        /// What failed.
        message: String,
    },
}

impl StoreError {
    /// The HTTP status code for this error.
    pub fn http_status(&self) -> u16 {
        match self {
            StoreError::BadRequest { .. } => 400,
            StoreError::Unauthorized { .. } => 401,
            StoreError::Forbidden { .. } => 403,
            StoreError::NotFound { .. } => 404,
            StoreError::AlreadyExists { .. } | StoreError::Conflict { .. } => 409,
            StoreError::Gone { .. } => 410,
            StoreError::TooLarge { .. } => 413,
            StoreError::UnsupportedMediaType { .. } => 415,
            StoreError::Invalid { .. } => 422,
            StoreError::TooManyRequests { .. } => 429,
            StoreError::Internal { .. } => 500,
            StoreError::Unavailable { .. } => 503,
            StoreError::Timeout { .. } => 504,
        }
    }

    /// The Kubernetes `Status.reason` for this error (`NotFound`, `Conflict`, `Expired`, ...).
    pub fn reason(&self) -> &'static str {
        match self {
            StoreError::BadRequest { .. } => "BadRequest",
            StoreError::Unauthorized { .. } => "Unauthorized",
            StoreError::Forbidden { .. } => "Forbidden",
            StoreError::NotFound { .. } => "NotFound",
            StoreError::AlreadyExists { .. } => "AlreadyExists",
            StoreError::Conflict { .. } => "Conflict",
            StoreError::Gone { .. } => "Expired",
            StoreError::TooLarge { .. } => "RequestEntityTooLarge",
            StoreError::UnsupportedMediaType { .. } => "UnsupportedMediaType",
            StoreError::Invalid { .. } => "Invalid",
            StoreError::TooManyRequests { .. } => "TooManyRequests",
            StoreError::Internal { .. } => "InternalError",
            StoreError::Unavailable { .. } => "ServiceUnavailable",
            StoreError::Timeout { .. } => "Timeout",
        }
    }

    /// Whether retrying the same call later may succeed (timeouts, throttling, unavailability).
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Timeout { .. } | StoreError::TooManyRequests { .. } | StoreError::Unavailable { .. })
    }

    /// Shorthand for [`StoreError::BadRequest`].
    pub fn bad_request(message: impl Into<String>) -> Self {
        StoreError::BadRequest { message: message.into() }
    }

    /// Shorthand for [`StoreError::Internal`].
    pub fn internal(message: impl Into<String>) -> Self {
        StoreError::Internal { message: message.into() }
    }
}
