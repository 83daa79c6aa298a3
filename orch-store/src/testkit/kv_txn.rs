//! The KV suite's transaction checks (re-exported from [`kv`](super::kv)).

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::kv::{
    Compare, CompareOp, DeleteRequest, KvError, KvStore, PutRequest, RangeRequest, TxnOp, TxnOpResponse, TxnRequest,
};

use super::kv::{KvKitConfig, ok, put, unique_prefix, value_at};

async fn succeeds(kv: &dyn KvStore, compare: Compare) -> bool {
    let what = format!("txn comparing {compare:?}");
    ok(kv.txn(TxnRequest { compare: vec![compare], success: vec![], failure: vec![] }).await, &what).succeeded
}

/// Compares on value, version, create revision and mod revision, with each operator, on present
/// and missing keys.
pub async fn txn_compares_on_every_target(kv: Arc<dyn KvStore>, _cfg: &KvKitConfig) {
    let p = unique_prefix("compare");
    let (k, missing) = (format!("{p}k"), format!("{p}missing"));
    let created = put(&*kv, &k, "m").await;
    let modified = put(&*kv, &k, "m").await; // version 2
    use CompareOp::*;
    let cases: Vec<(Compare, bool)> = vec![
        (Compare::value(k.clone(), Equal, "m"), true),
        (Compare::value(k.clone(), NotEqual, "m"), false),
        (Compare::value(k.clone(), Greater, "a"), true),
        (Compare::value(k.clone(), Less, "a"), false),
        (Compare::value(missing.clone(), NotEqual, "x"), false),
        (Compare::version(k.clone(), Equal, 2), true),
        (Compare::version(k.clone(), NotEqual, 2), false),
        (Compare::version(k.clone(), Greater, 1), true),
        (Compare::version(k.clone(), Less, 2), false),
        (Compare::version(missing.clone(), Equal, 0), true),
        (Compare::create_revision(k.clone(), Equal, created), true),
        (Compare::create_revision(k.clone(), Greater, created), false),
        (Compare::create_revision(k.clone(), Less, modified), true),
        (Compare::create_revision(missing.clone(), Equal, 0), true),
        (Compare::mod_revision(k.clone(), Equal, modified), true),
        (Compare::mod_revision(k.clone(), NotEqual, modified), false),
        (Compare::mod_revision(k.clone(), Greater, created), true),
        (Compare::mod_revision(k.clone(), Less, modified), false),
        (Compare::mod_revision(missing.clone(), Equal, 0), true),
    ];
    for (compare, want) in cases {
        assert_eq!(succeeds(&*kv, compare.clone()).await, want, "{compare:?}");
    }
}

