//! The KV contract suite: what every [`KvStore`] backend (MemKv, DurableKv, etcd) must do.
//!
//! Each check is a public async fn over a fresh or shared `Arc<dyn KvStore>`; [`run_all`] runs
//! them all, each on a fresh store from a [`KvFactory`]. Checks never assume the store starts
//! at a given revision (etcd's first write is revision 2 on a fresh server, and a shared
//! server has other writers): they compare revisions relatively, and each works under a key
//! prefix of its own. Time-dependent checks use real time (tokio timers) and the TTL from
//! [`KvKitConfig`] (at least 2 s for etcd, which enforces a minimum TTL).
//!
//! Checks that compact ([`compaction_fails_old_reads_and_watches`]) affect the whole store:
//! give them a store no other check uses at the same time.
//!
//! A new backend runs the suite like this (one test per check is nicer; see `tests/it/mem_kv.rs`):
//!
//! ```no_run
//! use std::sync::Arc;
//! use orch_store::kv::KvStore;
//! use orch_store::testkit::kv::{run_all, KvKitConfig};
//!
//! # async fn demo() {
//! let factory = || async { Arc::new(orch_store::mem::MemKv::new()) as Arc<dyn KvStore> };
//! run_all(&factory, &KvKitConfig::default().lease_ttl(std::time::Duration::from_millis(300))).await;
//! # }
//! ```

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::kv::{DeleteRequest, KeyRange, KvError, KvStore, PutRequest, RangeRequest, TxnOp, TxnRequest};

pub use super::kv_lease::{
    lease_expiry_deletes_keys_and_notifies_watchers, lease_keep_alive_extends_the_lease,
    lease_revoke_deletes_keys_in_one_revision, put_with_unknown_lease_fails,
};
pub use super::kv_range::{range_at_revision_sees_past_writes, range_limit_count_and_more};
pub use super::kv_txn::{txn_cas_race_loses_no_update, txn_compares_on_every_target, txn_is_all_or_nothing};
pub use super::kv_watch::{
    compaction_fails_old_reads_and_watches, slow_watcher_blocks_no_one, watch_delivers_every_event_once_in_order,
    watch_from_old_revision_replays_history, watch_key_sees_only_that_key, watch_prev_kv_carries_previous_values,
    watch_resumes_from_last_seen_revision,
};

/// Settings of the KV suite for one backend.
///
/// ```
/// use std::time::Duration;
/// use orch_store::testkit::kv::KvKitConfig;
/// // For a real etcd: TTLs of at least 2 s, and the server's own size limit (any error above it).
/// let etcd = KvKitConfig::default().lease_ttl(Duration::from_secs(2)).max_value_size(1_500_000).exact_too_large(false);
/// assert!(!etcd.exact_too_large);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KvKitConfig {
    /// TTL of the leases the lease checks grant (default 2 s, etcd's practical minimum).
    pub lease_ttl: Duration,
    /// How long to wait for an expected effect (an event, an expiry) beyond its due time (default 10 s).
    pub timeout: Duration,
    /// The largest value the backend must accept (default 1.5 MiB).
    pub max_value_size: usize,
    /// Whether a value one byte over `max_value_size` must fail with `KvError::TooLarge`
    /// exactly (true, the default) or may fail with any error (a server's own limit).
    pub exact_too_large: bool,
    /// Concurrent tasks in the CAS race (default 16).
    pub race_tasks: usize,
    /// Increments per task in the CAS race (default 50).
    pub race_increments: usize,
    /// Writes made while a watcher is never polled (default 3,000).
    pub slow_watcher_writes: usize,
}

impl Default for KvKitConfig {
    fn default() -> Self {
        KvKitConfig {
            lease_ttl: Duration::from_secs(2),
            timeout: Duration::from_secs(10),
            max_value_size: 1536 * 1024,
            exact_too_large: true,
            race_tasks: 16,
            race_increments: 50,
            slow_watcher_writes: 3000,
        }
    }
}

