//! A single etcd, SIGKILLed under concurrent writes and restarted on the same data and ports.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use orch_store::etcd::EtcdKv;
use orch_store::kv::{
    Compare, CompareOp, DeleteRequest, KvError, KvStore, KvWatchStream, PutRequest, RangeRequest, TxnOp, TxnRequest,
    WatchMessage, WatchRequest,
};
use orch_store::testkit::etcd_server::EtcdServer;

use super::{REQUEST_TIMEOUT, SLACK, blocking, config, is_fault_error, trials};

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
