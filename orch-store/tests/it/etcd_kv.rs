//! `EtcdKv` against a real etcd (Debian's etcd-server, installed by scripts/setup): CRUD,
//! transactions, watch, leases, compaction, errors, and the KV contract suite.
//!
//! Tests share one etcd per test binary and keep apart by key prefix; tests that compact or
//! that need a quiet server start their own (revisions and compaction are cluster-wide).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use futures::StreamExt;
use orch_store::etcd::{EtcdKv, EtcdKvConfig};
use orch_store::kv::{
    Compare, CompareOp, CompareTarget, DeleteRequest, KvError, KvEventKind, KvStore, KvWatchStream, PutRequest,
    RangeRequest, TxnOp, TxnOpResponse, TxnRequest, WatchMessage, WatchRequest,
};
use orch_store::testkit::etcd_server::{EtcdServer, unique_prefix};

fn shared() -> &'static EtcdServer {
    match EtcdServer::shared() {
        Ok(server) => server,
        Err(e) => panic!("these tests need a real etcd: {e}"),
    }
}

async fn connect(server: &EtcdServer, prefix: &str) -> EtcdKv {
    EtcdKv::connect(&server.endpoints(), EtcdKvConfig::default().with_key_prefix(prefix.to_owned()))
        .await
        .expect("connecting to the test etcd")
}

/// A store on the shared server, under a prefix of its own.
async fn store(name: &str) -> EtcdKv {
    connect(shared(), &unique_prefix(name)).await
}

async fn next(stream: &mut KvWatchStream) -> Result<WatchMessage, KvError> {
    match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
        Ok(Some(item)) => item,
        Ok(None) => panic!("watch ended"),
        Err(_) => panic!("no watch message within 10 s"),
    }
}

/// The next batch of events, skipping progress notifications.
async fn next_events(stream: &mut KvWatchStream) -> Vec<orch_store::kv::KvEvent> {
    loop {
        match next(stream).await {
            Ok(WatchMessage::Events(events)) => return events,
            Ok(WatchMessage::Progress { .. }) => continue,
            Err(e) => panic!("watch failed: {e}"),
        }
    }
}

#[tokio::test]
async fn put_range_delete_round_trip_under_a_hidden_prefix() {
    let prefix = unique_prefix("crud");
    let kv = connect(shared(), &prefix).await;
    let first = kv.put(PutRequest::new("a/1", "one")).await.unwrap();
    let second = kv.put(PutRequest::new("a/2", "two")).await.unwrap();
    kv.put(PutRequest::new("b/1", "other")).await.unwrap();
    assert!(second.revision > first.revision);

    let read = kv.range(RangeRequest::key("a/1")).await.unwrap();
    assert_eq!(read.kvs.len(), 1);
    let got = &read.kvs[0];
    assert_eq!((&got.key[..], &got.value[..]), (&b"a/1"[..], &b"one"[..]));
    assert_eq!((got.create_revision, got.mod_revision, got.version), (first.revision, first.revision, 1));
    assert!(read.revision >= second.revision);

    let page = kv.range(RangeRequest::prefix("a/").limit(1)).await.unwrap();
    assert_eq!((page.kvs.len(), page.more, page.count), (1, true, 2));
    assert_eq!(page.kvs[0].key, "a/1");
    let keys = kv.range(RangeRequest::prefix("").keys_only()).await.unwrap();
    let names: Vec<_> = keys.kvs.iter().map(|k| k.key.clone()).collect();
    assert_eq!(names, ["a/1", "a/2", "b/1"]);
    assert!(keys.kvs.iter().all(|k| k.value.is_empty()));
    let counted = kv.range(RangeRequest::prefix("a/").count_only()).await.unwrap();
    assert_eq!((counted.kvs.len(), counted.count), (0, 2));
    let old = kv.range(RangeRequest::key("a/2").at_revision(first.revision)).await.unwrap();
    assert!(old.kvs.is_empty(), "a/2 did not exist at {}", first.revision);

    let updated = kv.put(PutRequest::new("a/1", "uno").with_prev_kv()).await.unwrap();
    assert_eq!(updated.prev_kv.map(|p| p.value), Some("one".into()));

    // The raw keyspace holds the prefixed keys; another prefix sees nothing.
    let raw = connect(shared(), "").await;
    let full = raw.range(RangeRequest::key(format!("{prefix}a/1"))).await.unwrap();
    assert_eq!(full.kvs[0].value, "uno");
    let other = store("crud-other").await;
    assert_eq!(other.range(RangeRequest::prefix("")).await.unwrap().count, 0);

    let deleted = kv.delete(DeleteRequest::prefix("a/").with_prev_kv()).await.unwrap();
    assert_eq!(deleted.deleted, 2);
    let gone: Vec<_> = deleted.prev_kvs.iter().map(|k| k.key.clone()).collect();
    assert_eq!(gone, ["a/1", "a/2"]);
    // Other tests write to the shared server meanwhile: the revision only moves on.
    let nothing = kv.delete(DeleteRequest::key("a/1")).await.unwrap();
    assert_eq!(nothing.deleted, 0);
    assert!(nothing.revision >= deleted.revision);
}