impl KvKitConfig {
    /// Sets the lease TTL.
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }
    /// Sets the wait timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
    /// Sets the largest value that must be accepted.
    pub fn max_value_size(mut self, bytes: usize) -> Self {
        self.max_value_size = bytes;
        self
    }
    /// Sets whether the error above the limit must be `TooLarge`.
    pub fn exact_too_large(mut self, exact: bool) -> Self {
        self.exact_too_large = exact;
        self
    }
    /// Sets the CAS race's size.
    pub fn race(mut self, tasks: usize, increments: usize) -> Self {
        self.race_tasks = tasks;
        self.race_increments = increments;
        self
    }
    /// Sets the writes of the slow-watcher check.
    pub fn slow_watcher_writes(mut self, writes: usize) -> Self {
        self.slow_watcher_writes = writes;
        self
    }
}

/// Makes a fresh store for each check.
///
/// Any `Fn() -> impl Future<Output = Arc<dyn KvStore>>` is a factory:
///
/// ```
/// use std::sync::Arc;
/// use orch_store::kv::KvStore;
/// use orch_store::testkit::kv::KvFactory;
/// fn takes(_: &dyn KvFactory) {}
/// takes(&|| async { Arc::new(orch_store::mem::MemKv::new()) as Arc<dyn KvStore> });
/// ```
#[async_trait]
pub trait KvFactory: Send + Sync {
    /// A new store (for etcd: a client under a fresh prefix, or a fresh server).
    async fn create(&self) -> Arc<dyn KvStore>;
}

#[async_trait]
impl<F, Fut> KvFactory for F
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = Arc<dyn KvStore>> + Send,
{
    async fn create(&self) -> Arc<dyn KvStore> {
        self().await
    }
}

/// Runs every check, each on a fresh store from `factory`, one after another.
///
/// # Panics
/// On the first check that fails, with a message naming it.
pub async fn run_all(factory: &dyn KvFactory, cfg: &KvKitConfig) {
    writes_make_one_revision_each(factory.create().await, cfg).await;
    versions_follow_etcd(factory.create().await, cfg).await;
    range_at_revision_sees_past_writes(factory.create().await, cfg).await;
    range_limit_count_and_more(factory.create().await, cfg).await;
    invalid_requests_are_rejected(factory.create().await, cfg).await;
    large_values_up_to_the_limit(factory.create().await, cfg).await;
    txn_compares_on_every_target(factory.create().await, cfg).await;
    txn_is_all_or_nothing(factory.create().await, cfg).await;
    txn_cas_race_loses_no_update(factory.create().await, cfg).await;
    watch_delivers_every_event_once_in_order(factory.create().await, cfg).await;
    watch_resumes_from_last_seen_revision(factory.create().await, cfg).await;
    watch_from_old_revision_replays_history(factory.create().await, cfg).await;
    watch_prev_kv_carries_previous_values(factory.create().await, cfg).await;
    watch_key_sees_only_that_key(factory.create().await, cfg).await;
    slow_watcher_blocks_no_one(factory.create().await, cfg).await;
    compaction_fails_old_reads_and_watches(factory.create().await, cfg).await;
    lease_expiry_deletes_keys_and_notifies_watchers(factory.create().await, cfg).await;
    lease_revoke_deletes_keys_in_one_revision(factory.create().await, cfg).await;
    lease_keep_alive_extends_the_lease(factory.create().await, cfg).await;
    put_with_unknown_lease_fails(factory.create().await, cfg).await;
}

static NEXT_PREFIX: AtomicU64 = AtomicU64::new(0);

/// A key prefix no other check (in this or another process) uses: `/kvkit/{name}-{pid}-{n}-{nanos}/`.
pub fn unique_prefix(name: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let n = NEXT_PREFIX.fetch_add(1, Ordering::SeqCst);
    format!("/kvkit/{name}-{}-{n}-{nanos}/", std::process::id())
}

/// Unwraps a store call, panicking with what was being done.
pub(crate) fn ok<T>(r: Result<T, KvError>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what} failed: {e}"),
    }
}

pub(crate) async fn put(kv: &dyn KvStore, key: &str, value: &str) -> i64 {
    ok(kv.put(PutRequest::new(key.to_owned(), value.to_owned())).await, &format!("put {key}")).revision
}

pub(crate) async fn revision(kv: &dyn KvStore) -> i64 {
    ok(kv.status().await, "status").revision
}

