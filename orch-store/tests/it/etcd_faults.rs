//! `EtcdKv` under injected faults on real etcd processes (Debian's etcd-server, installed by
//! scripts/setup), all on 127.0.0.1:
//!
//! - a single etcd SIGKILLed under concurrent writes and restarted on the same data directory
//!   and ports: calls during the outage fail with `Unavailable` or `Timeout` within the request
//!   timeout, the same `EtcdKv` works again afterwards, every acknowledged write is there, and a
//!   watch opened before the outage ends with a clear error from which a resume (what a
//!   reflector does) sees every later change exactly once, in order;
//! - a three-member cluster under concurrent get / put / compare-and-swap / delete clients whose
//!   history is checked for linearizability, while the leader is killed (work goes on after the
//!   election), then a second member (no quorum: calls fail, never answer wrongly), then both
//!   come back (calls succeed again).
//!
//! One trial of each by default; `ORCH_ETCD_FAULT_TRIALS` raises the count (each trial starts
//! fresh etcd processes). Each test prints one JSON line of figures (run with `--nocapture`);
//! RELIABILITY.md holds the full-count ones.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::StreamExt;
use orch_store::etcd::{EtcdKv, EtcdKvConfig};
use orch_store::kv::{
    Compare, CompareOp, DeleteRequest, KvError, KvEventKind, KvStore, KvWatchStream, PutRequest, RangeRequest, TxnOp,
    TxnRequest, WatchMessage, WatchRequest,
};
use orch_store::testkit::etcd_cluster::EtcdCluster;
use orch_store::testkit::etcd_server::EtcdServer;
use orch_store::testkit::linearizability::{
    CheckConfig, Indefinite, Input, KvModelStore, ModelStore, Output, Workload, check, run_workload_until,
};

/// Every `EtcdKv` here gives up on a call after this long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// How much later than the request timeout a failed call may return on a busy machine (the
/// bound proves "no hang", it is not a latency target).
const SLACK: Duration = Duration::from_secs(3);

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn trials() -> u64 {
    env_or("ORCH_ETCD_FAULT_TRIALS", 1)
}

/// Runs a blocking test-kit call (starting, killing or restarting etcd) off the runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

fn config(prefix: &str) -> EtcdKvConfig {
    EtcdKvConfig::default()
        .with_key_prefix(prefix.to_owned())
        .with_dial_timeout(REQUEST_TIMEOUT)
        .with_request_timeout(REQUEST_TIMEOUT)
}

/// Whether a failure is one a caller can act on under a fault: the store is unavailable, or the
/// call's outcome is unknown (timeout).
fn is_fault_error(e: &KvError) -> bool {
    matches!(e, KvError::Unavailable { .. } | KvError::Timeout { .. })
}

// ---------------------------------------------------------------------------------------------
// A single etcd, SIGKILLed and restarted.

/// One put of a writer.
struct WriteRecord {
    key: String,
    value: String,
    took: Duration,
    /// The revision it was written at, or why it failed.
    outcome: Result<i64, KvError>,
}

/// Puts fresh keys `w/<id>/<n>` one after another until told to stop.
async fn writer(kv: EtcdKv, id: usize, stop: Arc<AtomicBool>) -> Vec<WriteRecord> {
    let mut out = Vec::new();
    for n in 0..50_000 {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let (key, value) = (format!("w/{id}/{n:06}"), format!("{id}.{n}"));
        let started = Instant::now();
        let outcome = kv.put(PutRequest::new(key.clone(), value.clone())).await.map(|r| r.revision);
        let failed = outcome.is_err();
        out.push(WriteRecord { key, value, took: started.elapsed(), outcome });
        // Back off after a failure, pace otherwise: load, not a busy loop on a shared machine.
        tokio::time::sleep(Duration::from_millis(if failed { 50 } else { 3 })).await;
    }
    out
}

/// What a watch delivered: `(key, value, mod_revision)` of each event, and how it ended.
#[derive(Default)]
struct WatchLog {
    events: Vec<(String, String, i64)>,
    /// The error it ended with (`None`: it did not end with an error).
    error: Option<KvError>,
    /// Whether the stream ended (after the error, or without one).
    ended: bool,
}

