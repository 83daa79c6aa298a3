//! Table-driven tests of the MVCC core semantics.

use std::time::Duration;

use orch_core::Timestamp;

use super::*;
use crate::kv::{
    Compare, CompareOp, DeleteRequest, KeyRange, KvError, KvEventKind, PutRequest, RangeRequest, TxnOp, TxnOpResponse,
    TxnRequest,
};

fn core() -> MvccCore {
    MvccCore::new(MvccConfig::default())
}

fn put(k: &str, v: &str) -> WriteRequest {
    PutRequest::new(k.to_owned(), v.to_owned()).into()
}

fn del(k: &str) -> WriteRequest {
    DeleteRequest::key(k.to_owned()).into()
}

fn txn(compare: Vec<Compare>, success: Vec<TxnOp>, failure: Vec<TxnOp>) -> WriteRequest {
    WriteRequest::Txn(TxnRequest { compare, success, failure })
}

fn tput(k: &str, v: &str) -> TxnOp {
    TxnOp::Put(PutRequest::new(k.to_owned(), v.to_owned()))
}

fn apply(core: &mut MvccCore, req: WriteRequest) -> Applied {
    match core.apply(req.clone()) {
        Ok(a) => a,
        Err(e) => panic!("{req:?} failed: {e}"),
    }
}

fn get(core: &MvccCore, key: &str, rev: i64) -> Option<crate::kv::KeyValue> {
    core.range(&RangeRequest::key(key.to_owned()).at_revision(rev)).ok().and_then(|r| r.kvs.into_iter().next())
}

#[test]
fn each_write_makes_one_revision_and_no_ops_make_none() {
    let mut c = core();
    let cases: Vec<(&str, WriteRequest, i64)> = vec![
        ("first put", put("a", "1"), 2),
        ("overwrite", put("a", "2"), 3),
        ("txn with two puts", txn(vec![], vec![tput("b", "1"), tput("c", "1")], vec![]), 4),
        ("delete of a missing key", del("zzz"), 4),
        ("delete of an existing key", del("b"), 5),
        ("prefix delete of nothing", DeleteRequest::prefix("nope/").into(), 5),
        ("txn whose branch only reads", txn(vec![], vec![TxnOp::Range(RangeRequest::key("a"))], vec![]), 5),
        (
            "failed compare, empty failure",
            txn(vec![Compare::version("a", CompareOp::Equal, 99)], vec![tput("a", "x")], vec![]),
            5,
        ),
        ("txn deleting a missing key", txn(vec![], vec![TxnOp::Delete(DeleteRequest::key("q"))], vec![]), 5),
        ("prefix delete of two keys", DeleteRequest::prefix("").into(), 6),
    ];
    for (name, req, want) in cases {
        let applied = apply(&mut c, req);
        assert_eq!((applied.revision, c.revision(), applied.response.revision()), (want, want, want), "{name}");
    }
}

#[test]
fn create_mod_revision_and_version_follow_etcd() {
    let mut c = core();
    type Meta = Option<(i64, i64, i64)>; // create, mod, version
    let steps: Vec<(WriteRequest, Meta)> = vec![
        (put("k", "1"), Some((2, 2, 1))),
        (put("k", "2"), Some((2, 3, 2))),
        (put("other", "x"), Some((2, 3, 2))),
        (put("k", "3"), Some((2, 5, 3))),
        (del("k"), None),
        (put("k", "4"), Some((7, 7, 1))), // recreated: new generation
    ];
    for (i, (req, want)) in steps.into_iter().enumerate() {
        apply(&mut c, req);
        let got = get(&c, "k", 0).map(|kv| (kv.create_revision, kv.mod_revision, kv.version));
        assert_eq!(got, want, "step {i}");
    }
}

#[test]
fn range_at_a_revision_sees_exactly_the_writes_up_to_it() {
    let mut c = core();
    for req in [put("k", "1"), put("k", "2"), del("k"), put("k", "3"), put("j", "1")] {
        apply(&mut c, req); // revisions 2..=6
    }
    let cases = [(1, None), (2, Some("1")), (3, Some("2")), (4, None), (5, Some("3")), (6, Some("3")), (0, Some("3"))];
    for (rev, want) in cases {
        let got = get(&c, "k", rev).map(|kv| String::from_utf8_lossy(&kv.value).into_owned());
        assert_eq!(got.as_deref(), want, "at revision {rev}");
    }
    let at3 = c.range(&RangeRequest::prefix("").at_revision(3)).map(|r| r.count);
    assert_eq!(at3, Ok(1));
    assert_eq!(
        c.range(&RangeRequest::key("k").at_revision(7)),
        Err(KvError::FutureRevision { requested: 7, current: 6 })
    );
}

