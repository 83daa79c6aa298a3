//! The KV suite's watch and compaction checks (re-exported from [`kv`](super::kv)).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

use crate::kv::{
    DeleteRequest, KvError, KvEvent, KvEventKind, KvStore, KvWatchStream, PutRequest, RangeRequest, TxnOp, TxnRequest,
    WatchMessage, WatchRequest,
};

use super::kv::{KvKitConfig, ok, put, revision, unique_prefix, value_at};

/// What identifies an event: revision, key, kind.
pub(crate) type Sig = (i64, String, KvEventKind);

pub(crate) fn sig(e: &KvEvent) -> Sig {
    (e.kv.mod_revision, String::from_utf8_lossy(&e.kv.key).into_owned(), e.kind)
}

/// The next message, `None` when the stream ended; panics after `timeout`.
pub(crate) async fn next_message(w: &mut KvWatchStream, timeout: Duration) -> Option<Result<WatchMessage, KvError>> {
    match tokio::time::timeout(timeout, w.next()).await {
        Ok(item) => item,
        Err(_) => panic!("no watch message within {timeout:?}"),
    }
}

/// Event messages until at least `n` events arrived (progress notifications skipped).
pub(crate) async fn events(w: &mut KvWatchStream, n: usize, timeout: Duration) -> Vec<Vec<KvEvent>> {
    let mut messages = Vec::new();
    let mut seen = 0;
    while seen < n {
        match next_message(w, timeout).await {
            Some(Ok(WatchMessage::Events(evs))) => {
                seen += evs.len();
                messages.push(evs);
            }
            Some(Ok(WatchMessage::Progress { .. })) => {}
            Some(Err(e)) => panic!("watch failed after {seen} of {n} events: {e}"),
            None => panic!("watch ended after {seen} of {n} events"),
        }
    }
    messages
}

/// Checks that no revision's events are split between messages; returns the events flattened.
pub(crate) fn whole_revisions(messages: &[Vec<KvEvent>]) -> Vec<Sig> {
    let mut home: BTreeMap<i64, usize> = BTreeMap::new();
    for (i, m) in messages.iter().enumerate() {
        for e in m {
            let at = *home.entry(e.kv.mod_revision).or_insert(i);
            assert_eq!(at, i, "revision {}'s events are split between messages", e.kv.mod_revision);
        }
    }
    messages.iter().flatten().map(sig).collect()
}

/// Writes a mix (puts, overwrites, deletes, a multi-key txn, a prefix delete) under `p`, and
/// one key outside it; returns the events a watcher of `p` must see.
async fn write_mix(kv: &dyn KvStore, p: &str, tag: &str) -> Vec<Sig> {
    let mut want = Vec::new();
    for i in 0..12 {
        let key = format!("{p}{tag}k{}", i % 4);
        let rev = ok(kv.put(PutRequest::new(key.clone(), i.to_string())).await, "put").revision;
        want.push((rev, key, KvEventKind::Put));
        if i % 5 == 4 {
            let key = format!("{p}{tag}k{}", (i + 1) % 4);
            let d = ok(kv.delete(DeleteRequest::key(key.clone())).await, "delete");
            if d.deleted == 1 {
                want.push((d.revision, key, KvEventKind::Delete));
            }
        }
    }
    put(kv, &format!("{}-outside/{tag}", p.trim_end_matches('/')), "x").await; // a sibling of the prefix
    let keys: Vec<String> = (0..3).map(|i| format!("{p}{tag}t{i}")).collect();
    let success = keys.iter().map(|k| TxnOp::Put(PutRequest::new(k.clone(), "t"))).collect();
    let rev = ok(kv.txn(TxnRequest { compare: vec![], success, failure: vec![] }).await, "txn").revision;
    want.extend(keys.into_iter().map(|k| (rev, k, KvEventKind::Put)));
    let d = ok(kv.delete(DeleteRequest::prefix(format!("{p}{tag}t")).with_prev_kv()).await, "prefix delete");
    let mut gone: Vec<String> = d.prev_kvs.iter().map(|x| String::from_utf8_lossy(&x.key).into_owned()).collect();
    gone.sort();
    want.extend(gone.into_iter().map(|k| (d.revision, k, KvEventKind::Delete)));
    want
}

/// After the expected events, a marker write must be the very next event (no duplicates, no strays).
async fn expect_nothing_more(kv: &dyn KvStore, w: &mut KvWatchStream, p: &str, timeout: Duration) {
    let marker = format!("{p}zz-marker");
    let rev = put(kv, &marker, "m").await;
    let next = whole_revisions(&events(w, 1, timeout).await);
    assert_eq!(next.first(), Some(&(rev, marker, KvEventKind::Put)), "unexpected extra events: {next:?}");
}