/// The value of `key` at `rev` (0: now), as text.
pub(crate) async fn value_at(kv: &dyn KvStore, key: &str, rev: i64) -> Option<String> {
    let r = ok(kv.range(RangeRequest::key(key.to_owned()).at_revision(rev)).await, &format!("range {key}@{rev}"));
    r.kvs.first().map(|kv| String::from_utf8_lossy(&kv.value).into_owned())
}

/// One kind of request, for [`writes_make_one_revision_each`].
#[derive(Clone, Copy, Debug)]
enum Step {
    Put,
    TxnOfTwoPuts,
    DeleteExisting,
    DeleteMissing,
    PrefixDeleteOfNothing,
    ReadOnlyTxn,
    FailedCompareWithEmptyFailure,
}

async fn run_step(kv: &dyn KvStore, p: &str, step: Step, n: usize) {
    let k = |s: &str| format!("{p}{s}{n}");
    let r = match step {
        Step::Put => kv.put(PutRequest::new(k("a"), "1")).await.map(drop),
        Step::TxnOfTwoPuts => {
            let success = vec![TxnOp::Put(PutRequest::new(k("b"), "1")), TxnOp::Put(PutRequest::new(k("c"), "1"))];
            kv.txn(TxnRequest { compare: vec![], success, failure: vec![] }).await.map(drop)
        }
        Step::DeleteExisting => {
            ok(kv.put(PutRequest::new(k("d"), "1")).await, "put before delete");
            return; // measured separately below
        }
        Step::DeleteMissing => kv.delete(DeleteRequest::key(k("missing"))).await.map(drop),
        Step::PrefixDeleteOfNothing => kv.delete(DeleteRequest::prefix(k("none/"))).await.map(drop),
        Step::ReadOnlyTxn => {
            let success = vec![TxnOp::Range(RangeRequest::key(k("a")))];
            kv.txn(TxnRequest { compare: vec![], success, failure: vec![] }).await.map(drop)
        }
        Step::FailedCompareWithEmptyFailure => {
            let compare = vec![crate::kv::Compare::version(k("a"), crate::kv::CompareOp::Equal, 99)];
            let success = vec![TxnOp::Put(PutRequest::new(k("a"), "x"))];
            kv.txn(TxnRequest { compare, success, failure: vec![] }).await.map(drop)
        }
    };
    ok(r, &format!("{step:?}"));
}

/// Every write request that changes something makes exactly one new revision, shared by all its
/// writes; requests that change nothing make none.
///
/// Each case is bracketed by two marker puts whose revisions must be exactly the case's
/// revisions apart. On a shared server another writer may slip in between, so a case that shows
/// *more* revisions is retried with growing pauses (fewer is always a failure); if the server is
/// never quiet, the exact count is left unchecked (noted on stderr) and only the checks that
/// other writers cannot disturb remain.
pub async fn writes_make_one_revision_each(kv: Arc<dyn KvStore>, _cfg: &KvKitConfig) {
    let p = unique_prefix("revisions");
    let marker = format!("{p}marker");
    let cases = [
        (Step::Put, 1),
        (Step::TxnOfTwoPuts, 1),
        (Step::DeleteMissing, 0),
        (Step::PrefixDeleteOfNothing, 0),
        (Step::ReadOnlyTxn, 0),
        (Step::FailedCompareWithEmptyFailure, 0),
    ];
    for (step, want) in cases {
        let mut made = i64::MAX;
        for attempt in 0..20 {
            let before = put(&*kv, &marker, "m").await;
            run_step(&*kv, &p, step, attempt).await;
            let after = put(&*kv, &marker, "m").await;
            made = after - before - 1;
            assert!(made >= want, "{step:?} made {made} revisions, expected {want}");
            if made == want {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5 * attempt as u64)).await;
        }
        if made != want {
            eprintln!("kvkit: the store was never quiet; exact revision count of {step:?} not verified");
        }
    }
    // A txn's writes share its revision, which is the one it reports.
    let success =
        vec![TxnOp::Put(PutRequest::new(format!("{p}t1"), "1")), TxnOp::Put(PutRequest::new(format!("{p}t2"), "1"))];
    let rev = ok(kv.txn(TxnRequest { compare: vec![], success, failure: vec![] }).await, "txn").revision;
    let both = ok(kv.range(RangeRequest::range(KeyRange::between(format!("{p}t1"), format!("{p}t3")))).await, "range");
    assert_eq!(
        both.kvs.iter().map(|x| x.mod_revision).collect::<Vec<_>>(),
        vec![rev, rev],
        "a txn's writes share one revision"
    );
    // A delete of an existing key makes one, and history before it stays readable.
    run_step(&*kv, &p, Step::DeleteExisting, 0).await;
    let key = format!("{p}d0");
    let before = ok(kv.range(RangeRequest::key(key.clone())).await, "range").kvs[0].mod_revision;
    let del = ok(kv.delete(DeleteRequest::key(key.clone())).await, "delete");
    assert!(del.deleted == 1 && del.revision > before, "a delete of an existing key makes a new revision: {del:?}");
    assert_eq!(value_at(&*kv, &key, before).await.as_deref(), Some("1"), "history before the delete stays readable");
}