#[test]
fn range_honours_limit_count_more_keys_only_and_count_only() {
    let mut c = core();
    for i in 0..5 {
        apply(&mut c, put(&format!("p/{i}"), "v"));
    }
    apply(&mut c, put("q", "outside"));
    apply(&mut c, del("p/2"));
    // (request, keys returned, count, more)
    let cases: Vec<(RangeRequest, Vec<&str>, i64, bool)> = vec![
        (RangeRequest::prefix("p/"), vec!["p/0", "p/1", "p/3", "p/4"], 4, false),
        (RangeRequest::prefix("p/").limit(2), vec!["p/0", "p/1"], 4, true),
        (RangeRequest::prefix("p/").limit(4), vec!["p/0", "p/1", "p/3", "p/4"], 4, false),
        (RangeRequest::prefix("p/").limit(9), vec!["p/0", "p/1", "p/3", "p/4"], 4, false),
        (RangeRequest::prefix("p/").count_only(), vec![], 4, false),
        (RangeRequest::range(KeyRange::between("p/1", "p/4")), vec!["p/1", "p/3"], 2, false),
        (RangeRequest::range(KeyRange::from_key("p/4")), vec!["p/4", "q"], 2, false),
        (RangeRequest::range(KeyRange::between("z", "a")), vec![], 0, false),
        (RangeRequest::key("p/2"), vec![], 0, false),
    ];
    for (req, keys, count, more) in cases {
        let r = c.range(&req).unwrap_or_default();
        let got: Vec<String> = r.kvs.iter().map(|kv| String::from_utf8_lossy(&kv.key).into_owned()).collect();
        assert_eq!((got, r.count, r.more), (keys.iter().map(|k| k.to_string()).collect(), count, more), "{req:?}");
    }
    let ko = c.range(&RangeRequest::key("q").keys_only()).unwrap_or_default();
    assert_eq!((ko.kvs[0].value.len(), ko.kvs[0].version, ko.count), (0, 1, 1));
}

#[test]
fn bad_requests_are_rejected_and_change_nothing() {
    let mut c = MvccCore::new(MvccConfig::default().max_value_size(4));
    apply(&mut c, put("a", "1"));
    let invalid = |r: &Result<Applied, KvError>| matches!(r, Err(KvError::InvalidRequest { .. }));
    let too_large = |r: &Result<Applied, KvError>| matches!(r, Err(KvError::TooLarge { size: 5, limit: 4 }));
    let no_lease = |r: &Result<Applied, KvError>| matches!(r, Err(KvError::LeaseNotFound { id: 9 }));
    let compacted = |r: &Result<Applied, KvError>| matches!(r, Err(KvError::FutureRevision { .. }));
    type Check = fn(&Result<Applied, KvError>) -> bool;
    let cases: Vec<(&str, WriteRequest, Check)> = vec![
        ("empty key", put("", "1"), invalid),
        ("value over the limit", put("b", "12345"), too_large),
        ("unknown lease", PutRequest::new("b", "1").with_lease(9).into(), no_lease),
        ("empty delete range", DeleteRequest::key("").into(), invalid),
        ("txn puts a key twice", txn(vec![], vec![tput("b", "1"), tput("b", "2")], vec![]), invalid),
        ("txn failure branch puts a key twice", txn(vec![], vec![], vec![tput("b", "1"), tput("b", "2")]), invalid),
        (
            "txn puts into its own delete range",
            txn(vec![], vec![TxnOp::Delete(DeleteRequest::prefix("b")), tput("b/1", "x")], vec![]),
            invalid,
        ),
        ("txn with a too large value", txn(vec![], vec![tput("c", "1"), tput("d", "12345")], vec![]), too_large),
        (
            "txn with an unknown lease after a good put",
            txn(vec![], vec![tput("c", "1"), TxnOp::Put(PutRequest::new("d", "1").with_lease(9))], vec![]),
            no_lease,
        ),
        (
            "txn reading a future revision",
            txn(vec![], vec![tput("c", "1"), TxnOp::Range(RangeRequest::key("a").at_revision(99))], vec![]),
            compacted,
        ),
        ("compare on an empty key", txn(vec![Compare::version("", CompareOp::Equal, 0)], vec![], vec![]), invalid),
    ];
    for (name, req, check) in cases {
        let r = c.apply(req);
        assert!(check(&r), "{name}: {r:?}");
        assert_eq!((c.revision(), c.history_len()), (2, 1), "{name} changed the store");
        assert_eq!(c.range(&RangeRequest::prefix("")).map(|r| r.count), Ok(1), "{name} changed the store");
    }
    assert!(matches!(c.range(&RangeRequest::key("")), Err(KvError::InvalidRequest { .. })));
    assert!(matches!(c.range(&RangeRequest::key("a").limit(-1)), Err(KvError::InvalidRequest { .. })));
}