/// A watcher gets every event of its range exactly once, in revision order, with each
/// revision's events in one message.
pub async fn watch_delivers_every_event_once_in_order(kv: Arc<dyn KvStore>, cfg: &KvKitConfig) {
    let p = unique_prefix("watch-order");
    let start = revision(&*kv).await + 1;
    let mut w = ok(kv.watch(WatchRequest::prefix(p.clone()).from_revision(start)).await, "watch");
    let want = write_mix(&*kv, &p, "").await;
    let got = whole_revisions(&events(&mut w, want.len(), cfg.timeout).await);
    assert_eq!(got, want, "every event once, in order");
    expect_nothing_more(&*kv, &mut w, &p, cfg.timeout).await;
}

/// Dropping a watch and starting another from the revision after the last one seen (as a
/// reconnecting client does) misses nothing and repeats nothing.
pub async fn watch_resumes_from_last_seen_revision(kv: Arc<dyn KvStore>, cfg: &KvKitConfig) {
    let p = unique_prefix("watch-resume");
    let start = revision(&*kv).await + 1;
    let mut w = ok(kv.watch(WatchRequest::prefix(p.clone()).from_revision(start)).await, "watch");
    let mut want = write_mix(&*kv, &p, "a").await;
    let mut got = whole_revisions(&events(&mut w, want.len() / 2, cfg.timeout).await);
    drop(w);
    let last = got.last().map_or(start - 1, |s| s.0);
    want.extend(write_mix(&*kv, &p, "b").await);
    let mut w = ok(kv.watch(WatchRequest::prefix(p.clone()).from_revision(last + 1)).await, "resumed watch");
    got.extend(whole_revisions(&events(&mut w, want.len() - got.len(), cfg.timeout).await));
    assert_eq!(got, want, "events across the reconnect: each exactly once, in order");
    expect_nothing_more(&*kv, &mut w, &p, cfg.timeout).await;
}

/// A watch from an old revision first replays history, then continues with new events.
pub async fn watch_from_old_revision_replays_history(kv: Arc<dyn KvStore>, cfg: &KvKitConfig) {
    let p = unique_prefix("watch-replay");
    let start = revision(&*kv).await + 1;
    let mut want = write_mix(&*kv, &p, "").await;
    let mut w = ok(kv.watch(WatchRequest::prefix(p.clone()).from_revision(start)).await, "watch");
    let rev = put(&*kv, &format!("{p}after"), "1").await;
    want.push((rev, format!("{p}after"), KvEventKind::Put));
    let got = whole_revisions(&events(&mut w, want.len(), cfg.timeout).await);
    assert_eq!(got, want, "history, then new events");
}

/// With `prev_kv`, events carry the value before the change (none for a creation).
pub async fn watch_prev_kv_carries_previous_values(kv: Arc<dyn KvStore>, cfg: &KvKitConfig) {
    let key = format!("{}k", unique_prefix("watch-prev"));
    let start = revision(&*kv).await + 1;
    let mut w = ok(kv.watch(WatchRequest::key(key.clone()).from_revision(start).with_prev_kv()).await, "watch");
    put(&*kv, &key, "1").await;
    put(&*kv, &key, "2").await;
    ok(kv.delete(DeleteRequest::key(key.clone())).await, "delete");
    let evs: Vec<KvEvent> = events(&mut w, 3, cfg.timeout).await.into_iter().flatten().collect();
    let got: Vec<(KvEventKind, String, Option<String>)> = evs
        .iter()
        .map(|e| {
            let text = |b: &bytes::Bytes| String::from_utf8_lossy(b).into_owned();
            (e.kind, text(&e.kv.value), e.prev_kv.as_ref().map(|p| text(&p.value)))
        })
        .collect();
    use KvEventKind::*;
    let want =
        vec![(Put, "1".into(), None), (Put, "2".into(), Some("1".into())), (Delete, String::new(), Some("2".into()))];
    assert_eq!(got, want);
    let del = &evs[2].kv;
    assert_eq!((del.version, del.create_revision), (0, 0), "a delete event's kv has version and create revision 0");
}

