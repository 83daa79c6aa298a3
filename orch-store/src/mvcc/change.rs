//! What goes into and comes out of [`MvccCore::apply`](super::MvccCore::apply): write requests,
//! their responses, and the changes (events) they made.

use crate::kv::{
    DeleteRequest, DeleteResponse, KeyValue, KvEvent, KvEventKind, PutRequest, PutResponse, TxnRequest, TxnResponse,
};

use super::record::Record;

/// A request that may write: everything a write-ahead log has to record to replay the store.
///
/// ```
/// use orch_store::kv::PutRequest;
/// use orch_store::mvcc::WriteRequest;
/// let w = WriteRequest::from(PutRequest::new("k", "v"));
/// assert!(matches!(w, WriteRequest::Put(_)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteRequest {
    /// A put.
    Put(PutRequest),
    /// A delete of a key or range.
    Delete(DeleteRequest),
    /// A transaction.
    Txn(TxnRequest),
    /// Revokes a lease (or expires it), deleting its keys in one revision.
    LeaseRevoke {
        /// The lease.
        id: i64,
    },
}

impl From<PutRequest> for WriteRequest {
    fn from(r: PutRequest) -> Self {
        WriteRequest::Put(r)
    }
}

impl From<DeleteRequest> for WriteRequest {
    fn from(r: DeleteRequest) -> Self {
        WriteRequest::Delete(r)
    }
}

impl From<TxnRequest> for WriteRequest {
    fn from(r: TxnRequest) -> Self {
        WriteRequest::Txn(r)
    }
}

/// The response to a [`WriteRequest`], of the matching kind.
///
/// ```
/// use orch_store::kv::PutResponse;
/// use orch_store::mvcc::WriteResponse;
/// let r = WriteResponse::Put(PutResponse { revision: 2, prev_kv: None });
/// assert_eq!(r.revision(), 2);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteResponse {
    /// Of a put.
    Put(PutResponse),
    /// Of a delete.
    Delete(DeleteResponse),
    /// Of a transaction.
    Txn(TxnResponse),
    /// Of a lease revoke.
    LeaseRevoke {
        /// The store revision afterwards.
        revision: i64,
    },
}

impl WriteResponse {
    /// The store revision after the request.
    pub fn revision(&self) -> i64 {
        match self {
            WriteResponse::Put(r) => r.revision,
            WriteResponse::Delete(r) => r.revision,
            WriteResponse::Txn(r) => r.revision,
            WriteResponse::LeaseRevoke { revision } => *revision,
        }
    }
}

/// One key changed by a write: the new version (or tombstone) and the version it replaced.
///
/// Cheap to clone (shared allocations); turned into a [`KvEvent`] only for watchers that want it.
///
/// ```
/// use orch_store::kv::{KvEventKind, PutRequest};
/// use orch_store::mvcc::{MvccConfig, MvccCore};
/// let mut core = MvccCore::new(MvccConfig::default());
/// let applied = core.apply(PutRequest::new("k", "v").into()).unwrap();
/// let change = &applied.changes[0];
/// assert_eq!((change.key(), change.kind(), change.revision()), (&b"k"[..], KvEventKind::Put, 2));
/// assert_eq!(change.to_event(true).prev_kv, None);
/// ```
#[derive(Clone, Debug)]
pub struct Change {
    pub(crate) record: Record,
    pub(crate) prev: Option<Record>,
}

impl Change {
    /// The key.
    pub fn key(&self) -> &[u8] {
        self.record.key()
    }

    /// The revision of the write.
    pub fn revision(&self) -> i64 {
        self.record.mod_revision()
    }

    /// Put or delete.
    pub fn kind(&self) -> KvEventKind {
        if self.record.is_tombstone() { KvEventKind::Delete } else { KvEventKind::Put }
    }

    /// The key-value after the change (for a delete: the key, empty value, mod revision of the delete).
    pub fn kv(&self) -> KeyValue {
        self.record.to_key_value(false)
    }

    /// The live key-value before the change, if the key existed (and its history was not compacted).
    pub fn prev_kv(&self) -> Option<KeyValue> {
        self.prev.as_ref().map(|p| p.to_key_value(false))
    }

    /// Bytes of key and value written (a rough size for buffer accounting).
    pub fn size(&self) -> usize {
        self.record.encoded_len()
    }

    /// The watch event, with `prev_kv` filled in when `with_prev`.
    pub fn to_event(&self, with_prev: bool) -> KvEvent {
        KvEvent { kind: self.kind(), kv: self.kv(), prev_kv: if with_prev { self.prev_kv() } else { None } }
    }
}

/// The outcome of [`MvccCore::apply`](super::MvccCore::apply).
#[derive(Clone, Debug)]
pub struct Applied {
    /// The store revision afterwards (unchanged when nothing was written).
    pub revision: i64,
    /// The response to hand back to the caller.
    pub response: WriteResponse,
    /// Every key changed, in order; all share `revision`. Empty when nothing was written.
    pub changes: Vec<Change>,
}
