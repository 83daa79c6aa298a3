//! The KV suite's range checks (re-exported from [`kv`](super::kv)).

use std::sync::Arc;

use crate::kv::{DeleteRequest, KeyRange, KvError, KvStore, RangeRequest};

use super::kv::{KvKitConfig, ok, put, revision, unique_prefix, value_at};

/// A range at a past revision sees exactly the writes up to it; future revisions are refused.
pub async fn range_at_revision_sees_past_writes(kv: Arc<dyn KvStore>, _cfg: &KvKitConfig) {
    let p = unique_prefix("range-at");
    let key = format!("{p}k");
    let r1 = put(&*kv, &key, "1").await;
    let r2 = put(&*kv, &key, "2").await;
    let r3 = ok(kv.delete(DeleteRequest::key(key.clone())).await, "delete").revision;
    let r4 = put(&*kv, &key, "4").await;
    for (rev, want) in [(r1 - 1, None), (r1, Some("1")), (r2, Some("2")), (r3, None), (r4, Some("4")), (0, Some("4"))] {
        assert_eq!(value_at(&*kv, &key, rev).await.as_deref(), want, "{key} at revision {rev}");
    }
    let at1 = ok(kv.range(RangeRequest::prefix(p.clone()).at_revision(r1)).await, "prefix range at a revision");
    assert_eq!((at1.count, at1.kvs.len()), (1, 1));
    let future = revision(&*kv).await + 1_000_000;
    let r = kv.range(RangeRequest::key(key.clone()).at_revision(future)).await;
    assert!(matches!(r, Err(KvError::FutureRevision { .. })), "a future revision is refused: {r:?}");
}

/// `limit`, `count`, `more`, `keys_only` and `count_only`, over keys, prefixes and ranges.
pub async fn range_limit_count_and_more(kv: Arc<dyn KvStore>, _cfg: &KvKitConfig) {
    let p = unique_prefix("limit");
    for i in 0..5 {
        put(&*kv, &format!("{p}{i}"), "v").await;
    }
    ok(kv.delete(DeleteRequest::key(format!("{p}2"))).await, "delete");
    let keys = |ks: &[&str]| ks.iter().map(|k| format!("{p}{k}")).collect::<Vec<_>>();
    // (request, keys returned, count, more)
    let cases: Vec<(RangeRequest, Vec<String>, i64, bool)> = vec![
        (RangeRequest::prefix(p.clone()), keys(&["0", "1", "3", "4"]), 4, false),
        (RangeRequest::prefix(p.clone()).limit(2), keys(&["0", "1"]), 4, true),
        (RangeRequest::prefix(p.clone()).limit(4), keys(&["0", "1", "3", "4"]), 4, false),
        (RangeRequest::prefix(p.clone()).limit(10), keys(&["0", "1", "3", "4"]), 4, false),
        (RangeRequest::prefix(p.clone()).count_only(), vec![], 4, false),
        (RangeRequest::range(KeyRange::between(format!("{p}1"), format!("{p}4"))), keys(&["1", "3"]), 2, false),
        (RangeRequest::key(format!("{p}3")), keys(&["3"]), 1, false),
        (RangeRequest::key(format!("{p}2")), vec![], 0, false),
    ];
    for (req, want, count, more) in cases {
        let r = ok(kv.range(req.clone()).await, "range");
        let got: Vec<String> = r.kvs.iter().map(|x| String::from_utf8_lossy(&x.key).into_owned()).collect();
        assert_eq!((got, r.count), (want, count), "{req:?}");
        if !req.count_only {
            assert_eq!(r.more, more, "more of {req:?}");
        }
    }
    let ko = ok(kv.range(RangeRequest::prefix(p.clone()).keys_only()).await, "keys-only range");
    assert!(ko.kvs.iter().all(|x| x.value.is_empty() && x.version == 1 && x.mod_revision > 0), "keys only: {ko:?}");
}
