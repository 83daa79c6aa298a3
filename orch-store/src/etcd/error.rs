//! Maps etcd-client errors to [`KvError`]: by gRPC code and etcd's error text (etcd's
//! `rpctypes` messages are stable across 3.4–3.6).

use crate::kv::KvError;

/// A gRPC status code as its number (etcd-client does not re-export tonic's `Code`).
type Code = i32;

/// What a failed etcd call means, before the caller adds what only it knows (the revision asked
/// for, the lease, the request's size) and looks up what etcd does not say (the compaction
/// revision, the current revision).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// `mvcc: required revision has been compacted`.
    Compacted,
    /// `mvcc: required revision is a future revision`.
    FutureRevision,
    /// `requested lease not found`.
    LeaseNotFound,
    /// `request is too large`, or a gRPC message over the server's receive limit.
    TooLarge,
    /// Fully mapped already.
    Other(KvError),
}

// gRPC status codes (stable, from the gRPC spec).
const INVALID_ARGUMENT: Code = 3;
const DEADLINE_EXCEEDED: Code = 4;
const FAILED_PRECONDITION: Code = 9;
const OUT_OF_RANGE: Code = 11;
const RESOURCE_EXHAUSTED: Code = 8;

/// Classifies an etcd-client error of the call `op` (for messages).
pub(crate) fn classify(err: &etcd_client::Error, op: &str) -> Failure {
    use etcd_client::Error as E;
    match err {
        E::GRpcStatus(status) => classify_status(status.code() as Code, status.message(), op),
        E::LeaseKeepAliveError(msg) if msg.contains("lease not found") => Failure::LeaseNotFound,
        E::InvalidArgs(msg) | E::EndpointError(msg) => {
            Failure::Other(KvError::InvalidRequest { reason: format!("etcd {op}: {msg}") })
        }
        E::InvalidUri(e) => Failure::Other(KvError::InvalidRequest { reason: format!("bad etcd endpoint: {e}") }),
        other => Failure::Other(KvError::Unavailable { reason: format!("etcd {op}: {other}") }),
    }
}

/// Classifies a gRPC status by code and etcd's message.
pub(crate) fn classify_status(code: Code, message: &str, op: &str) -> Failure {
    if message.contains("required revision has been compacted") {
        return Failure::Compacted;
    }
    if message.contains("required revision is a future revision") {
        return Failure::FutureRevision;
    }
    if message.contains("requested lease not found") {
        return Failure::LeaseNotFound;
    }
    if message.contains("request is too large") || (code == RESOURCE_EXHAUSTED && message.contains("larger than max")) {
        return Failure::TooLarge;
    }
    // etcd's ErrTimeout family ("request timed out", "... due to previous leader failure",
    // "... due to connection lost", "timed out waiting for read index") comes with code
    // Unavailable, but the outcome of the request is unknown: that is a timeout.
    if code == DEADLINE_EXCEEDED || message.contains("timed out") {
        return Failure::Other(KvError::Timeout { reason: format!("etcd {op}: {message}") });
    }
    let reason = format!("etcd {op}: {message}");
    Failure::Other(match code {
        INVALID_ARGUMENT | OUT_OF_RANGE => KvError::InvalidRequest { reason },
        // "lease already exists"
        FAILED_PRECONDITION if message.contains("lease already exists") => KvError::InvalidRequest { reason },
        // Unavailable (no leader, connection refused), Cancelled, Unknown (transport),
        // ResourceExhausted (no space, too many requests), auth failures and the rest: the
        // store cannot serve this now.
        _ => KvError::Unavailable { reason },
    })
}

/// The error of a call that did not finish within `timeout`.
pub(crate) fn timeout(op: &str, timeout: std::time::Duration) -> KvError {
    KvError::Timeout { reason: format!("etcd {op} did not complete within {timeout:?}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etcd_messages_map_to_precise_errors() {
        let cases: &[(Code, &str, Failure)] = &[
            (OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted", Failure::Compacted),
            (OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision", Failure::FutureRevision),
            (5, "etcdserver: requested lease not found", Failure::LeaseNotFound),
            (INVALID_ARGUMENT, "etcdserver: request is too large", Failure::TooLarge),
            (RESOURCE_EXHAUSTED, "grpc: received message larger than max (3145767 vs. 2097152)", Failure::TooLarge),
        ];
        for (code, message, want) in cases {
            assert_eq!(&classify_status(*code, message, "put"), want, "{message}");
        }
    }

    #[test]
    fn transport_and_timeouts_are_unavailable_or_timeout() {
        assert!(matches!(
            classify_status(14, "etcdserver: request timed out", "put"),
            Failure::Other(KvError::Timeout { .. })
        ));
        assert!(matches!(
            classify_status(DEADLINE_EXCEEDED, "context deadline exceeded", "put"),
            Failure::Other(KvError::Timeout { .. })
        ));
        assert!(matches!(
            classify_status(14, "etcdserver: no leader", "put"),
            Failure::Other(KvError::Unavailable { .. })
        ));
        assert!(matches!(
            classify_status(INVALID_ARGUMENT, "etcdserver: duplicate key given in txn request", "txn"),
            Failure::Other(KvError::InvalidRequest { .. })
        ));
        assert!(matches!(
            classify_status(FAILED_PRECONDITION, "etcdserver: lease already exists", "lease grant"),
            Failure::Other(KvError::InvalidRequest { .. })
        ));
    }
}
