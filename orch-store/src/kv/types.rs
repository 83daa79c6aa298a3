//! Requests, responses and events of the `KvStore` contract, after etcd v3's.

use bytes::Bytes;

/// A stored key and value with its MVCC metadata.
///
/// ```
/// use orch_store::kv::KeyValue;
/// let kv = KeyValue { key: "a".into(), value: "1".into(), create_revision: 2, mod_revision: 5, version: 3, lease: 0 };
/// assert_eq!(kv.version, 3);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyValue {
    /// The key.
    pub key: Bytes,
    /// The value (empty for delete events and keys-only reads).
    pub value: Bytes,
    /// Revision of the last creation of this key.
    pub create_revision: i64,
    /// Revision of the last modification (for a delete event: the deletion's revision).
    pub mod_revision: i64,
    /// Number of writes since creation (1 after creation; 0 for a deleted key).
    pub version: i64,
    /// Lease the key is attached to (0: none).
    pub lease: i64,
}

/// Which keys a request addresses: one key, every key with a prefix, or a half-open range.
///
/// ```
/// use orch_store::kv::KeyRange;
/// let r = KeyRange::prefix("/registry/pods/");
/// assert!(r.contains(b"/registry/pods/default/a"));
/// assert!(!r.contains(b"/registry/pods0"));
/// assert!(KeyRange::key("k").contains(b"k"));
/// assert!(KeyRange::from_key("m").contains(b"z"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyRange {
    /// First key (inclusive).
    pub start: Bytes,
    /// End (exclusive); empty for a single key, `[0]` for "every key from `start`" (etcd's conventions).
    pub end: Bytes,
}

impl KeyRange {
    /// Exactly one key.
    pub fn key(key: impl Into<Bytes>) -> Self {
        KeyRange { start: key.into(), end: Bytes::new() }
    }

    /// Every key starting with `prefix` (every key at all for an empty prefix).
    pub fn prefix(prefix: impl Into<Bytes>) -> Self {
        let start: Bytes = prefix.into();
        let end = prefix_end(&start);
        KeyRange { start, end }
    }

    /// Every key `>= start`.
    pub fn from_key(start: impl Into<Bytes>) -> Self {
        KeyRange { start: start.into(), end: Bytes::from_static(b"\0") }
    }

    /// Keys in `[start, end)`.
    pub fn between(start: impl Into<Bytes>, end: impl Into<Bytes>) -> Self {
        KeyRange { start: start.into(), end: end.into() }
    }

    /// Whether this addresses a single key.
    pub fn is_single(&self) -> bool {
        self.end.is_empty()
    }

    /// Whether `key` falls in the range.
    pub fn contains(&self, key: &[u8]) -> bool {
        if self.end.is_empty() {
            key == &self.start[..]
        } else if &self.end[..] == b"\0" {
            key >= &self.start[..]
        } else {
            key >= &self.start[..] && key < &self.end[..]
        }
    }
}

/// The smallest key greater than every key with this prefix (`[0]`, meaning "no end", when none exists).
pub fn prefix_end(prefix: &[u8]) -> Bytes {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Bytes::from(end);
        }
    }
    Bytes::from_static(b"\0")
}

/// A read of a key or range.
///
/// ```
/// use orch_store::kv::RangeRequest;
/// let r = RangeRequest::prefix("/registry/pods/").limit(100).at_revision(42).keys_only();
/// assert_eq!(r.limit, 100);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeRequest {
    /// The keys.
    pub range: KeyRange,
    /// Read as of this revision (0: the latest). Fails with `Compacted` below the compaction point.
    pub revision: i64,
    /// Most keys to return (0: no limit); `more` tells whether some were left out.
    pub limit: i64,
    /// Return keys and metadata without values.
    pub keys_only: bool,
    /// Return only the count.
    pub count_only: bool,
}

impl RangeRequest {
    /// Reads one key.
    pub fn key(key: impl Into<Bytes>) -> Self {
        Self::range(KeyRange::key(key))
    }
    /// Reads every key with a prefix.
    pub fn prefix(prefix: impl Into<Bytes>) -> Self {
        Self::range(KeyRange::prefix(prefix))
    }
    /// Reads a range.
    pub fn range(range: KeyRange) -> Self {
        RangeRequest { range, revision: 0, limit: 0, keys_only: false, count_only: false }
    }
    /// Reads at a revision.
    pub fn at_revision(mut self, revision: i64) -> Self {
        self.revision = revision;
        self
    }
    /// Limits the number of keys.
    pub fn limit(mut self, limit: i64) -> Self {
        self.limit = limit;
        self
    }
    /// Leaves values out.
    pub fn keys_only(mut self) -> Self {
        self.keys_only = true;
        self
    }
    /// Returns only the count.
    pub fn count_only(mut self) -> Self {
        self.count_only = true;
        self
    }
}

