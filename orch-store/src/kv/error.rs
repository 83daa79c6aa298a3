//! `KvError`: what a `KvStore` call can fail with.

use orch_core::StoreError;

/// An error of a [`KvStore`](super::KvStore) call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KvError {
    /// The requested revision is older than the compaction point.
    #[error("required revision {requested} has been compacted (compact revision {compacted})")]
    Compacted {
        /// The revision asked for.
        requested: i64,
        /// The compaction revision.
        compacted: i64,
    },
    /// The requested revision has not happened yet.
    #[error("required revision {requested} is a future revision (current {current})")]
    FutureRevision {
        /// The revision asked for.
        requested: i64,
        /// The current revision.
        current: i64,
    },
    /// A value (or request) is larger than the store accepts.
    #[error("value of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Size given.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The lease does not exist (never granted, revoked or expired).
    #[error("lease {id} not found")]
    LeaseNotFound {
        /// Lease id.
        id: i64,
    },
    /// The request is malformed (empty key, bad range, bad TTL, duplicate key in a txn, ...).
    #[error("invalid request: {reason}")]
    InvalidRequest {
        /// What is wrong.
        reason: String,
    },
    /// A watch was cancelled by the store, e.g. because it fell too far behind.
    #[error("watch cancelled: {reason}")]
    WatchCancelled {
        /// Why.
        reason: String,
    },
    /// The store cannot serve now (closed, connection lost, no leader).
    #[error("store unavailable: {reason}")]
    Unavailable {
        /// Why.
        reason: String,
    },
    /// The call took too long; its outcome is unknown.
    #[error("timed out: {reason}")]
    Timeout {
        /// What timed out.
        reason: String,
    },
    /// Reading or writing the store's files failed.
    #[error("storage error during {op}: {message}")]
    Storage {
        /// What the store was doing.
        op: &'static str,
        /// The I/O error.
        message: String,
    },
    /// Stored bytes are damaged.
    #[error("corrupt data in {file} at byte {offset}: {reason}")]
    Corrupt {
        /// Which file.
        file: String,
        /// Where.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
}

impl From<KvError> for StoreError {
    fn from(e: KvError) -> Self {
        match e {
            KvError::Compacted { requested, compacted } => StoreError::Gone { requested, compacted },
            KvError::FutureRevision { .. } => StoreError::Timeout { message: e.to_string() },
            KvError::TooLarge { size, limit } => StoreError::TooLarge { size, limit },
            KvError::InvalidRequest { reason } => StoreError::BadRequest { message: reason },
            KvError::LeaseNotFound { .. } => StoreError::NotFound { resource: "leases".into(), name: e.to_string() },
            KvError::WatchCancelled { .. } | KvError::Unavailable { .. } => {
                StoreError::Unavailable { message: e.to_string() }
            }
            KvError::Timeout { reason } => StoreError::Timeout { message: reason },
            KvError::Storage { .. } | KvError::Corrupt { .. } => StoreError::Internal { message: e.to_string() },
        }
    }
}