/// Reads `stream` until it ends, or until it has delivered revision `target` (once set), or
/// until `limit` passes.
async fn follow(mut stream: KvWatchStream, target: Arc<AtomicI64>, limit: Duration) -> WatchLog {
    let mut log = WatchLog::default();
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let goal = target.load(Ordering::SeqCst);
        if goal > 0 && log.events.last().is_some_and(|e| e.2 >= goal) {
            break;
        }
        match tokio::time::timeout(Duration::from_millis(200), stream.next()).await {
            Err(_) => continue,
            Ok(None) => {
                log.ended = true;
                break;
            }
            Ok(Some(Ok(WatchMessage::Progress { .. }))) => {}
            Ok(Some(Ok(WatchMessage::Events(events)))) => {
                for e in events {
                    let key = String::from_utf8_lossy(&e.kv.key).into_owned();
                    let value = String::from_utf8_lossy(&e.kv.value).into_owned();
                    log.events.push((key, value, e.kv.mod_revision));
                }
            }
            Ok(Some(Err(e))) => {
                assert!(log.error.is_none(), "a second error after {:?}: {e}", log.error);
                log.error = Some(e);
            }
        }
    }
    log
}

/// Each call a client may make during the outage: all must fail with a fault error in time.
async fn outage_probes(kv: &EtcdKv) -> Vec<(&'static str, Duration, Result<(), KvError>)> {
    let timed = |name: &'static str, fut: futures::future::BoxFuture<'static, Result<(), KvError>>| async move {
        let started = Instant::now();
        let r = fut.await;
        (name, started.elapsed(), r)
    };
    let (a, b, c, d, e, f) = (kv.clone(), kv.clone(), kv.clone(), kv.clone(), kv.clone(), kv.clone());
    let txn = TxnRequest {
        compare: vec![Compare::version("probe/txn", CompareOp::Equal, 0)],
        success: vec![TxnOp::Put(PutRequest::new("probe/txn", "x"))],
        failure: vec![],
    };
    futures::future::join_all([
        timed("range", Box::pin(async move { a.range(RangeRequest::prefix("w/")).await.map(drop) })),
        timed("put", Box::pin(async move { b.put(PutRequest::new("probe/put", "x")).await.map(drop) })),
        timed("txn", Box::pin(async move { c.txn(txn).await.map(drop) })),
        timed("delete", Box::pin(async move { d.delete(DeleteRequest::key("probe/put")).await.map(drop) })),
        timed("status", Box::pin(async move { e.status().await.map(drop) })),
        timed("watch", Box::pin(async move { f.watch(WatchRequest::prefix("w/")).await.map(drop) })),
    ])
    .await
}

/// The figures of the restart test, summed over trials.
#[derive(Default, Debug)]
struct RestartFigures {
    trials: u64,
    writes_acknowledged: usize,
    writes_failed: usize,
    failed_writes_present: usize,
    outage_probes: usize,
    slowest_failed_call_ms: u128,
    watch_ended_with_error: u64,
    watch_resumed_by_itself: u64,
    watch_events_checked: usize,
    watch_errors: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn etcd_kv_survives_a_killed_and_restarted_etcd_without_losing_acknowledged_writes() {
    let mut figures = RestartFigures::default();
    for trial in 0..trials() {
        restart_trial(trial, &mut figures).await;
    }
    eprintln!(
        "{}",
        serde_json::json!({
            "faults": "etcd_restart",
            "trials": figures.trials,
            "kills": figures.trials,
            "writes_acknowledged_and_checked": figures.writes_acknowledged,
            "writes_failed": figures.writes_failed,
            "failed_writes_present_after_restart": figures.failed_writes_present,
            "outage_probe_calls": figures.outage_probes,
            "slowest_failed_call_ms": figures.slowest_failed_call_ms,
            "watch_ended_with_error": figures.watch_ended_with_error,
            "watch_resumed_by_itself": figures.watch_resumed_by_itself,
            "watch_events_checked": figures.watch_events_checked,
            "watch_error_example": figures.watch_errors.first(),
            "lost_acknowledged_writes": 0,
        })
    );
}

async fn restart_trial(trial: u64, figures: &mut RestartFigures) {
    let server = blocking(EtcdServer::start).await.unwrap_or_else(|e| panic!("this test needs a real etcd: {e}"));
    let endpoints = server.endpoints();
    let server = Arc::new(Mutex::new(server));
    let kv = EtcdKv::connect(&endpoints, config(&format!("/faults/restart-{trial}/"))).await.expect("connect");

    // A watch opened before the outage, from a known revision.
    let start = kv.status().await.expect("status").revision + 1;
    let watch = kv.watch(WatchRequest::prefix("w/").from_revision(start)).await.expect("watch");
    let target = Arc::new(AtomicI64::new(0));
    let watched = tokio::spawn(follow(watch, target.clone(), Duration::from_secs(40)));

    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4).map(|id| tokio::spawn(writer(kv.clone(), id, stop.clone()))).collect();
    tokio::time::sleep(Duration::from_millis(400)).await;