/// The result of a range read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RangeResponse {
    /// The store revision the read was served at.
    pub revision: i64,
    /// Matching keys in key order (up to `limit`; none with `count_only`).
    pub kvs: Vec<KeyValue>,
    /// Whether more keys matched than were returned.
    pub more: bool,
    /// How many keys matched in all.
    pub count: i64,
}

/// A write of one key.
///
/// ```
/// use orch_store::kv::PutRequest;
/// let p = PutRequest::new("k", "v").with_lease(7).with_prev_kv();
/// assert_eq!(p.lease, 7);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PutRequest {
    /// The key.
    pub key: Bytes,
    /// The value.
    pub value: Bytes,
    /// Lease to attach the key to (0: none); the key is deleted when the lease expires.
    pub lease: i64,
    /// Return the previous key-value.
    pub prev_kv: bool,
}

impl PutRequest {
    /// A put of `value` at `key`.
    pub fn new(key: impl Into<Bytes>, value: impl Into<Bytes>) -> Self {
        PutRequest { key: key.into(), value: value.into(), lease: 0, prev_kv: false }
    }
    /// Attaches the key to a lease.
    pub fn with_lease(mut self, lease: i64) -> Self {
        self.lease = lease;
        self
    }
    /// Asks for the previous key-value.
    pub fn with_prev_kv(mut self) -> Self {
        self.prev_kv = true;
        self
    }
}

/// The result of a put.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PutResponse {
    /// The revision of this write.
    pub revision: i64,
    /// The previous key-value, when asked for and present.
    pub prev_kv: Option<KeyValue>,
}

/// A delete of a key or range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteRequest {
    /// The keys.
    pub range: KeyRange,
    /// Return the deleted key-values.
    pub prev_kv: bool,
}

impl DeleteRequest {
    /// Deletes one key.
    pub fn key(key: impl Into<Bytes>) -> Self {
        DeleteRequest { range: KeyRange::key(key), prev_kv: false }
    }
    /// Deletes every key with a prefix.
    pub fn prefix(prefix: impl Into<Bytes>) -> Self {
        DeleteRequest { range: KeyRange::prefix(prefix), prev_kv: false }
    }
    /// Asks for the deleted key-values.
    pub fn with_prev_kv(mut self) -> Self {
        self.prev_kv = true;
        self
    }
}

/// The result of a delete.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteResponse {
    /// The store revision after the delete (unchanged when nothing was deleted).
    pub revision: i64,
    /// How many keys were deleted.
    pub deleted: i64,
    /// The deleted key-values, when asked for.
    pub prev_kvs: Vec<KeyValue>,
}

/// What a [`Compare`] looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompareTarget {
    /// The value.
    Value(Bytes),
    /// The version (0 for a missing key).
    Version(i64),
    /// The creation revision (0 for a missing key).
    CreateRevision(i64),
    /// The last modification revision (0 for a missing key).
    ModRevision(i64),
    /// The lease (0 for none).
    Lease(i64),
}

/// How a [`Compare`] compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    /// Equal.
    Equal,
    /// Not equal.
    NotEqual,
    /// Stored greater than given.
    Greater,
    /// Stored less than given.
    Less,
}

/// One condition of a transaction, on one key.
///
/// ```
/// use orch_store::kv::Compare;
/// // "the key does not exist yet"
/// let c = Compare::create_revision("k", orch_store::kv::CompareOp::Equal, 0);
/// assert_eq!(c.key, "k");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compare {
    /// The key.
    pub key: Bytes,
    /// The comparison.
    pub op: CompareOp,
    /// What is compared, and with what.
    pub target: CompareTarget,
}

impl Compare {
    /// Compares the value.
    pub fn value(key: impl Into<Bytes>, op: CompareOp, value: impl Into<Bytes>) -> Self {
        Compare { key: key.into(), op, target: CompareTarget::Value(value.into()) }
    }
    /// Compares the version.
    pub fn version(key: impl Into<Bytes>, op: CompareOp, version: i64) -> Self {
        Compare { key: key.into(), op, target: CompareTarget::Version(version) }
    }
    /// Compares the creation revision (`Equal, 0` means "absent").
    pub fn create_revision(key: impl Into<Bytes>, op: CompareOp, revision: i64) -> Self {
        Compare { key: key.into(), op, target: CompareTarget::CreateRevision(revision) }
    }
    /// Compares the last modification revision.
    pub fn mod_revision(key: impl Into<Bytes>, op: CompareOp, revision: i64) -> Self {
        Compare { key: key.into(), op, target: CompareTarget::ModRevision(revision) }
    }
}

