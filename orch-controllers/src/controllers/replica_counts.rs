//! `ReplicaCounts`: per-owner pod counts kept in step with the pod cache, so a ReplicaSet sync
//! costs the same for ten pods as for 100,000.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use orch_core::kinds::{Pod, find_condition};
use orch_core::{Selector, Timestamp};

use super::pod_ranking::{availability, is_active};
use crate::CacheObserver;

/// A pod's labels, the key pods of one owner are grouped by.
type Labels = BTreeMap<String, String>;

/// What the counts keep of one pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Facts {
    deleting: bool,
    active: bool,
    ready: bool,
    /// When the pod last turned Ready, for an active ready pod that says.
    ready_since: Option<Timestamp>,
}

impl Facts {
    fn of(p: &Pod) -> Self {
        let active = is_active(p);
        let ready = active && p.is_ready();
        let ready_since = if ready {
            find_condition(&p.status.conditions, "Ready").and_then(|c| c.last_transition_time)
        } else {
            None
        };
        Facts { deleting: p.metadata.is_deleting(), active, ready, ready_since }
    }
}

/// Counts of the cached pods of one owner that share one label set.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodGroup {
    /// Every cached pod of the group.
    pub pods: usize,
    /// Pods not being deleted.
    pub not_deleting: usize,
    /// Pods that count as replicas: not being deleted, not finished.
    pub active: usize,
    /// Active pods that are Ready.
    pub ready: usize,
    /// Active Ready pods by the time they turned Ready (those whose condition says).
    pub ready_since: BTreeMap<Timestamp, usize>,
}

impl PodGroup {
    fn add(&mut self, f: Facts) {
        self.pods += 1;
        self.not_deleting += usize::from(!f.deleting);
        self.active += usize::from(f.active);
        self.ready += usize::from(f.ready);
        if let Some(t) = f.ready_since {
            *self.ready_since.entry(t).or_default() += 1;
        }
    }

    fn remove(&mut self, f: Facts) {
        self.pods = self.pods.saturating_sub(1);
        self.not_deleting = self.not_deleting.saturating_sub(usize::from(!f.deleting));
        self.active = self.active.saturating_sub(usize::from(f.active));
        self.ready = self.ready.saturating_sub(usize::from(f.ready));
        if let Some(t) = f.ready_since
            && let Some(n) = self.ready_since.get_mut(&t)
        {
            *n -= 1;
            if *n == 0 {
                self.ready_since.remove(&t);
            }
        }
    }

    /// Ready pods that have been Ready for `min_ready` by `now`, and the earliest time another
    /// one will have been.
    fn available(&self, min_ready: Duration, now: Timestamp) -> (usize, Option<Timestamp>) {
        if min_ready.is_zero() {
            return (self.ready, None);
        }
        let (mut waiting, mut next) = (0, None);
        for (since, n) in self.ready_since.iter().rev() {
            let at = *since + min_ready;
            if at <= now {
                break;
            }
            waiting += n;
            next = Some(at);
        }
        (self.ready - waiting.min(self.ready), next)
    }
}

/// What the counts say about one owner's pods, for its selector and template.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReplicaTally {
    /// Matching pods that count as replicas.
    pub active: usize,
    /// Of those, Ready.
    pub ready: usize,
    /// Of those, Ready for at least `minReadySeconds`.
    pub available: usize,
    /// Active matching pods carrying every label of the template.
    pub fully_labeled: usize,
    /// Owned pods that no longer match the selector and are not being deleted (to release).
    pub releasable: usize,
    /// When a Ready pod becomes available, if one is waiting.
    pub recheck_at: Option<Timestamp>,
}

impl ReplicaTally {
    fn recheck(&mut self, at: Option<Timestamp>) {
        if let Some(at) = at {
            self.recheck_at = Some(self.recheck_at.map_or(at, |r| r.min(at)));
        }
    }

    /// Counts one more pod that matches the selector (an orphan being adopted).
    pub fn add_matching(&mut self, p: &Pod, template_labels: &Labels, min_ready: Duration, now: Timestamp) {
        if !is_active(p) {
            return;
        }
        self.active += 1;
        self.ready += usize::from(p.is_ready());
        match availability(p, min_ready, now) {
            Ok(()) => self.available += 1,
            Err(at) => self.recheck(at),
        }
        self.fully_labeled += usize::from(has_all(&p.metadata.labels, template_labels));
    }
}