    // The outage: SIGKILL, then every kind of call, each of which must fail in time.
    let s = server.clone();
    blocking(move || s.lock().unwrap_or_else(|e| e.into_inner()).kill()).await.expect("kill etcd");
    let probes = outage_probes(&kv).await;
    for (name, took, result) in &probes {
        match result {
            Err(e) if is_fault_error(e) => {}
            other => panic!("trial {trial}: {name} during the outage answered {other:?}"),
        }
        assert!(*took <= REQUEST_TIMEOUT + SLACK, "trial {trial}: {name} during the outage took {took:?}");
        figures.slowest_failed_call_ms = figures.slowest_failed_call_ms.max(took.as_millis());
    }
    figures.outage_probes += probes.len();

    let s = server.clone();
    blocking(move || s.lock().unwrap_or_else(|e| e.into_inner()).restart()).await.expect("restart etcd");
    // The same EtcdKv, no reconnect by the caller: the first call after the restart succeeds.
    kv.put(PutRequest::new("probe/after", "x")).await.expect("the first put after the restart");
    tokio::time::sleep(Duration::from_millis(400)).await;
    stop.store(true, Ordering::SeqCst);
    let mut writes = Vec::new();
    for w in writers {
        writes.extend(w.await.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic())));
    }

    // Every acknowledged write is there, at its revision; nothing that was not written is.
    let stored = kv.range(RangeRequest::prefix("w/")).await.expect("range after the restart");
    let stored: BTreeMap<String, (String, i64)> = stored
        .kvs
        .iter()
        .map(|kv| {
            let key = String::from_utf8_lossy(&kv.key).into_owned();
            (key, (String::from_utf8_lossy(&kv.value).into_owned(), kv.mod_revision))
        })
        .collect();
    let mut failed_present = 0;
    for w in &writes {
        match &w.outcome {
            Ok(revision) => {
                let got = stored.get(&w.key);
                assert_eq!(got, Some(&(w.value.clone(), *revision)), "trial {trial}: acknowledged {} lost", w.key);
                figures.writes_acknowledged += 1;
            }
            Err(e) => {
                assert!(is_fault_error(e), "trial {trial}: a put failed with {e}");
                assert!(w.took <= REQUEST_TIMEOUT + SLACK, "trial {trial}: a failed put took {:?}", w.took);
                figures.slowest_failed_call_ms = figures.slowest_failed_call_ms.max(w.took.as_millis());
                figures.writes_failed += 1;
                failed_present += usize::from(stored.get(&w.key).is_some_and(|(v, _)| *v == w.value));
            }
        }
    }
    figures.failed_writes_present += failed_present;
    let attempted: std::collections::HashSet<&str> = writes.iter().map(|w| w.key.as_str()).collect();
    assert!(stored.keys().all(|k| attempted.contains(k.as_str())), "trial {trial}: a key nobody wrote");
    assert!(writes.iter().any(|w| w.outcome.is_err()), "trial {trial}: no write hit the outage");

    // The watch from before the outage: every event it delivered is a real write, in order;
    // then it either ended with a clear error or went on by itself.
    let last = stored.values().map(|(_, rev)| *rev).max().unwrap_or(0);
    target.store(last, Ordering::SeqCst);
    let log = watched.await.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    let mut events = log.events.clone();
    match &log.error {
        Some(e) => {
            assert!(
                matches!(e, KvError::Unavailable { .. } | KvError::Compacted { .. }),
                "trial {trial}: the watch ended with {e}"
            );
            assert!(log.ended, "trial {trial}: the watch went on after its error");
            figures.watch_ended_with_error += 1;
            figures.watch_errors.push(e.to_string());
            // What a reflector does: watch again from the revision after the last it saw.
            let from = events.last().map_or(start, |e| e.2 + 1);
            let resumed = kv.watch(WatchRequest::prefix("w/").from_revision(from)).await.expect("resume the watch");
            let more = follow(resumed, target.clone(), Duration::from_secs(20)).await;
            assert!(more.error.is_none(), "trial {trial}: the resumed watch failed: {:?}", more.error);
            events.extend(more.events);
        }
        None => {
            assert!(!log.ended, "trial {trial}: the watch ended without an error");
            figures.watch_resumed_by_itself += 1;
        }
    }
    let seen: Vec<(String, String, i64)> =
        stored.iter().map(|(k, (v, rev))| (k.clone(), v.clone(), *rev)).collect::<Vec<_>>();
    let mut expected = seen;
    expected.sort_by_key(|e| e.2);
    assert_eq!(
        events.len(),
        expected.len(),
        "trial {trial}: the watch saw {} of {} writes",
        events.len(),
        expected.len()
    );
    assert_eq!(events, expected, "trial {trial}: the watch's changes differ from the store's, or are out of order");
    figures.watch_events_checked += events.len();
    figures.trials += 1;
    drop(kv);
    blocking(move || drop(server)).await;
}