#[tokio::test]
async fn empty_key_is_invalid() {
    let kv = store("empty").await;
    assert!(matches!(kv.put(PutRequest::new("", "v")).await, Err(KvError::InvalidRequest { .. })));
    assert!(matches!(kv.range(RangeRequest::key("")).await, Err(KvError::InvalidRequest { .. })));
}

#[tokio::test]
async fn txn_compares_and_branches() {
    let kv = store("txn").await;
    let create = |value: &str| TxnRequest {
        compare: vec![Compare::create_revision("k", CompareOp::Equal, 0)],
        success: vec![TxnOp::Put(PutRequest::new("k", value.to_owned()))],
        failure: vec![TxnOp::Range(RangeRequest::key("k"))],
    };
    let created = kv.txn(create("v1")).await.unwrap();
    assert!(created.succeeded);
    let TxnOpResponse::Put(put) = &created.responses[0] else { panic!("put response expected") };
    assert_eq!(put.revision, created.revision);

    let again = kv.txn(create("v2")).await.unwrap();
    assert!(!again.succeeded);
    let TxnOpResponse::Range(read) = &again.responses[0] else { panic!("range response expected") };
    assert_eq!(read.kvs[0].key, "k");
    assert_eq!(read.kvs[0].value, "v1");

    let rev = created.revision;
    let compares = [
        (Compare::value("k", CompareOp::Equal, "v1"), true),
        (Compare::value("k", CompareOp::NotEqual, "v1"), false),
        (Compare::version("k", CompareOp::Equal, 1), true),
        (Compare::version("k", CompareOp::Greater, 1), false),
        (Compare::mod_revision("k", CompareOp::Equal, rev), true),
        (Compare::mod_revision("k", CompareOp::Less, rev), false),
        (Compare::create_revision("k", CompareOp::Greater, 0), true),
        (Compare { key: "k".into(), op: CompareOp::Equal, target: CompareTarget::Lease(0) }, true),
    ];
    for (compare, want) in compares {
        let txn = TxnRequest { compare: vec![compare.clone()], success: vec![], failure: vec![] };
        assert_eq!(kv.txn(txn).await.unwrap().succeeded, want, "{compare:?}");
    }

    // Both writes of a branch share one revision; deletes report what they removed.
    let both = TxnRequest {
        compare: vec![],
        success: vec![
            TxnOp::Put(PutRequest::new("x", "1").with_prev_kv()),
            TxnOp::Delete(DeleteRequest::key("k").with_prev_kv()),
        ],
        failure: vec![],
    };
    let done = kv.txn(both).await.unwrap();
    assert!(done.succeeded && done.revision > rev);
    let TxnOpResponse::Delete(del) = &done.responses[1] else { panic!("delete response expected") };
    assert_eq!((del.deleted, &del.prev_kvs[0].key[..]), (1, &b"k"[..]));
    let x = kv.range(RangeRequest::key("x")).await.unwrap();
    assert_eq!(x.kvs[0].mod_revision, done.revision);

    let duplicate = TxnRequest {
        compare: vec![],
        success: vec![TxnOp::Put(PutRequest::new("d", "1")), TxnOp::Put(PutRequest::new("d", "2"))],
        failure: vec![],
    };
    assert!(matches!(kv.txn(duplicate).await, Err(KvError::InvalidRequest { .. })));
}