fn has_all(labels: &Labels, wanted: &Labels) -> bool {
    wanted.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Pod counts per controller owner (by uid) and label set, kept in step with the pod cache as a
/// [`CacheObserver`]. Pods without a controller owner are not counted (they are orphans).
///
/// Each pod change costs a few map operations under one mutex; [`tally`](Self::tally) costs one
/// selector match per distinct label set of the owner's pods (one, normally), not one per pod.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use orch_controllers::controllers::replica_counts::ReplicaCounts;
/// use orch_controllers::Writer;
/// use orch_core::{ObjectMeta, OwnerReference, Selector, Timestamp, kinds::Pod};
///
/// let mut cache: Writer<Pod> = Writer::new();
/// let counts = Arc::new(ReplicaCounts::new());
/// cache.reader().add_observer(counts.clone());
/// let mut pod = Pod { metadata: ObjectMeta::named("web-1").in_namespace("default").with_label("app", "web"), ..Default::default() };
/// pod.metadata.owner_references.push(OwnerReference::controller_of("apps/v1", "ReplicaSet", "web", "uid-1"));
/// cache.apply(Arc::new(pod));
/// let selector: Selector = "app=web".parse().unwrap();
/// let tally = counts.tally("uid-1", &selector, &Default::default(), Duration::ZERO, Timestamp::EPOCH);
/// assert_eq!((tally.active, tally.ready), (1, 0));
/// ```
#[derive(Debug, Default)]
pub struct ReplicaCounts {
    owners: Mutex<BTreeMap<String, BTreeMap<Labels, PodGroup>>>,
}

impl ReplicaCounts {
    /// Empty counts (register them on the pod cache with `Store::add_observer`).
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, BTreeMap<Labels, PodGroup>>> {
        self.owners.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The tally of the pods controlled by `owner_uid`, for `selector` (pods that stopped
    /// matching it are counted as releasable, not as replicas), the template's labels and
    /// `min_ready` (minReadySeconds) at `now`.
    pub fn tally(
        &self,
        owner_uid: &str,
        selector: &Selector,
        template_labels: &Labels,
        min_ready: Duration,
        now: Timestamp,
    ) -> ReplicaTally {
        let mut t = ReplicaTally::default();
        let owners = self.lock();
        for (labels, g) in owners.get(owner_uid).into_iter().flatten() {
            if !selector.matches(labels) {
                t.releasable += g.not_deleting;
                continue;
            }
            t.active += g.active;
            t.ready += g.ready;
            if has_all(labels, template_labels) {
                t.fully_labeled += g.active;
            }
            let (available, next) = g.available(min_ready, now);
            t.available += available;
            t.recheck(next);
        }
        t
    }

    /// The groups of one owner (for inspection and tests), ordered by label set.
    pub fn groups(&self, owner_uid: &str) -> Vec<(Labels, PodGroup)> {
        self.lock().get(owner_uid).map(|g| g.iter().map(|(l, g)| (l.clone(), g.clone())).collect()).unwrap_or_default()
    }

    fn add(owners: &mut BTreeMap<String, BTreeMap<Labels, PodGroup>>, p: &Pod) {
        let Some(owner) = p.metadata.controller_owner() else { return };
        let groups = match owners.get_mut(owner.uid.as_str()) {
            Some(g) => g,
            None => owners.entry(owner.uid.clone()).or_default(),
        };
        let group = match groups.get_mut(&p.metadata.labels) {
            Some(g) => g,
            None => groups.entry(p.metadata.labels.clone()).or_default(),
        };
        group.add(Facts::of(p));
    }

    fn remove(owners: &mut BTreeMap<String, BTreeMap<Labels, PodGroup>>, p: &Pod) {
        let Some(owner) = p.metadata.controller_owner() else { return };
        let Some(groups) = owners.get_mut(owner.uid.as_str()) else { return };
        let Some(group) = groups.get_mut(&p.metadata.labels) else { return };
        group.remove(Facts::of(p));
        if group.pods == 0 {
            groups.remove(&p.metadata.labels);
            if groups.is_empty() {
                owners.remove(owner.uid.as_str());
            }
        }
    }
}

impl CacheObserver<Pod> for ReplicaCounts {
    fn applied(&self, old: Option<&Pod>, new: &Pod) {
        if let Some(old) = old {
            let same_owner =
                old.metadata.controller_owner().map(|o| &o.uid) == new.metadata.controller_owner().map(|o| &o.uid);
            if same_owner && old.metadata.labels == new.metadata.labels && Facts::of(old) == Facts::of(new) {
                return;
            }
        }
        let mut owners = self.lock();
        if let Some(old) = old {
            Self::remove(&mut owners, old);
        }
        Self::add(&mut owners, new);
    }

    fn removed(&self, old: &Pod) {
        Self::remove(&mut self.lock(), old);
    }

    fn cleared(&self) {
        self.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orch_core::kinds::Condition;
    use orch_core::{ObjectMeta, OwnerReference};

    fn pod(name: &str, app: &str, ready_at: Option<i64>) -> Pod {
        let mut p =
            Pod { metadata: ObjectMeta::named(name).in_namespace("d").with_label("app", app), ..Default::default() };
        p.metadata.owner_references.push(OwnerReference::controller_of("apps/v1", "ReplicaSet", "web", "u"));
        if let Some(t) = ready_at {
            let mut c = Condition::new("Ready", true);
            c.last_transition_time = Some(Timestamp::from_unix(t, 0));
            p.status.conditions.push(c);
        }
        p
    }

    fn web() -> Selector {
        "app=web".parse().unwrap()
    }

    fn tally(c: &ReplicaCounts, min_ready: u64, now: i64) -> ReplicaTally {
        c.tally("u", &web(), &Labels::new(), Duration::from_secs(min_ready), Timestamp::from_unix(now, 0))
    }

    #[test]
    fn counts_follow_a_pod_through_ready_and_deletion() {
        let c = ReplicaCounts::new();
        let (created, ready) = (pod("a", "web", None), pod("a", "web", Some(10)));
        c.applied(None, &created);
        assert_eq!((tally(&c, 0, 20).active, tally(&c, 0, 20).ready), (1, 0));
        c.applied(Some(&created), &ready);
        assert_eq!((tally(&c, 0, 20).ready, tally(&c, 0, 20).available), (1, 1));
        let mut deleting = ready.clone();
        deleting.metadata.deletion_timestamp = Some(Timestamp::from_unix(30, 0));
        c.applied(Some(&ready), &deleting);
        assert_eq!(tally(&c, 0, 40), ReplicaTally::default());
        c.removed(&deleting);
        assert!(c.groups("u").is_empty());
    }

    #[test]
    fn min_ready_holds_back_availability_until_its_time() {
        let c = ReplicaCounts::new();
        c.applied(None, &pod("a", "web", Some(100)));
        c.applied(None, &pod("b", "web", Some(105)));
        let t = tally(&c, 10, 108);
        assert_eq!((t.ready, t.available, t.recheck_at), (2, 0, Some(Timestamp::from_unix(110, 0))));
        let t = tally(&c, 10, 110);
        assert_eq!((t.available, t.recheck_at), (1, Some(Timestamp::from_unix(115, 0))));
        assert_eq!(tally(&c, 10, 115).available, 2);
    }

    #[test]
    fn pods_that_stop_matching_are_releasable_not_replicas() {
        let c = ReplicaCounts::new();
        let a = pod("a", "web", None);
        c.applied(None, &a);
        c.applied(None, &pod("b", "web", None));
        c.applied(Some(&a), &pod("a", "moved", None));
        let t = tally(&c, 0, 0);
        assert_eq!((t.active, t.releasable), (1, 1));
        assert_eq!(c.groups("u").len(), 2);
    }

    #[test]
    fn a_relist_starts_the_counts_over() {
        let c = ReplicaCounts::new();
        c.applied(None, &pod("a", "web", None));
        c.cleared();
        assert_eq!(tally(&c, 0, 0).active, 0);
    }
}