/// A watch of one key sees that key only (not keys it is a prefix of).
pub async fn watch_key_sees_only_that_key(kv: Arc<dyn KvStore>, cfg: &KvKitConfig) {
    let p = unique_prefix("watch-key");
    let key = format!("{p}a");
    let start = revision(&*kv).await + 1;
    let mut w = ok(kv.watch(WatchRequest::key(key.clone()).from_revision(start)).await, "watch");
    let mut want = vec![(put(&*kv, &key, "1").await, key.clone(), KvEventKind::Put)];
    put(&*kv, &format!("{p}ab"), "1").await;
    put(&*kv, &format!("{p}b"), "1").await;
    want.push((put(&*kv, &key, "2").await, key.clone(), KvEventKind::Put));
    want.push((
        ok(kv.delete(DeleteRequest::prefix(p.clone())).await, "delete").revision,
        key.clone(),
        KvEventKind::Delete,
    ));
    let got = whole_revisions(&events(&mut w, want.len(), cfg.timeout).await);
    assert_eq!(got, want);
}

/// A watcher that is never polled blocks neither writers nor other watchers; when finally
/// polled it delivers everything in order, or fails with a clear error — never a gap.
pub async fn slow_watcher_blocks_no_one(kv: Arc<dyn KvStore>, cfg: &KvKitConfig) {
    let p = unique_prefix("slow");
    let n = cfg.slow_watcher_writes;
    let start = revision(&*kv).await + 1;
    let mut slow = ok(kv.watch(WatchRequest::prefix(p.clone()).from_revision(start)).await, "slow watch");
    let mut fast = ok(kv.watch(WatchRequest::prefix(p.clone()).from_revision(start)).await, "fast watch");
    let timeout = cfg.timeout;
    let reader = tokio::spawn(async move { whole_revisions(&events(&mut fast, n, timeout).await) });
    let value = "v".repeat(100);
    let writes = async {
        let mut want = Vec::with_capacity(n);
        for i in 0..n {
            let key = format!("{p}{:03}", i % 500);
            want.push((put(&*kv, &key, &value).await, key, KvEventKind::Put));
        }
        want
    };
    let Ok(want) = tokio::time::timeout(cfg.timeout * 3, writes).await else {
        panic!("{n} writes did not finish within {:?}: a slow watcher blocks writers", cfg.timeout * 3)
    };
    match reader.await {
        Ok(got) => assert_eq!(got, want, "the fast watcher got every event in order"),
        Err(e) => panic!("the fast watcher failed: {e}"),
    }
    let mut got = Vec::new();
    while got.len() < n {
        match next_message(&mut slow, cfg.timeout).await {
            Some(Ok(WatchMessage::Events(evs))) => got.extend(whole_revisions(&[evs])),
            Some(Ok(WatchMessage::Progress { .. })) => {}
            Some(Err(KvError::Compacted { .. } | KvError::WatchCancelled { .. })) => break,
            Some(Err(e)) => panic!("the slow watcher failed with an unclear error: {e}"),
            None => panic!("the slow watcher ended without an error"),
        }
    }
    assert_eq!(got, want[..got.len()], "the slow watcher's events are a gap-free prefix, in order");
}

/// After `compact(r)`: reads and watches below `r` fail with `Compacted`, at `r` and later
/// they work; compacting again at `r` fails.
pub async fn compaction_fails_old_reads_and_watches(kv: Arc<dyn KvStore>, cfg: &KvKitConfig) {
    let key = format!("{}k", unique_prefix("compact"));
    let r1 = put(&*kv, &key, "1").await;
    let r2 = put(&*kv, &key, "2").await;
    let r3 = put(&*kv, &key, "3").await;
    ok(kv.compact(r2).await, "compact");
    assert!(ok(kv.status().await, "status").compact_revision >= r2);
    let r = kv.range(RangeRequest::key(key.clone()).at_revision(r1)).await;
    assert!(matches!(r, Err(KvError::Compacted { .. })), "a range below the compaction revision: {r:?}");
    assert_eq!(value_at(&*kv, &key, r2).await.as_deref(), Some("2"), "a range at the compaction revision works");
    match kv.watch(WatchRequest::key(key.clone()).from_revision(r1)).await {
        Err(KvError::Compacted { .. }) => {}
        Err(e) => panic!("a watch below the compaction revision failed with {e}, not Compacted"),
        Ok(mut w) => match next_message(&mut w, cfg.timeout).await {
            Some(Err(KvError::Compacted { .. })) => {}
            other => panic!("a watch below the compaction revision must fail with Compacted, got {other:?}"),
        },
    }
    let mut w =
        ok(kv.watch(WatchRequest::key(key.clone()).from_revision(r2)).await, "watch at the compaction revision");
    let got = whole_revisions(&events(&mut w, 2, cfg.timeout).await);
    assert_eq!(got, vec![(r2, key.clone(), KvEventKind::Put), (r3, key.clone(), KvEventKind::Put)]);
    let again = kv.compact(r2).await;
    assert!(matches!(again, Err(KvError::Compacted { .. })), "compacting at a compacted revision: {again:?}");
}