#[test]
fn txn_compares_on_value_version_create_and_mod_revision() {
    let mut c = core();
    apply(&mut c, put("k", "m")); // 2
    apply(&mut c, put("k", "m")); // 3: version 2, create 2, mod 3
    use CompareOp::*;
    let cases: Vec<(Compare, bool)> = vec![
        (Compare::value("k", Equal, "m"), true),
        (Compare::value("k", NotEqual, "m"), false),
        (Compare::value("k", Greater, "a"), true),
        (Compare::value("k", Less, "a"), false),
        (Compare::value("missing", NotEqual, "x"), false), // value compares on missing keys fail
        (Compare::version("k", Equal, 2), true),
        (Compare::version("k", Greater, 2), false),
        (Compare::version("k", Less, 3), true),
        (Compare::version("missing", Equal, 0), true),
        (Compare::create_revision("k", Equal, 2), true),
        (Compare::create_revision("k", NotEqual, 2), false),
        (Compare::create_revision("missing", Equal, 0), true),
        (Compare::mod_revision("k", Equal, 3), true),
        (Compare::mod_revision("k", Less, 3), false),
        (Compare::mod_revision("k", Greater, 2), true),
    ];
    for (cmp, want) in cases {
        let applied = apply(&mut c, txn(vec![cmp.clone()], vec![], vec![]));
        let crate::mvcc::WriteResponse::Txn(t) = applied.response else { panic!("not a txn response") };
        assert_eq!(t.succeeded, want, "{cmp:?}");
    }
}

#[test]
fn txn_reads_see_its_own_earlier_writes_and_responses_carry_the_new_revision() {
    let mut c = core();
    apply(&mut c, put("a", "old"));
    let req = txn(
        vec![Compare::value("a", CompareOp::Equal, "old")],
        vec![TxnOp::Range(RangeRequest::key("a")), tput("a", "new"), TxnOp::Range(RangeRequest::key("a"))],
        vec![],
    );
    let WriteResponse::Txn(t) = apply(&mut c, req).response else { panic!("not a txn response") };
    let values: Vec<(Vec<u8>, i64)> = t
        .responses
        .iter()
        .filter_map(|r| match r {
            TxnOpResponse::Range(g) => Some((g.kvs[0].value.to_vec(), g.revision)),
            _ => None,
        })
        .collect();
    assert_eq!(values, vec![(b"old".to_vec(), 3), (b"new".to_vec(), 3)]);
    assert_eq!((t.succeeded, t.revision), (true, 3));
}

#[test]
fn compaction_keeps_what_reads_at_or_after_it_see() {
    let mut c = core();
    for req in [put("a", "1"), put("a", "2"), put("b", "1"), del("b"), put("a", "3"), put("c", "1")] {
        apply(&mut c, req); // 2..=7
    }
    c.compact(5).ok();
    assert_eq!(c.compact_revision(), 5);
    assert!(matches!(
        c.range(&RangeRequest::key("a").at_revision(4)),
        Err(KvError::Compacted { requested: 4, compacted: 5 })
    ));
    let cases = [("a", 5, Some("2")), ("a", 6, Some("3")), ("b", 5, None), ("c", 7, Some("1")), ("c", 6, None)];
    for (key, rev, want) in cases {
        let got = get(&c, key, rev).map(|kv| String::from_utf8_lossy(&kv.value).into_owned());
        assert_eq!(got.as_deref(), want, "{key}@{rev}");
    }
    assert!(!c.current.contains(super::record::probe(b"b").q()), "b's tombstone is dropped");
    assert_eq!(c.history_len(), 3, "log keeps revisions 5..=7");
    c.compact(7).ok();
    assert!(c.older.is_empty());
    assert_eq!(c.range(&RangeRequest::prefix("")).map(|r| r.count), Ok(2));
    assert_eq!(c.compact(7), Err(KvError::Compacted { requested: 7, compacted: 7 }));
    assert_eq!(c.compact(8), Err(KvError::FutureRevision { requested: 8, current: 7 }));
}

