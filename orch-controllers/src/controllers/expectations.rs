//! Expectations: the writes a controller made that its cache has not shown yet.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use orch_core::Timestamp;

use crate::ObjectKey;

#[derive(Debug, Default)]
struct Pending {
    creates: BTreeSet<String>,
    deletes: BTreeSet<String>,
    since: Option<Timestamp>,
}

/// Per-owner record of children created or deleted but not yet observed in the cache.
///
/// Kubernetes counts expected adds and deletes; this keeps the children's names instead, so the
/// check is a pure function of the cache: an owner is *satisfied* when every child it created is
/// in the cache and every child it deleted is gone (or terminating) from it, or when the
/// expectations are older than the timeout (a lost event must not block the owner forever).
/// While unsatisfied the owner must not create or delete children: its cache is behind its own writes.
///
/// ```
/// use std::time::Duration;
/// use orch_controllers::controllers::expectations::Expectations;
/// use orch_controllers::ObjectKey;
/// use orch_core::Timestamp;
/// let exp = Expectations::new(Duration::from_secs(300));
/// let rs = ObjectKey::namespaced("default", "web");
/// let t0 = Timestamp::from_unix(0, 0);
/// exp.expect_creations(&rs, ["web-a".to_string()], t0);
/// assert!(!exp.satisfied(&rs, t0, |_| false));         // web-a not cached yet
/// assert!(exp.satisfied(&rs, t0, |name| name == "web-a")); // now it is
/// ```
#[derive(Debug)]
pub struct Expectations {
    timeout: Duration,
    pending: Mutex<BTreeMap<ObjectKey, Pending>>,
}

impl Expectations {
    /// Expectations that lapse after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        Expectations { timeout, pending: Mutex::new(BTreeMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<ObjectKey, Pending>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records children created by `owner` (by name).
    pub fn expect_creations(&self, owner: &ObjectKey, names: impl IntoIterator<Item = String>, now: Timestamp) {
        let mut p = self.lock();
        let e = p.entry(owner.clone()).or_default();
        e.creates.extend(names);
        e.since.get_or_insert(now);
    }

    /// Records children deleted by `owner` (by name).
    pub fn expect_deletions(&self, owner: &ObjectKey, names: impl IntoIterator<Item = String>, now: Timestamp) {
        let mut p = self.lock();
        let e = p.entry(owner.clone()).or_default();
        e.deletes.extend(names);
        e.since.get_or_insert(now);
    }

    /// Whether `owner`'s cache reflects all its writes; `cached(name)` tells whether a child is in
    /// the cache and not terminating. Observed expectations are dropped.
    pub fn satisfied(&self, owner: &ObjectKey, now: Timestamp, cached: impl Fn(&str) -> bool) -> bool {
        let mut p = self.lock();
        let Some(e) = p.get_mut(owner) else { return true };
        if e.since.is_some_and(|s| s + self.timeout <= now) {
            p.remove(owner);
            return true;
        }
        // Names leave the sets as they are observed, and a check stops at the first name not
        // observed yet: an owner checked on every event of its many children looks up about
        // one name per check, not every name it still waits for.
        if !drain_observed(&mut e.creates, &cached) || !drain_observed(&mut e.deletes, |n| !cached(n)) {
            return false;
        }
        p.remove(owner);
        true
    }

    /// When the current expectations of `owner` lapse, if it has any.
    pub fn deadline(&self, owner: &ObjectKey) -> Option<Timestamp> {
        self.lock().get(owner).and_then(|e| e.since).map(|s| s + self.timeout)
    }

    /// Forgets `owner` (it was deleted).
    pub fn forget(&self, owner: &ObjectKey) {
        self.lock().remove(owner);
    }
}

/// Removes the names `observed` holds for, in order, up to the first it does not; whether the
/// set is now empty.
fn drain_observed(names: &mut BTreeSet<String>, observed: impl Fn(&str) -> bool) -> bool {
    while let Some(first) = names.first() {
        if !observed(first) {
            return false;
        }
        names.pop_first();
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owner_is_satisfied_only_once_every_create_is_cached_and_every_delete_gone() {
        let exp = Expectations::new(Duration::from_secs(10));
        let k = ObjectKey::namespaced("d", "rs");
        let t0 = Timestamp::from_unix(100, 0);
        exp.expect_creations(&k, ["a".to_string(), "b".to_string(), "c".to_string()], t0);
        exp.expect_deletions(&k, ["x".to_string()], t0);
        let cached = |names: &'static [&'static str]| move |n: &str| names.contains(&n);
        assert!(!exp.satisfied(&k, t0, cached(&["a", "c", "x"])), "b is not cached yet");
        assert!(!exp.satisfied(&k, t0, cached(&["b", "c", "x"])), "every create seen, but x is not gone");
        assert!(exp.satisfied(&k, t0, cached(&["a", "b", "c"])), "x is gone");
        exp.expect_creations(&k, ["d".to_string()], t0);
        assert!(!exp.satisfied(&k, t0, cached(&["a", "b", "c"])), "new expectations start afresh");
    }

    #[test]
    fn lapsed_expectations_no_longer_block() {
        let exp = Expectations::new(Duration::from_secs(10));
        let k = ObjectKey::namespaced("d", "rs");
        let t0 = Timestamp::from_unix(100, 0);
        exp.expect_deletions(&k, ["p".to_string()], t0);
        assert!(!exp.satisfied(&k, t0, |_| true));
        assert!(exp.satisfied(&k, t0 + Duration::from_secs(10), |_| true));
    }
}