/// `create_revision`, `mod_revision` and `version` behave as in etcd, across delete and re-create.
pub async fn versions_follow_etcd(kv: Arc<dyn KvStore>, _cfg: &KvKitConfig) {
    let key = format!("{}k", unique_prefix("versions"));
    let meta = |r: crate::kv::RangeResponse| r.kvs.first().map(|kv| (kv.create_revision, kv.mod_revision, kv.version));
    let c1 = put(&*kv, &key, "1").await;
    let m2 = put(&*kv, &key, "2").await;
    assert_eq!(meta(ok(kv.range(RangeRequest::key(key.clone())).await, "range")), Some((c1, m2, 2)));
    ok(kv.delete(DeleteRequest::key(key.clone())).await, "delete");
    assert_eq!(ok(kv.range(RangeRequest::key(key.clone())).await, "range").count, 0);
    let c3 = put(&*kv, &key, "3").await;
    assert_eq!(meta(ok(kv.range(RangeRequest::key(key.clone())).await, "range")), Some((c3, c3, 1)), "re-created");
    let prev = ok(kv.put(PutRequest::new(key.clone(), "4").with_prev_kv()).await, "put with prev_kv").prev_kv;
    assert_eq!(prev.map(|p| (p.value, p.version)), Some((Bytes::from("3"), 1)));
}

/// Malformed requests fail with `InvalidRequest` and change nothing.
pub async fn invalid_requests_are_rejected(kv: Arc<dyn KvStore>, _cfg: &KvKitConfig) {
    let p = unique_prefix("invalid");
    let r = kv.put(PutRequest::new("", "v")).await;
    assert!(matches!(r, Err(KvError::InvalidRequest { .. })), "empty key: {r:?}");
    let dup = TxnRequest {
        compare: vec![],
        success: vec![
            TxnOp::Put(PutRequest::new(format!("{p}a"), "1")),
            TxnOp::Put(PutRequest::new(format!("{p}a"), "2")),
        ],
        failure: vec![],
    };
    let r = kv.txn(dup).await;
    assert!(matches!(r, Err(KvError::InvalidRequest { .. })), "a txn writing one key twice: {r:?}");
    assert_eq!(ok(kv.range(RangeRequest::prefix(p)).await, "range").count, 0, "nothing was written");
}

/// Values up to the limit are stored intact; one byte more fails with a clear error.
pub async fn large_values_up_to_the_limit(kv: Arc<dyn KvStore>, cfg: &KvKitConfig) {
    let key = format!("{}big", unique_prefix("large"));
    let value: Bytes = (0..cfg.max_value_size).map(|i| (i % 251) as u8).collect::<Vec<u8>>().into();
    ok(kv.put(PutRequest::new(key.clone(), value.clone())).await, "put of a value at the limit");
    let back = ok(kv.range(RangeRequest::key(key.clone())).await, "range");
    assert!(back.kvs.first().is_some_and(|x| x.value == value), "a value at the limit reads back intact");
    let over: Bytes = vec![7u8; cfg.max_value_size + 1].into();
    let r = kv.put(PutRequest::new(key.clone(), over)).await;
    if cfg.exact_too_large {
        assert!(matches!(r, Err(KvError::TooLarge { .. })), "one byte over the limit is TooLarge: {r:?}");
    } else {
        assert!(r.is_err(), "one byte over the limit fails: {r:?}");
    }
    let still = ok(kv.range(RangeRequest::key(key)).await, "range");
    assert!(still.kvs.first().is_some_and(|x| x.value == value), "the refused put changed nothing");
}
