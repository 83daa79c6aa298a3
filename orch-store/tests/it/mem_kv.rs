//! `MemKv`: the whole KV contract suite, plus what only MemKv promises (deterministic lease
//! expiry on a manual clock, bounded history under automatic compaction, unsynced watchers).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use orch_core::runtime::{DeterministicExecutor, ManualClock};
use orch_store::kv::{
    KvError, KvEventKind, KvStore, KvWatchStream, PutRequest, RangeRequest, WatchMessage, WatchRequest,
};
use orch_store::mem::{MemKv, MemKvConfig};
use orch_store::testkit::kv::{self, KvKitConfig};

fn cfg() -> KvKitConfig {
    KvKitConfig::default().lease_ttl(Duration::from_millis(300))
}

fn store() -> Arc<dyn KvStore> {
    Arc::new(MemKv::new())
}

macro_rules! contract {
    ($($check:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $check() {
                kv::$check(store(), &cfg()).await;
            }
        )*
    };
}

contract!(
    writes_make_one_revision_each,
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
    slow_watcher_blocks_no_one,
    compaction_fails_old_reads_and_watches,
    lease_expiry_deletes_keys_and_notifies_watchers,
    lease_revoke_deletes_keys_in_one_revision,
    lease_keep_alive_extends_the_lease,
    put_with_unknown_lease_fails,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn txn_cas_race_loses_no_update() {
    kv::txn_cas_race_loses_no_update(store(), &cfg()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_watcher_with_a_tiny_buffer_catches_up_without_blocking_anyone() {
    let kv: Arc<dyn KvStore> = Arc::new(MemKv::with_config(MemKvConfig::default().watch_buffer_events(16)));
    kv::slow_watcher_blocks_no_one(kv, &cfg()).await;
}

#[tokio::test]
async fn run_all_passes_on_fresh_stores() {
    let factory = || async { store() };
    kv::run_all(&factory, &cfg().race(4, 10).slow_watcher_writes(500)).await;
}

/// A store on a manual clock and a deterministic executor: no tokio, no real time.
fn manual(config: MemKvConfig) -> (MemKv, ManualClock, DeterministicExecutor) {
    let (clock, exec) = (ManualClock::new(), DeterministicExecutor::new());
    (MemKv::with_runtime(config, Arc::new(clock.clone()), Arc::new(exec.clone())), clock, exec)
}

fn keys(exec: &DeterministicExecutor, kv: &MemKv) -> i64 {
    exec.block_on(kv.range(RangeRequest::prefix("/"))).map_or(-1, |r| r.count)
}

/// Every message ready now, without waiting.
fn ready(exec: &DeterministicExecutor, w: &mut KvWatchStream) -> Vec<Result<WatchMessage, KvError>> {
    let mut out = Vec::new();
    while let Some(Some(m)) = exec.block_on(async { futures::FutureExt::now_or_never(w.next()) }) {
        out.push(m);
    }
    out
}

#[test]
fn lease_expires_exactly_at_its_deadline_on_a_manual_clock() {
    let (kv, clock, exec) = manual(MemKvConfig::default());
    let (id, mut w) = exec.block_on(async {
        let id = kv.lease_grant(Duration::from_secs(10), 0).await.map(|g| g.id).unwrap_or_default();
        for k in ["/a", "/b"] {
            kv.put(PutRequest::new(k, "v").with_lease(id)).await.ok();
        }
        (id, kv.watch(WatchRequest::prefix("/")).await.ok())
    });
    let Some(w) = w.as_mut() else { panic!("watch failed") };
    exec.run_until_stalled();
    clock.advance(Duration::from_millis(9_999));
    exec.run_until_stalled();
    assert_eq!(keys(&exec, &kv), 2, "not expired a millisecond before the deadline");
    assert!(ready(&exec, w).is_empty());
    clock.advance(Duration::from_millis(1));
    exec.run_until_stalled();
    assert_eq!(keys(&exec, &kv), 0, "expired at the deadline");
    let msgs = ready(&exec, w);
    let Some(Ok(WatchMessage::Events(events))) = msgs.first() else { panic!("no delete events: {msgs:?}") };
    assert_eq!(events.iter().map(|e| e.kind).collect::<Vec<_>>(), vec![KvEventKind::Delete; 2]);
    assert_eq!(events[0].kv.mod_revision, events[1].kv.mod_revision, "one revision for the expiry");
    assert!(matches!(exec.block_on(kv.lease_keep_alive(id)), Err(KvError::LeaseNotFound { .. })));
}

#[test]
fn keep_alive_moves_the_deadline_on_a_manual_clock() {
    let (kv, clock, exec) = manual(MemKvConfig::default());
    let id = exec.block_on(async {
        let id = kv.lease_grant(Duration::from_secs(10), 0).await.map(|g| g.id).unwrap_or_default();
        kv.put(PutRequest::new("/a", "v").with_lease(id)).await.ok();
        id
    });
    // (advance by seconds, keep alive afterwards, keys expected)
    let steps = [(8, true, 1), (8, false, 1), (1, false, 1), (1, false, 0)];
    for (i, (secs, keep, want)) in steps.into_iter().enumerate() {
        clock.advance(Duration::from_secs(secs));
        exec.run_until_stalled();
        assert_eq!(keys(&exec, &kv), want, "step {i}");
        if keep {
            assert_eq!(exec.block_on(kv.lease_keep_alive(id)), Ok(10));
        }
    }
}

#[test]
fn auto_compaction_keeps_history_within_the_revision_window() {
    let (kv, _clock, exec) = manual(MemKvConfig::default().keep_revisions(Some(100)).keep_history_for(None));
    exec.block_on(async {
        for i in 0..10_000 {
            kv.put(PutRequest::new(format!("/k{}", i % 10), i.to_string())).await.ok();
        }
    });
    let s = kv.stats();
    assert_eq!(s.revision, 10_001);
    assert!(s.history_len <= 101 && s.compact_revision >= s.revision - 101, "history is bounded: {s:?}");
    let old = exec.block_on(kv.range(RangeRequest::key("/k1").at_revision(s.revision - 200)));
    assert!(matches!(old, Err(KvError::Compacted { .. })), "{old:?}");
    let recent = exec.block_on(kv.range(RangeRequest::key("/k1").at_revision(s.revision - 50)));
    assert!(recent.is_ok_and(|r| r.count == 1));
}

#[test]
fn auto_compaction_drops_history_older_than_the_time_window() {
    let (kv, clock, exec) =
        manual(MemKvConfig::default().keep_revisions(None).keep_history_for(Some(Duration::from_secs(60))));
    let first = exec.block_on(kv.put(PutRequest::new("/a", "1"))).map(|r| r.revision).unwrap_or_default();
    for _ in 0..20 {
        clock.advance(Duration::from_secs(5));
        exec.block_on(kv.put(PutRequest::new("/a", "x"))).ok();
    }
    let s = kv.stats();
    assert!(s.compact_revision >= first, "history older than a minute is compacted: {s:?}");
    assert!(s.compact_revision <= s.revision - 10, "history younger than a minute is kept: {s:?}");
}

#[test]
fn watcher_with_a_full_buffer_goes_unsynced_then_catches_up_in_order() {
    let (kv, _clock, exec) = manual(MemKvConfig::default().watch_buffer_events(8).no_auto_compaction());
    let Ok(mut w) = exec.block_on(kv.watch(WatchRequest::prefix("/"))) else { panic!("watch failed") };
    let revs: Vec<i64> = (0..100)
        .filter_map(|i| exec.block_on(kv.put(PutRequest::new(format!("/k{i}"), "v"))).ok().map(|r| r.revision))
        .collect();
    assert_eq!(kv.stats().unsynced_watchers, 1, "a full buffer moves the watcher to the unsynced group");
    let got: Vec<i64> = ready(&exec, &mut w)
        .into_iter()
        .flat_map(|m| match m {
            Ok(WatchMessage::Events(evs)) => evs.into_iter().map(|e| e.kv.mod_revision).collect::<Vec<_>>(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(got, revs, "buffered events, then history, in order, each once");
    assert_eq!(kv.stats().unsynced_watchers, 0, "caught up: synced again");
    let next = exec.block_on(kv.put(PutRequest::new("/late", "v"))).map(|r| r.revision).unwrap_or_default();
    let msgs = ready(&exec, &mut w);
    assert!(matches!(msgs.as_slice(), [Ok(WatchMessage::Events(e))] if e[0].kv.mod_revision == next), "{msgs:?}");
}

#[test]
fn unsynced_watcher_behind_the_compaction_point_fails_with_compacted() {
    let (kv, _clock, exec) = manual(MemKvConfig::default().watch_buffer_events(8).keep_revisions(Some(20)));
    let Ok(mut w) = exec.block_on(kv.watch(WatchRequest::prefix("/"))) else { panic!("watch failed") };
    for i in 0..200 {
        exec.block_on(kv.put(PutRequest::new(format!("/k{i}"), "v"))).ok();
    }
    let msgs = ready(&exec, &mut w);
    assert!(matches!(msgs.first(), Some(Ok(WatchMessage::Events(e))) if e.len() == 8), "the buffer first: {msgs:?}");
    assert!(matches!(msgs.get(1), Some(Err(KvError::Compacted { requested: 10, .. }))), "then a clear error: {msgs:?}");
    assert_eq!(msgs.len(), 2, "and the stream ends");
    assert_eq!(kv.stats().watchers, 0);
}

#[test]
fn idle_watchers_that_ask_get_progress_notifications() {
    let (kv, clock, exec) = manual(MemKvConfig::default().progress_notify_interval(Duration::from_secs(1)));
    let rev = exec.block_on(kv.put(PutRequest::new("/a", "1"))).map(|r| r.revision).unwrap_or_default();
    let Ok(mut with) = exec.block_on(kv.watch(WatchRequest::prefix("/x/").with_progress())) else { panic!() };
    let Ok(mut without) = exec.block_on(kv.watch(WatchRequest::prefix("/x/"))) else { panic!() };
    exec.run_until_stalled();
    clock.advance(Duration::from_secs(1));
    exec.run_until_stalled();
    assert_eq!(ready(&exec, &mut with), vec![Ok(WatchMessage::Progress { revision: rev })]);
    assert!(ready(&exec, &mut without).is_empty());
}
