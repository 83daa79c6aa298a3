//! A three-member cluster: the leader killed, then quorum lost, then both back, under clients
//! whose history is checked for linearizability and a watch kept alive as a reflector keeps it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::StreamExt;
use orch_store::etcd::EtcdKv;
use orch_store::kv::{KvEventKind, KvStore, KvWatchStream, WatchMessage, WatchRequest};
use orch_store::testkit::etcd_cluster::EtcdCluster;
use orch_store::testkit::linearizability::{
    CheckConfig, Indefinite, Input, KvModelStore, ModelStore, Output, Workload, check, run_workload_until,
};

use super::{REQUEST_TIMEOUT, SLACK, blocking, config, trials};

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
