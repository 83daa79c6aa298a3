//! The `KvStore` trait: etcd v3 semantics over any backend.

use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;

use super::{
    DeleteRequest, DeleteResponse, KvError, KvStatus, LeaseGrant, PutRequest, PutResponse, RangeRequest, RangeResponse,
    TxnRequest, TxnResponse, WatchMessage, WatchRequest,
};

/// A watch stream. It ends after an `Err` (for example `Compacted` or `WatchCancelled`) or when
/// the store closes.
pub type KvWatchStream = BoxStream<'static, Result<WatchMessage, KvError>>;

/// A multi-version key-value store with etcd v3's semantics.
///
/// # Guarantees
/// - One global revision counts every write; each put, delete (of at least one key) or
///   successful transaction with writes creates exactly one new revision, shared by all its writes.
/// - Reads at a revision see exactly the writes up to it.
/// - A watch delivers every event in its range from its start revision exactly once, in revision
///   order, never splitting one revision's events between messages; a slow watcher never blocks
///   writers or other watchers (it catches up from history or is cancelled with an error).
/// - Keys attached to a lease are deleted when the lease expires or is revoked, and watchers see
///   the deletes.
///
/// # Errors
/// See [`KvError`]: `Compacted` for history that is gone, `TooLarge` for values over the limit
/// (1.5 MiB by default), `InvalidRequest` for malformed requests, `LeaseNotFound`.
///
/// # Example
/// ```
/// use orch_store::kv::{Compare, CompareOp, KvError, KvStore, PutRequest, TxnOp, TxnRequest};
///
/// /// Creates `key` only if it does not exist; returns whether it did.
/// async fn create(kv: &dyn KvStore, key: &str, value: &str) -> Result<bool, KvError> {
///     let txn = TxnRequest {
///         compare: vec![Compare::create_revision(key.to_owned(), CompareOp::Equal, 0)],
///         success: vec![TxnOp::Put(PutRequest::new(key.to_owned(), value.to_owned()))],
///         failure: vec![],
///     };
///     Ok(kv.txn(txn).await?.succeeded)
/// }
/// ```
#[async_trait]
pub trait KvStore: Send + Sync {
    /// Reads a key or range.
    async fn range(&self, req: RangeRequest) -> Result<RangeResponse, KvError>;
    /// Writes a key.
    async fn put(&self, req: PutRequest) -> Result<PutResponse, KvError>;
    /// Deletes a key or range.
    async fn delete(&self, req: DeleteRequest) -> Result<DeleteResponse, KvError>;
    /// Runs a transaction.
    async fn txn(&self, req: TxnRequest) -> Result<TxnResponse, KvError>;
    /// Watches a key or range.
    async fn watch(&self, req: WatchRequest) -> Result<KvWatchStream, KvError>;
    /// Grants a lease with a time to live (`id` 0: the store picks one).
    async fn lease_grant(&self, ttl: Duration, id: i64) -> Result<LeaseGrant, KvError>;
    /// Renews a lease to its full TTL; returns the TTL in seconds.
    async fn lease_keep_alive(&self, id: i64) -> Result<i64, KvError>;
    /// Revokes a lease, deleting its keys.
    async fn lease_revoke(&self, id: i64) -> Result<(), KvError>;
    /// Drops history before `revision`; reads and watches below it fail with `Compacted`.
    async fn compact(&self, revision: i64) -> Result<(), KvError>;
    /// The current and compaction revisions.
    async fn status(&self) -> Result<KvStatus, KvError>;
}

#[allow(dead_code)]
fn _object_safe(_: &dyn KvStore) {}
