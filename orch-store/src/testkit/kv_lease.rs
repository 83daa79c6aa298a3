//! The KV suite's lease checks (re-exported from [`kv`](super::kv)), in real time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::kv::{KvError, KvEventKind, KvStore, PutRequest, RangeRequest, WatchRequest};

use super::kv::{KvKitConfig, ok, revision, unique_prefix};
use super::kv_watch::{events, whole_revisions};

async fn grant(kv: &dyn KvStore, ttl: Duration) -> i64 {
    let g = ok(kv.lease_grant(ttl, 0).await, "lease grant");
    assert!(g.id > 0 && g.ttl >= 1, "a granted lease has an id and a TTL: {g:?}");
    g.id
}

async fn put_leased(kv: &dyn KvStore, key: &str, lease: i64) -> i64 {
    ok(kv.put(PutRequest::new(key.to_owned(), "v").with_lease(lease)).await, "put with lease").revision
}

async fn count(kv: &dyn KvStore, prefix: &str) -> i64 {
    ok(kv.range(RangeRequest::prefix(prefix.to_owned())).await, "range").count
}

/// Polls until the prefix holds `n` keys; panics after `within`.
async fn wait_for_count(kv: &dyn KvStore, prefix: &str, n: i64, within: Duration) {
    let deadline = Instant::now() + within;
    while count(kv, prefix).await != n {
        assert!(Instant::now() < deadline, "{prefix} did not reach {n} keys within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// When a lease expires its keys are deleted (in one revision), and watchers see the deletes.
pub async fn lease_expiry_deletes_keys_and_notifies_watchers(kv: Arc<dyn KvStore>, cfg: &KvKitConfig) {
    let p = unique_prefix("lease-expiry");
    let start = revision(&*kv).await + 1;
    let id = grant(&*kv, cfg.lease_ttl).await;
    put_leased(&*kv, &format!("{p}a"), id).await;
    put_leased(&*kv, &format!("{p}b"), id).await;
    ok(kv.put(PutRequest::new(format!("{p}keep"), "v")).await, "put");
    assert_eq!(count(&*kv, &p).await, 3, "leased keys exist before expiry");
    let mut w = ok(kv.watch(WatchRequest::prefix(p.clone()).from_revision(start)).await, "watch");
    let got = whole_revisions(&events(&mut w, 5, cfg.lease_ttl + cfg.timeout).await);
    let deletes: Vec<_> = got.iter().filter(|s| s.2 == KvEventKind::Delete).collect();
    assert_eq!(deletes.len(), 2, "watchers see both deletes: {got:?}");
    assert_eq!(deletes[0].0, deletes[1].0, "an expiry deletes its keys in one revision");
    assert_eq!(count(&*kv, &p).await, 1, "only the key without a lease is left");
    let r = kv.lease_keep_alive(id).await;
    assert!(matches!(r, Err(KvError::LeaseNotFound { .. })), "an expired lease is gone: {r:?}");
}

/// Revoking a lease deletes its keys at once, in one revision that watchers see.
pub async fn lease_revoke_deletes_keys_in_one_revision(kv: Arc<dyn KvStore>, cfg: &KvKitConfig) {
    let p = unique_prefix("lease-revoke");
    let id = grant(&*kv, cfg.lease_ttl * 30).await;
    for k in ["a", "b", "c"] {
        put_leased(&*kv, &format!("{p}{k}"), id).await;
    }
    let start = revision(&*kv).await + 1;
    let mut w = ok(kv.watch(WatchRequest::prefix(p.clone()).from_revision(start)).await, "watch");
    ok(kv.lease_revoke(id).await, "revoke");
    assert_eq!(count(&*kv, &p).await, 0, "revoke deletes the keys before it returns");
    let got = whole_revisions(&events(&mut w, 3, cfg.timeout).await);
    assert!(
        got.iter().all(|s| s.2 == KvEventKind::Delete && s.0 == got[0].0),
        "three deletes in one revision: {got:?}"
    );
    let r = kv.lease_revoke(id).await;
    assert!(matches!(r, Err(KvError::LeaseNotFound { .. })), "revoking twice: {r:?}");
}

/// Keep-alives hold a lease past its TTL; once they stop, it expires.
pub async fn lease_keep_alive_extends_the_lease(kv: Arc<dyn KvStore>, cfg: &KvKitConfig) {
    let p = unique_prefix("lease-keepalive");
    let id = grant(&*kv, cfg.lease_ttl).await;
    put_leased(&*kv, &format!("{p}a"), id).await;
    let until = Instant::now() + cfg.lease_ttl * 2;
    while Instant::now() < until {
        tokio::time::sleep(cfg.lease_ttl / 4).await;
        let ttl = ok(kv.lease_keep_alive(id).await, "keep-alive");
        assert!(ttl >= 1, "keep-alive reports the TTL: {ttl}");
    }
    assert_eq!(count(&*kv, &p).await, 1, "a lease kept alive for twice its TTL still holds its key");
    wait_for_count(&*kv, &p, 0, cfg.lease_ttl + cfg.timeout).await;
}

/// Puts, keep-alives and revokes naming a lease that does not exist fail with `LeaseNotFound`.
pub async fn put_with_unknown_lease_fails(kv: Arc<dyn KvStore>, _cfg: &KvKitConfig) {
    let p = unique_prefix("lease-unknown");
    let unknown = 0x5eed_0000_0001;
    let r = kv.put(PutRequest::new(format!("{p}a"), "v").with_lease(unknown)).await;
    assert!(matches!(r, Err(KvError::LeaseNotFound { .. })), "put: {r:?}");
    let r = kv.lease_keep_alive(unknown).await;
    assert!(matches!(r, Err(KvError::LeaseNotFound { .. })), "keep-alive: {r:?}");
    let r = kv.lease_revoke(unknown).await;
    assert!(matches!(r, Err(KvError::LeaseNotFound { .. })), "revoke: {r:?}");
    assert_eq!(count(&*kv, &p).await, 0);
}