#[tokio::test]
async fn watch_delivers_whole_revisions_with_stripped_keys() {
    let kv = store("watch").await;
    let mut watch = kv.watch(WatchRequest::prefix("w/").with_prev_kv()).await.unwrap();
    let put = kv.put(PutRequest::new("w/a", "1")).await.unwrap();
    let events = next_events(&mut watch).await;
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].kind, &events[0].kv.key[..]), (KvEventKind::Put, &b"w/a"[..]));
    assert_eq!(events[0].kv.mod_revision, put.revision);

    let txn = TxnRequest {
        compare: vec![],
        success: vec![
            TxnOp::Put(PutRequest::new("w/b", "2")),
            TxnOp::Delete(DeleteRequest::key("w/a")),
            TxnOp::Put(PutRequest::new("elsewhere", "3")),
        ],
        failure: vec![],
    };
    let rev = kv.txn(txn).await.unwrap().revision;
    let events = next_events(&mut watch).await;
    let seen: Vec<_> = events.iter().map(|e| (e.kind, e.kv.key.clone(), e.kv.mod_revision)).collect();
    assert_eq!(seen, [(KvEventKind::Put, "w/b".into(), rev), (KvEventKind::Delete, "w/a".into(), rev)]);
    assert_eq!(events[1].prev_kv.as_ref().map(|p| p.value.clone()), Some("1".into()));

    // Replaying from the first write delivers the same history.
    let mut replay = kv.watch(WatchRequest::prefix("w/").from_revision(put.revision)).await.unwrap();
    let mut replayed = Vec::new();
    while replayed.len() < 3 {
        replayed.extend(next_events(&mut replay).await.into_iter().map(|e| (e.kind, e.kv.mod_revision)));
    }
    assert_eq!(replayed, [(KvEventKind::Put, put.revision), (KvEventKind::Put, rev), (KvEventKind::Delete, rev)]);
}

#[tokio::test]
async fn idle_watch_with_progress_gets_progress_notifications() {
    let kv = store("progress").await;
    let before = kv.status().await.unwrap().revision;
    let mut watch = kv.watch(WatchRequest::prefix("p/").with_progress()).await.unwrap();
    match next(&mut watch).await {
        Ok(WatchMessage::Progress { revision }) => assert!(revision >= before),
        other => panic!("expected progress, got {other:?}"),
    }
}

#[tokio::test]
async fn leases_grant_keep_alive_revoke_and_expire() {
    let kv = store("lease").await;
    let lease = kv.lease_grant(Duration::from_millis(1500), 0).await.unwrap();
    assert_eq!(lease.ttl, 2, "TTL is rounded up to whole seconds");
    kv.put(PutRequest::new("held", "v").with_lease(lease.id)).await.unwrap();
    let read = kv.range(RangeRequest::key("held")).await.unwrap();
    assert_eq!(read.kvs[0].lease, lease.id);
    assert_eq!(kv.lease_keep_alive(lease.id).await.unwrap(), 2);

    let mut watch = kv.watch(WatchRequest::key("held")).await.unwrap();
    kv.lease_revoke(lease.id).await.unwrap();
    let events = next_events(&mut watch).await;
    assert_eq!(events[0].kind, KvEventKind::Delete);
    assert!(kv.range(RangeRequest::key("held")).await.unwrap().kvs.is_empty());

    let missing = lease.id;
    assert_eq!(kv.lease_keep_alive(missing).await, Err(KvError::LeaseNotFound { id: missing }));
    assert_eq!(kv.lease_revoke(missing).await, Err(KvError::LeaseNotFound { id: missing }));
    assert_eq!(
        kv.put(PutRequest::new("x", "v").with_lease(missing)).await.map(|_| ()),
        Err(KvError::LeaseNotFound { id: missing })
    );

    // Expiry: etcd checks leases every 500 ms; a 2 s lease is gone within a few seconds.
    let short = kv.lease_grant(Duration::from_secs(2), 0).await.unwrap();
    kv.put(PutRequest::new("expiring", "v").with_lease(short.id)).await.unwrap();
    let mut watch = kv.watch(WatchRequest::key("expiring")).await.unwrap();
    let events = next_events(&mut watch).await;
    assert_eq!(events[0].kind, KvEventKind::Delete);
}