// ---------------------------------------------------------------------------------------------
// A three-member cluster: leader killed, quorum lost, quorum back; the history is checked.

/// One call as the clients saw it, with wall-clock times (for the phases and the stall).
#[derive(Clone, Debug)]
struct Call {
    started: Instant,
    ended: Instant,
    write: bool,
    /// `Ok` or the error's text (`KvModelStore` hands errors on as text).
    outcome: Result<(), String>,
}

/// The model over `EtcdKv`, paced (so the history stays checkable), recording wall-clock times.
struct Timed {
    inner: KvModelStore,
    calls: Mutex<Vec<Call>>,
    pace: Duration,
}

#[async_trait]
impl ModelStore for Timed {
    async fn apply(&self, key: &str, input: &Input) -> Result<Output, Indefinite> {
        tokio::time::sleep(self.pace).await;
        let started = Instant::now();
        let result = self.inner.apply(key, input).await;
        let call = Call {
            started,
            ended: Instant::now(),
            write: input.is_write(),
            outcome: result.as_ref().map(drop).map_err(|e| e.0.clone()),
        };
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).push(call);
        if result.is_err() {
            // A client backs off after a failure rather than retrying in a tight loop.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        result
    }
}

/// When each fault was injected.
#[derive(Clone, Copy, Debug)]
struct Schedule {
    /// The first leader was killed (after the kill returned).
    leader_killed: Instant,
    /// A new leader was known to every running member.
    elected: Instant,
    /// The second kill began.
    killing_second: Instant,
    /// The second member was killed, leaving one of three.
    quorum_lost: Instant,
    /// The first restart began.
    restarting: Instant,
    /// Every member was healthy again.
    healthy: Instant,
}

/// One watch event: kind, key, value, revision.
type Seen = (KvEventKind, String, String, i64);

/// What a watch kept alive as a reflector keeps it delivered, and the failures it went through.
#[derive(Default)]
struct Reflected {
    events: Vec<Seen>,
    /// Each failure (watch creation or an open stream) as text.
    errors: Vec<String>,
}