/// The branch chosen by the compares runs whole (puts, deletes and reads, reads seeing the
/// txn's own earlier writes); the other does nothing; a txn that fails validation writes nothing.
pub async fn txn_is_all_or_nothing(kv: Arc<dyn KvStore>, _cfg: &KvKitConfig) {
    let p = unique_prefix("txn");
    let k = |s: &str| format!("{p}{s}");
    put(&*kv, &k("a"), "1").await;
    put(&*kv, &k("gone"), "1").await;
    let branch = |tag: &str| {
        vec![
            TxnOp::Put(PutRequest::new(k("a"), tag.to_owned()).with_prev_kv()),
            TxnOp::Put(PutRequest::new(k(tag), "x")),
            TxnOp::Delete(DeleteRequest::key(k("gone")).with_prev_kv()),
            TxnOp::Range(RangeRequest::key(k("a"))),
        ]
    };
    let ok_txn = TxnRequest {
        compare: vec![Compare::value(k("a"), CompareOp::Equal, "1")],
        success: branch("s"),
        failure: branch("f"),
    };
    let r = ok(kv.txn(ok_txn).await, "txn");
    assert!(r.succeeded);
    assert_eq!(r.responses.len(), 4);
    match (&r.responses[0], &r.responses[2], &r.responses[3]) {
        (TxnOpResponse::Put(put), TxnOpResponse::Delete(del), TxnOpResponse::Range(read)) => {
            assert_eq!(put.prev_kv.as_ref().map(|p| p.value.clone()), Some("1".into()));
            assert_eq!((del.deleted, del.prev_kvs.len()), (1, 1));
            assert_eq!(read.kvs.first().map(|x| (x.value.clone(), x.mod_revision)), Some(("s".into(), r.revision)));
        }
        other => panic!("responses of the wrong kinds: {other:?}"),
    }
    assert_eq!(value_at(&*kv, &k("s"), 0).await.as_deref(), Some("x"));
    assert_eq!(value_at(&*kv, &k("f"), 0).await, None, "the failure branch did not run");
    assert_eq!(value_at(&*kv, &k("gone"), 0).await, None);
    // Now the compare fails: only the failure branch runs.
    let fail_txn = TxnRequest {
        compare: vec![Compare::value(k("a"), CompareOp::Equal, "1")],
        success: vec![TxnOp::Put(PutRequest::new(k("s2"), "x"))],
        failure: vec![TxnOp::Put(PutRequest::new(k("f2"), "x"))],
    };
    assert!(!ok(kv.txn(fail_txn).await, "txn").succeeded);
    assert_eq!((value_at(&*kv, &k("s2"), 0).await, value_at(&*kv, &k("f2"), 0).await.as_deref()), (None, Some("x")));
    // A branch that cannot be applied whole is not applied at all.
    let bad = TxnRequest {
        compare: vec![],
        success: vec![
            TxnOp::Put(PutRequest::new(k("half"), "x")),
            TxnOp::Put(PutRequest::new(k("lease"), "x").with_lease(424_242)),
        ],
        failure: vec![],
    };
    let r = kv.txn(bad).await;
    assert!(matches!(r, Err(KvError::LeaseNotFound { .. })), "a put with an unknown lease fails the txn: {r:?}");
    assert_eq!(value_at(&*kv, &k("half"), 0).await, None, "nothing of a failed txn is written");
}

/// Many tasks increment one counter with compare-and-swap on its mod revision: the final value
/// counts every successful swap, and each swap has a revision of its own (no lost update).
pub async fn txn_cas_race_loses_no_update(kv: Arc<dyn KvStore>, cfg: &KvKitConfig) {
    let key = format!("{}counter", unique_prefix("race"));
    put(&*kv, &key, "0").await;
    let mut tasks = Vec::new();
    for _ in 0..cfg.race_tasks {
        let (kv, key, n) = (kv.clone(), key.clone(), cfg.race_increments);
        tasks.push(tokio::spawn(async move {
            let mut revisions = Vec::with_capacity(n);
            while revisions.len() < n {
                let cur = ok(kv.range(RangeRequest::key(key.clone())).await, "read counter");
                let Some(kv0) = cur.kvs.first() else { panic!("counter vanished") };
                let value: u64 = String::from_utf8_lossy(&kv0.value).parse().unwrap_or(u64::MAX);
                let txn = TxnRequest {
                    compare: vec![Compare::mod_revision(key.clone(), CompareOp::Equal, kv0.mod_revision)],
                    success: vec![TxnOp::Put(PutRequest::new(key.clone(), (value + 1).to_string()))],
                    failure: vec![],
                };
                let r = ok(kv.txn(txn).await, "CAS increment");
                if r.succeeded {
                    revisions.push(r.revision);
                }
            }
            revisions
        }));
    }
    let mut all = BTreeSet::new();
    for t in tasks {
        match t.await {
            Ok(revs) => all.extend(revs),
            Err(e) => panic!("a racing task failed: {e}"),
        }
    }
    let total = cfg.race_tasks * cfg.race_increments;
    assert_eq!(all.len(), total, "every successful swap has its own revision");
    assert_eq!(value_at(&*kv, &key, 0).await, Some(total.to_string()), "no lost update");
}