/// One operation of a transaction branch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxnOp {
    /// A read.
    Range(RangeRequest),
    /// A write.
    Put(PutRequest),
    /// A delete.
    Delete(DeleteRequest),
}

/// The result of one transaction operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxnOpResponse {
    /// Of a read.
    Range(RangeResponse),
    /// Of a write.
    Put(PutResponse),
    /// Of a delete.
    Delete(DeleteResponse),
}

/// An all-or-nothing transaction: if every compare holds, `success` runs, else `failure`.
/// All writes of the branch that runs share one new revision.
///
/// ```
/// use orch_store::kv::{Compare, CompareOp, PutRequest, TxnOp, TxnRequest};
/// let create_if_absent = TxnRequest {
///     compare: vec![Compare::create_revision("k", CompareOp::Equal, 0)],
///     success: vec![TxnOp::Put(PutRequest::new("k", "v"))],
///     failure: vec![],
/// };
/// assert_eq!(create_if_absent.success.len(), 1);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TxnRequest {
    /// Conditions, all of which must hold.
    pub compare: Vec<Compare>,
    /// Operations when they hold.
    pub success: Vec<TxnOp>,
    /// Operations when one does not.
    pub failure: Vec<TxnOp>,
}

/// The result of a transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TxnResponse {
    /// Whether the compares held (and `success` ran).
    pub succeeded: bool,
    /// The store revision after the transaction.
    pub revision: i64,
    /// One response per operation of the branch that ran.
    pub responses: Vec<TxnOpResponse>,
}

/// A watch of a key or range.
///
/// ```
/// use orch_store::kv::WatchRequest;
/// let w = WatchRequest::prefix("/registry/pods/").from_revision(10).with_prev_kv().with_progress();
/// assert_eq!(w.start_revision, 10);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchRequest {
    /// The keys.
    pub range: KeyRange,
    /// First revision to deliver (0: changes after the current revision). Below the compaction
    /// point the watch fails with `Compacted`.
    pub start_revision: i64,
    /// Include the previous key-value in events.
    pub prev_kv: bool,
    /// Send periodic progress notifications when idle.
    pub progress_notify: bool,
}

impl WatchRequest {
    /// Watches one key.
    pub fn key(key: impl Into<Bytes>) -> Self {
        WatchRequest { range: KeyRange::key(key), start_revision: 0, prev_kv: false, progress_notify: false }
    }
    /// Watches every key with a prefix.
    pub fn prefix(prefix: impl Into<Bytes>) -> Self {
        WatchRequest { range: KeyRange::prefix(prefix), start_revision: 0, prev_kv: false, progress_notify: false }
    }
    /// Starts at this revision (inclusive).
    pub fn from_revision(mut self, revision: i64) -> Self {
        self.start_revision = revision;
        self
    }
    /// Includes previous key-values.
    pub fn with_prev_kv(mut self) -> Self {
        self.prev_kv = true;
        self
    }
    /// Asks for progress notifications.
    pub fn with_progress(mut self) -> Self {
        self.progress_notify = true;
        self
    }
}

/// Whether an event wrote or deleted its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KvEventKind {
    /// A put.
    Put,
    /// A delete (including by lease expiry).
    Delete,
}

/// One change of one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KvEvent {
    /// Put or delete.
    pub kind: KvEventKind,
    /// The key-value after the change (for a delete: the key, empty value, `mod_revision` = the delete's revision).
    pub kv: KeyValue,
    /// The key-value before the change, when asked for and present.
    pub prev_kv: Option<KeyValue>,
}

/// What a watch stream delivers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchMessage {
    /// Events of one or more whole revisions, in revision order; a revision's events are never split.
    Events(Vec<KvEvent>),
    /// Every change up to `revision` has been delivered.
    Progress {
        /// The revision reached.
        revision: i64,
    },
}

/// Status of a store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KvStatus {
    /// The current revision.
    pub revision: i64,
    /// The compaction revision: history before it is gone.
    pub compact_revision: i64,
}

/// A granted lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseGrant {
    /// Lease id.
    pub id: i64,
    /// Granted time to live, in seconds.
    pub ttl: i64,
}