/// Watches `prefix` from `start` as orch's watcher does: on an error or the end of the stream,
/// it watches again, after a pause, from the revision after the last one it saw. Returns once
/// revision `target` (when set) has been delivered, or after `limit`.
async fn reflect(kv: EtcdKv, prefix: String, start: i64, target: Arc<AtomicI64>, limit: Duration) -> Reflected {
    let mut out = Reflected::default();
    let mut next = start;
    let mut stream: Option<KvWatchStream> = None;
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let goal = target.load(Ordering::SeqCst);
        if goal > 0 && next > goal {
            break;
        }
        let Some(open) = stream.as_mut() else {
            match kv.watch(WatchRequest::prefix(prefix.clone()).from_revision(next)).await {
                Ok(s) => stream = Some(s),
                Err(e) => {
                    out.errors.push(e.to_string());
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            continue;
        };
        match tokio::time::timeout(Duration::from_millis(200), open.next()).await {
            Err(_) | Ok(Some(Ok(WatchMessage::Progress { .. }))) => {}
            Ok(Some(Ok(WatchMessage::Events(events)))) => {
                for e in events {
                    let key = String::from_utf8_lossy(&e.kv.key).into_owned();
                    let value = String::from_utf8_lossy(&e.kv.value).into_owned();
                    next = e.kv.mod_revision + 1;
                    out.events.push((e.kind, key, value, e.kv.mod_revision));
                }
            }
            Ok(Some(Err(e))) => {
                out.errors.push(e.to_string());
                stream = None;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Ok(None) => {
                out.errors.push("the watch stream ended".into());
                stream = None;
            }
        }
    }
    out
}

/// The figures of the cluster test, summed over trials.
#[derive(Default, Debug)]
struct ClusterFigures {
    trials: u64,
    operations: usize,
    writes: usize,
    writes_acknowledged: usize,
    unknown_outcomes: usize,
    members_killed: u64,
    max_stall_ms: u128,
    stalls_ms: Vec<u128>,
    elections_ms: Vec<u128>,
    failed_unavailable: usize,
    failed_timeout: usize,
    failed_during_election: usize,
    after_election: usize,
    failed_after_election: usize,
    failed_after_election_examples: Vec<String>,
    failed_without_quorum: usize,
    answered_without_quorum: usize,
    failed_after_recovery: usize,
    succeeded_after_recovery: usize,
    search_steps: u64,
    watch_events_checked: usize,
    watch_failures: usize,
    watch_failure_examples: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn etcd_kv_on_a_three_member_cluster_stays_linearizable_through_leader_and_quorum_loss() {
    let mut figures = ClusterFigures::default();
    for trial in 0..trials() {
        cluster_trial(trial, &mut figures).await;
    }
    eprintln!(
        "{}",
        serde_json::json!({
            "faults": "etcd_cluster",
            "trials": figures.trials,
            "members_killed": figures.members_killed,
            "operations": figures.operations,
            "writes": figures.writes,
            "writes_acknowledged": figures.writes_acknowledged,
            "unknown_outcomes": figures.unknown_outcomes,
            "election_after_leader_kill_ms": figures.elections_ms,
            "write_stall_after_leader_kill_ms": figures.stalls_ms,
            "calls_failed_during_election": figures.failed_during_election,
            "calls_with_one_member_down_after_election": figures.after_election,
            "calls_failed_with_one_member_down_after_election": figures.failed_after_election,
            "calls_failed_with_one_member_down_after_election_examples": figures.failed_after_election_examples,
            "calls_failed_unavailable": figures.failed_unavailable,
            "calls_failed_timeout": figures.failed_timeout,
            "max_write_stall_ms": figures.max_stall_ms,
            "calls_failed_without_quorum": figures.failed_without_quorum,
            "calls_answered_without_quorum": figures.answered_without_quorum,
            "calls_failed_after_recovery": figures.failed_after_recovery,
            "calls_succeeded_after_recovery": figures.succeeded_after_recovery,
            "search_steps": figures.search_steps,
            "watch_events_checked": figures.watch_events_checked,
            "watch_failures_resumed": figures.watch_failures,
            "watch_failure_examples": figures.watch_failure_examples,
            "violations": 0,
        })
    );
}

async fn cluster_trial(trial: u64, figures: &mut ClusterFigures) {
    let cluster = blocking(EtcdCluster::start).await.unwrap_or_else(|e| panic!("this test needs a real etcd: {e}"));
    let endpoints = cluster.endpoints();
    let cluster = Arc::new(Mutex::new(cluster));
    let kv = EtcdKv::connect(&endpoints, config(&format!("/faults/cluster-{trial}/"))).await.expect("connect");
    // A watch on every key of the workload, kept alive through the faults as a reflector would.
    let prefix = format!("lin-{trial}/");
    let start = kv.status().await.expect("status").revision + 1;
    let target = Arc::new(AtomicI64::new(0));
    let reflector = tokio::spawn(reflect(kv.clone(), prefix.clone(), start, target.clone(), Duration::from_secs(120)));
    let store = Arc::new(Timed {
        inner: KvModelStore::new(Arc::new(kv.clone()), prefix.clone()),
        calls: Mutex::new(Vec::new()),
        pace: Duration::from_millis(10),
    });
    let workload = Workload::default()
        .clients(6)
        .keys(6)
        .ops_per_client(100_000)
        .seed(1000 + trial)
        .timeouts(0.02, Duration::from_millis(3));

    let schedule = Arc::new(Mutex::new(None));
    let faults = {
        let (cluster, schedule) = (cluster.clone(), schedule.clone());
        async move {
            let run = |f: Box<dyn FnOnce(&mut EtcdCluster) + Send>| {
                let cluster = cluster.clone();
                blocking(move || f(&mut cluster.lock().unwrap_or_else(|e| e.into_inner())))
            };
            let wait = Duration::from_secs(20);
            tokio::time::sleep(Duration::from_millis(800)).await;
            let leader = Arc::new(Mutex::new(0));
            let l = leader.clone();
            run(Box::new(move |c| {
                let first = c.wait_for_leader(wait).expect("a first leader");
                c.kill(first).expect("kill the leader");
                *l.lock().unwrap() = first;
            }))
            .await;
            let leader_killed = Instant::now();
            let second = Arc::new(Mutex::new(0));
            let s = second.clone();
            run(Box::new(move |c| *s.lock().unwrap() = c.wait_for_leader(wait).expect("a new leader"))).await;
            let elected = Instant::now();
            tokio::time::sleep(Duration::from_millis(1500)).await;
            // Kill the new leader: the one member left is a follower without quorum.
            let s = *second.lock().unwrap();
            let killing_second = Instant::now();
            run(Box::new(move |c| c.kill(s).expect("kill a second member"))).await;
            let quorum_lost = Instant::now();
            // Long enough for every client to make calls that start and fail without quorum.
            tokio::time::sleep(REQUEST_TIMEOUT * 3).await;
            let restarting = Instant::now();
            let first = *leader.lock().unwrap();
            run(Box::new(move |c| {
                c.restart(first).expect("restart the first");
                c.restart(s).expect("restart the second");
                c.wait_for_leader(wait).expect("a leader after the restarts");
            }))
            .await;
            let healthy = Instant::now();
            tokio::time::sleep(Duration::from_millis(1500)).await;
            *schedule.lock().unwrap() =
                Some(Schedule { leader_killed, elected, killing_second, quorum_lost, restarting, healthy });
        }
    };
    let (history, stats) = run_workload_until(store.clone(), &workload, faults).await;
    let schedule = schedule.lock().unwrap_or_else(|e| e.into_inner()).expect("the fault schedule ran to its end");
    let calls = store.calls.lock().unwrap_or_else(|e| e.into_inner()).clone();

    // No call hangs beyond the request timeout, and every failure is a fault error.
    for c in &calls {
        let took = c.ended - c.started;
        assert!(took <= REQUEST_TIMEOUT + SLACK, "trial {trial}: a call took {took:?}: {:?}", c.outcome);
        match &c.outcome {
            Ok(()) => {}
            Err(e) if e.starts_with("store unavailable: ") => figures.failed_unavailable += 1,
            Err(e) if e.starts_with("timed out: ") => figures.failed_timeout += 1,
            Err(e) => panic!("trial {trial}: a call failed with {e}"),
        }
    }
    // (a) Writes go on after the election; the stall is the gap in acknowledged writes around
    // the kill.
    let mut acked: Vec<Instant> = calls.iter().filter(|c| c.write && c.outcome.is_ok()).map(|c| c.ended).collect();
    acked.sort();
    let before = acked.iter().rev().find(|t| **t <= schedule.leader_killed);
    let after = acked.iter().find(|t| **t > schedule.leader_killed && **t < schedule.quorum_lost);
    let (Some(before), Some(after)) = (before, after) else {
        panic!("trial {trial}: no acknowledged write before the leader kill or between it and the quorum loss");
    };
    let stall = (*after - *before).as_millis();
    figures.elections_ms.push((schedule.elected - schedule.leader_killed).as_millis());
    figures.failed_during_election += calls
        .iter()
        .filter(|c| c.ended > schedule.leader_killed && c.started < schedule.elected && c.outcome.is_err())
        .count();
    // With one member down and a leader elected, calls should not fail: those that reach the
    // dead member fail over to the others.
    let one_down: Vec<&Call> =
        calls.iter().filter(|c| c.started > schedule.elected && c.ended < schedule.killing_second).collect();
    figures.after_election += one_down.len();
    for c in one_down.iter().filter(|c| c.outcome.is_err()) {
        figures.failed_after_election += 1;
        if figures.failed_after_election_examples.len() < 3
            && let Err(e) = &c.outcome
        {
            let at = c.started.saturating_duration_since(schedule.elected).as_millis();
            figures.failed_after_election_examples.push(format!("+{at} ms after the election: {e}"));
        }
    }
    figures.stalls_ms.push(stall);
    figures.max_stall_ms = figures.max_stall_ms.max(stall);
    assert!(
        acked.iter().any(|t| *t > schedule.elected && *t < schedule.quorum_lost),
        "trial {trial}: no write acknowledged after the new leader was elected"
    );
    // (b) Without quorum nothing succeeds: every call made after the second kill and answered
    // before the restarts failed.
    let without_quorum: Vec<&Call> =
        calls.iter().filter(|c| c.started > schedule.quorum_lost && c.ended < schedule.restarting).collect();
    let answered = without_quorum.iter().filter(|c| c.outcome.is_ok()).count();
    assert_eq!(answered, 0, "trial {trial}: {answered} calls succeeded without quorum");
    assert!(!without_quorum.is_empty(), "trial {trial}: no call was made without quorum");
    figures.failed_without_quorum += without_quorum.len();
    figures.answered_without_quorum += answered;
    // (c) Both back: calls succeed again.
    let recovered: Vec<&Call> = calls.iter().filter(|c| c.started > schedule.healthy).collect();
    let ok = recovered.iter().filter(|c| c.outcome.is_ok()).count();
    assert!(
        recovered.iter().any(|c| c.write && c.outcome.is_ok())
            && recovered.iter().any(|c| !c.write && c.outcome.is_ok()),
        "trial {trial}: no read and write succeeded after recovery ({ok} of {} calls did)",
        recovered.len()
    );
    figures.succeeded_after_recovery += ok;
    figures.failed_after_recovery += recovered.len() - ok;

    // The whole history, timed-out and failed calls as unknown outcomes.
    let report = check(&history.operations(), &CheckConfig::default());
    if let Some(v) = report.violations.first() {
        panic!("trial {trial}: not linearizable:\n{v}");
    }
    assert!(report.inconclusive.is_empty(), "trial {trial}: search gave up on {:?}", report.inconclusive);

    // The watch kept alive through the faults saw exactly etcd's history of these keys, in
    // order: what a fresh watch from the same revision reads now, with no fault.
    target.store(kv.status().await.expect("status after the faults").revision, Ordering::SeqCst);
    let reflected = reflector.await.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    let truth = reflect(kv.clone(), prefix, start, target, Duration::from_secs(60)).await;
    assert!(truth.errors.is_empty(), "trial {trial}: watching after the faults failed: {:?}", truth.errors);
    for e in &reflected.errors {
        assert!(
            e.starts_with("store unavailable: ") || e.starts_with("timed out: ") || e == "the watch stream ended",
            "trial {trial}: the watch failed with {e}"
        );
    }
    assert_eq!(
        reflected.events.len(),
        truth.events.len(),
        "trial {trial}: the resumed watch missed or repeated events"
    );
    assert_eq!(reflected.events, truth.events, "trial {trial}: the resumed watch differs from etcd's history");
    figures.watch_events_checked += truth.events.len();
    figures.watch_failures += reflected.errors.len();
    for e in reflected.errors {
        if figures.watch_failure_examples.len() < 4 && !figures.watch_failure_examples.contains(&e) {
            figures.watch_failure_examples.push(e);
        }
    }
    figures.trials += 1;
    figures.members_killed += 2;
    figures.operations += report.operations;
    figures.writes += report.writes;
    figures.writes_acknowledged += stats.writes_applied;
    figures.unknown_outcomes += report.unknown;
    figures.search_steps += report.steps;
    drop((store, kv));
    blocking(move || drop(cluster)).await;
}