#[tokio::test]
async fn too_large_requests_are_too_large() {
    let kv = store("large").await;
    let limit = kv.config().max_value_bytes;
    let value = vec![b'x'; limit + 1];
    assert_eq!(
        kv.put(PutRequest::new("big", value)).await,
        Err(KvError::TooLarge { size: limit + 1, limit }),
        "checked before sending"
    );
    // Two values each under the limit, together over etcd's --max-request-bytes: etcd refuses.
    let half = vec![b'x'; 1024 * 1024];
    let txn = TxnRequest {
        compare: vec![],
        success: vec![TxnOp::Put(PutRequest::new("a", half.clone())), TxnOp::Put(PutRequest::new("b", half))],
        failure: vec![],
    };
    match kv.txn(txn).await {
        Err(KvError::TooLarge { size, limit }) => {
            assert_eq!((size, limit), (2 * 1024 * 1024 + 2, kv.config().max_request_bytes))
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[tokio::test]
async fn unreachable_etcd_is_unavailable() {
    // A port that was free a moment ago: nobody listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = EtcdKvConfig::default().with_dial_timeout(Duration::from_millis(500));
    match EtcdKv::connect(&[format!("http://127.0.0.1:{port}")], config).await {
        Err(KvError::Unavailable { .. }) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
    let none: &[&str] = &[];
    assert!(matches!(EtcdKv::connect(none, EtcdKvConfig::default()).await, Err(KvError::InvalidRequest { .. })));
}

/// Compaction is cluster-wide: this test has a server of its own.
#[tokio::test]
async fn compaction_fails_old_reads_and_watches_with_the_compact_revision() {
    let server = EtcdServer::start().expect("starting a test etcd (scripts/setup installs it)");
    let kv = connect(&server, "/c/").await;
    assert_eq!(kv.status().await.unwrap().compact_revision, 0);
    let old = kv.put(PutRequest::new("k", "1")).await.unwrap().revision;
    let at = kv.put(PutRequest::new("k", "2")).await.unwrap().revision;
    kv.put(PutRequest::new("k", "3")).await.unwrap();
    kv.compact(at).await.unwrap();

    let status = kv.status().await.unwrap();
    assert_eq!(status.compact_revision, at);
    assert!(status.revision > at);
    assert_eq!(
        kv.range(RangeRequest::key("k").at_revision(old)).await,
        Err(KvError::Compacted { requested: old, compacted: at })
    );
    let kept = kv.range(RangeRequest::key("k").at_revision(at)).await.unwrap();
    assert_eq!(kept.kvs[0].value, "2");

    let mut watch = kv.watch(WatchRequest::key("k").from_revision(old)).await.unwrap();
    assert_eq!(next(&mut watch).await, Err(KvError::Compacted { requested: old, compacted: at }));
    assert!(watch.next().await.is_none(), "the stream ends after an error");

    let future = status.revision + 100;
    assert_eq!(
        kv.range(RangeRequest::key("k").at_revision(future)).await,
        Err(KvError::FutureRevision { requested: future, current: status.revision })
    );
    assert!(
        matches!(kv.compact(old).await, Err(KvError::Compacted { requested, compacted }) if requested == old && compacted == at)
    );
}

/// Reads etcd's count of open watchers from its metrics.
fn watchers(server: &EtcdServer) -> u64 {
    let addr = server.client_url().trim_start_matches("http://");
    let mut conn = TcpStream::connect(addr).expect("connecting to etcd's metrics");
    conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
    let mut body = String::new();
    conn.read_to_string(&mut body).unwrap();
    body.lines()
        .find_map(|l| l.strip_prefix("etcd_debugging_mvcc_watcher_total "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|v| v as u64)
        .expect("etcd reports etcd_debugging_mvcc_watcher_total")
}

/// Needs a server of its own so no other test's watches are counted.
#[tokio::test]
async fn dropping_a_watch_cancels_it_on_the_server() {
    let server = EtcdServer::start().expect("starting a test etcd (scripts/setup installs it)");
    let kv = connect(&server, "/d/").await;
    let watch = kv.watch(WatchRequest::prefix("")).await.unwrap();
    assert_eq!(watchers(&server), 1);
    drop(watch);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while watchers(&server) != 0 {
        assert!(std::time::Instant::now() < deadline, "the etcd watch outlived its stream");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The KV contract suite, one test per check. Each check gets a client of the shared server
/// under a fresh prefix; the checks that compact or count revisions get a server of their own.
mod contract {
    use std::sync::Arc;
    use std::time::Duration;

    use orch_store::etcd::EtcdKvConfig;
    use orch_store::kv::KvStore;
    use orch_store::testkit::etcd_server::EtcdServer;
    use orch_store::testkit::kv::{self, KvKitConfig};

    fn cfg() -> KvKitConfig {
        KvKitConfig::default().lease_ttl(Duration::from_secs(2)).max_value_size(EtcdKvConfig::default().max_value_bytes)
    }

    async fn store() -> Arc<dyn KvStore> {
        Arc::new(super::store("contract").await)
    }

    macro_rules! contract {
        ($($check:ident),* $(,)?) => {
            $(
                #[tokio::test]
                async fn $check() {
                    kv::$check(store().await, &cfg()).await;
                }
            )*
        };
    }

    contract!(
        versions_follow_etcd,
        range_at_revision_sees_past_writes,
        range_limit_count_and_more,
        invalid_requests_are_rejected,
        large_values_up_to_the_limit,
        txn_compares_on_every_target,
        txn_is_all_or_nothing,
        watch_delivers_every_event_once_in_order,
        watch_resumes_from_last_seen_revision,
        watch_from_old_revision_replays_history,
        watch_prev_kv_carries_previous_values,
        watch_key_sees_only_that_key,
        lease_expiry_deletes_keys_and_notifies_watchers,
        lease_revoke_deletes_keys_in_one_revision,
        lease_keep_alive_extends_the_lease,
        put_with_unknown_lease_fails,
    );

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn txn_cas_race_loses_no_update() {
        kv::txn_cas_race_loses_no_update(store().await, &cfg()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn slow_watcher_blocks_no_one() {
        kv::slow_watcher_blocks_no_one(store().await, &cfg()).await;
    }

    /// A store on a server of its own, for checks the other tests' writes would disturb.
    async fn own_server() -> (EtcdServer, Arc<dyn KvStore>) {
        let server = EtcdServer::start().expect("starting a test etcd (scripts/setup installs it)");
        let kv = Arc::new(super::connect(&server, "/contract/").await);
        (server, kv)
    }

    /// Counts revisions: the shared server's other writers would make it retry until it gives up.
    #[tokio::test]
    async fn writes_make_one_revision_each() {
        let (_server, kv) = own_server().await;
        kv::writes_make_one_revision_each(kv, &cfg()).await;
    }

    /// Compaction is cluster-wide.
    #[tokio::test]
    async fn compaction_fails_old_reads_and_watches() {
        let (_server, kv) = own_server().await;
        kv::compaction_fails_old_reads_and_watches(kv, &cfg()).await;
    }
}
