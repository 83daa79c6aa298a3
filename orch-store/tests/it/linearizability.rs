//! Linearizability of every `KvStore` backend (MemKv, DurableKv on disk, EtcdKv on a real etcd)
//! under concurrent clients doing get, put, create, update, compare-and-swap and delete, with
//! injected client timeouts; and the checker catching a store that serves stale reads.
//!
//! Counts are modest by default; `ORCH_LIN_TRIALS` (trials, each with its own seed) and
//! `ORCH_LIN_OPS` (operations per client) raise them. Each test prints one JSON line of figures
//! (run with `--nocapture` to see it); RELIABILITY.md holds the full-count ones.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use orch_store::kv::{
    DeleteRequest, DeleteResponse, KvError, KvStatus, KvStore, KvWatchStream, LeaseGrant, PutRequest, PutResponse,
    RangeRequest, RangeResponse, TxnRequest, TxnResponse, WatchRequest,
};
use orch_store::mem::MemKv;
use orch_store::testkit::linearizability::{
    CheckConfig, KvModelStore, ModelStore, Workload, check, check_trials, run_workload,
};

use super::durable_kv::{TempDir, open_with};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The workload of trial `seed`: 6 clients over 4 keys, a tenth of calls with an injected fault.
fn workload(seed: u64) -> Workload {
    Workload::default()
        .clients(6)
        .ops_per_client(env_or("ORCH_LIN_OPS", 100))
        .keys(4)
        .seed(seed)
        .timeouts(0.1, Duration::from_millis(3))
}

/// Runs the trials against a fresh store from `open` each and prints the figures.
async fn trials<F, Fut>(name: &str, mut open: F)
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Arc<dyn KvStore>>,
{
    let open = |seed: u64| {
        let kv = open(seed);
        async move { Arc::new(KvModelStore::new(kv.await, format!("lin-{seed}/"))) as Arc<dyn ModelStore> }
    };
    let figures = check_trials(name, env_or("ORCH_LIN_TRIALS", 1), workload, open).await;
    eprintln!("{}", figures.to_json(name));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mem_kv_is_linearizable_under_concurrent_clients_with_timeouts() {
    trials("mem_kv", |_| async { Arc::new(MemKv::new()) as Arc<dyn KvStore> }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn durable_kv_is_linearizable_under_concurrent_clients_with_timeouts() {
    let dir = TempDir::new("linearizability");
    trials("durable_kv", |seed| {
        let path = dir.0.join(format!("trial-{seed}"));
        async move { Arc::new(open_with(&path, Default::default()).expect("open DurableKv")) as Arc<dyn KvStore> }
    })
    .await;
}

#[cfg(feature = "etcd")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn etcd_kv_is_linearizable_under_concurrent_clients_with_timeouts() {
    use orch_store::etcd::{EtcdKv, EtcdKvConfig};
    use orch_store::testkit::etcd_server::{EtcdServer, unique_prefix};
    let server = EtcdServer::shared().unwrap_or_else(|e| panic!("this test needs a real etcd: {e}"));
    trials("etcd_kv", |seed| async move {
        let config = EtcdKvConfig::default().with_key_prefix(unique_prefix(&format!("lin-{seed}")));
        Arc::new(EtcdKv::connect(&server.endpoints(), config).await.expect("connect to etcd")) as Arc<dyn KvStore>
    })
    .await;
}

/// A deliberately broken store: reads are served `lag` revisions behind the latest, as a
/// follower without a read barrier would serve them.
struct StaleReads {
    inner: MemKv,
    lag: i64,
}

#[async_trait]
impl KvStore for StaleReads {
    async fn range(&self, req: RangeRequest) -> Result<RangeResponse, KvError> {
        let status = self.inner.status().await?;
        let stale = (status.revision - self.lag).max(status.compact_revision + 1).max(1);
        self.inner.range(if req.revision == 0 { req.at_revision(stale) } else { req }).await
    }
    async fn put(&self, req: PutRequest) -> Result<PutResponse, KvError> {
        self.inner.put(req).await
    }
    async fn delete(&self, req: DeleteRequest) -> Result<DeleteResponse, KvError> {
        self.inner.delete(req).await
    }
    async fn txn(&self, req: TxnRequest) -> Result<TxnResponse, KvError> {
        self.inner.txn(req).await
    }
    async fn watch(&self, req: WatchRequest) -> Result<KvWatchStream, KvError> {
        self.inner.watch(req).await
    }
    async fn lease_grant(&self, ttl: Duration, id: i64) -> Result<LeaseGrant, KvError> {
        self.inner.lease_grant(ttl, id).await
    }
    async fn lease_keep_alive(&self, id: i64) -> Result<i64, KvError> {
        self.inner.lease_keep_alive(id).await
    }
    async fn lease_revoke(&self, id: i64) -> Result<(), KvError> {
        self.inner.lease_revoke(id).await
    }
    async fn compact(&self, revision: i64) -> Result<(), KvError> {
        self.inner.compact(revision).await
    }
    async fn status(&self) -> Result<KvStatus, KvError> {
        self.inner.status().await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn checker_flags_a_store_that_serves_stale_reads() {
    let kv = Arc::new(StaleReads { inner: MemKv::new(), lag: 2 });
    let store = Arc::new(KvModelStore::new(kv, "stale/"));
    let (history, _) = run_workload(store, &workload(7)).await;
    let report = check(&history.operations(), &CheckConfig::default());
    assert!(!report.violations.is_empty(), "stale reads went unnoticed in {} operations", report.operations);
    let text = report.violations[0].to_string();
    assert!(text.contains("no linearization") && text.contains("get ->"), "{text}");
    eprintln!(
        "{{\"lin\":\"stale_reads\",\"operations\":{},\"keys_violated\":{},\"keys\":{}}}",
        report.operations,
        report.violations.len(),
        report.keys
    );
}