#[test]
fn changes_replay_whole_revisions_in_order_with_prev_values() {
    let mut c = core();
    apply(&mut c, put("w/a", "1")); // 2
    apply(&mut c, txn(vec![], vec![tput("w/a", "2"), tput("w/b", "1"), tput("x", "1")], vec![])); // 3
    apply(&mut c, del("w/a")); // 4
    let range = KeyRange::prefix("w/");
    let all = c.changes(&range, 2, 4, true, usize::MAX, usize::MAX).unwrap_or_default();
    let got: Vec<(i64, KvEventKind, Option<Vec<u8>>)> =
        all.changes.iter().map(|ch| (ch.revision(), ch.kind(), ch.prev_kv().map(|p| p.value.to_vec()))).collect();
    use KvEventKind::*;
    assert_eq!(
        got,
        vec![(2, Put, None), (3, Put, Some(b"1".to_vec())), (3, Put, None), (4, Delete, Some(b"2".to_vec()))]
    );
    assert_eq!(all.next_revision, 5);
    // A limit of one event still returns revision 3 whole.
    let first = c.changes(&range, 3, 4, false, 1, usize::MAX).unwrap_or_default();
    assert_eq!((first.changes.len(), first.next_revision), (2, 4));
    c.compact(3).ok();
    assert!(matches!(c.changes(&range, 2, 4, false, 10, 10), Err(KvError::Compacted { .. })));
}

#[test]
fn lease_revoke_deletes_attached_keys_in_one_revision() {
    let mut c = core();
    let now = Timestamp::from_unix(1000, 0);
    let id = c.lease_grant(0, Duration::from_secs(5), now).map(|g| g.id).unwrap_or_default();
    for k in ["l/1", "l/2", "l/3"] {
        apply(&mut c, PutRequest::new(k, "v").with_lease(id).into());
    }
    apply(&mut c, put("l/3", "detached")); // re-put without the lease detaches it
    assert_eq!(c.expired_leases(now + Duration::from_secs(5)), vec![id]);
    let applied = apply(&mut c, WriteRequest::LeaseRevoke { id });
    assert_eq!(applied.revision, 6);
    let deleted: Vec<&[u8]> = applied.changes.iter().map(Change::key).collect();
    assert_eq!(deleted, vec![&b"l/1"[..], b"l/2"]);
    assert!(applied.changes.iter().all(|ch| ch.kind() == KvEventKind::Delete && ch.revision() == 6));
    assert_eq!(c.range(&RangeRequest::prefix("l/")).map(|r| r.count), Ok(1));
    assert_eq!(c.apply(WriteRequest::LeaseRevoke { id }).map(|a| a.revision), Err(KvError::LeaseNotFound { id }));
    let empty = c.lease_grant(0, Duration::from_secs(5), now).map(|g| g.id).unwrap_or_default();
    assert_eq!(apply(&mut c, WriteRequest::LeaseRevoke { id: empty }).revision, 6, "no keys: no revision");
}

#[test]
fn restore_from_a_snapshot_rebuilds_keys_and_leases() {
    let mut c = core();
    let now = Timestamp::from_unix(1000, 0);
    let id = c.lease_grant(0, Duration::from_secs(5), now).map(|g| g.id).unwrap_or_default();
    apply(&mut c, PutRequest::new("a", "1").with_lease(id).into());
    apply(&mut c, put("b", "1"));
    apply(&mut c, put("b", "2"));
    apply(&mut c, put("gone", "1"));
    apply(&mut c, del("gone"));
    let mut r =
        MvccCore::restore(MvccConfig::default(), c.revision(), c.snapshot(), c.leases()).unwrap_or_else(|_| core());
    assert_eq!((r.revision(), r.compact_revision()), (6, 6));
    assert_eq!(r.snapshot().collect::<Vec<_>>(), c.snapshot().collect::<Vec<_>>());
    assert_eq!(r.lease(id), c.lease(id));
    let applied = apply(&mut r, WriteRequest::LeaseRevoke { id });
    assert_eq!(applied.changes.iter().map(Change::key).collect::<Vec<_>>(), vec![&b"a"[..]]);
    let dup = vec![c.snapshot().next().unwrap_or_default(), c.snapshot().next().unwrap_or_default()];
    assert!(matches!(
        MvccCore::restore(MvccConfig::default(), 6, dup, c.leases()),
        Err(KvError::InvalidRequest { .. })
    ));
}
