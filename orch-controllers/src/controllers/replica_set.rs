//! `ReplicaSetController`: keeps `spec.replicas` pods of a ReplicaSet's template running.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::future::join_all;
use orch_core::kinds::{Pod, ReplicaSet, ReplicaSetStatus};
use orch_core::{Api, ObjectMeta, ObjectStore, OwnerReference, Resource, Selector, StoreError, Timestamp};

use super::expectations::Expectations;
use super::pod_ranking::{is_active, pods_to_delete};
use super::replica_counts::{ReplicaCounts, ReplicaTally};
use crate::index::{CONTROLLER_UID_INDEX, ORPHAN_INDEX, by_controller_uid, orphans_by_namespace};
use crate::{Action, Informers, ObjectKey, ReconcileContext, Reconciler, Runtime, Store};

/// Settings of the [`ReplicaSetController`].
#[derive(Clone, Debug)]
pub struct ReplicaSetConfig {
    /// Most pods created or deleted by one reconcile (Kubernetes' burstReplicas, 500).
    pub burst: usize,
    /// Expectations lapse after this long (Kubernetes: 5 minutes).
    pub expectations_timeout: Duration,
}

impl Default for ReplicaSetConfig {
    fn default() -> Self {
        ReplicaSetConfig { burst: 500, expectations_timeout: Duration::from_secs(300) }
    }
}

/// Errors of a ReplicaSet reconcile.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaSetError {
    /// A write to the store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// What one reconcile decided, computed from the cached counts only.
#[derive(Debug, Default, PartialEq)]
pub struct ReplicaSetPlan {
    /// Orphans matching the selector, to adopt.
    pub adopt: Vec<String>,
    /// How many owned pods no longer match the selector (release them: [`pods_to_release`]).
    pub release: usize,
    /// Pods to create.
    pub create: usize,
    /// How many pods to delete (which ones: [`pods_to_delete_by_name`]).
    pub delete: usize,
    /// The status to report.
    pub status: ReplicaSetStatus,
    /// When a ready pod becomes available, if that is pending.
    pub recheck_at: Option<Timestamp>,
}

/// Decides adoption, scaling and status from the tally of the owned pods (see
/// [`ReplicaCounts`]) and the cached orphans. `may_scale` is false while expectations are unmet.
pub fn plan_replica_set(
    rs: &ReplicaSet,
    selector: &Selector,
    mut owned: ReplicaTally,
    orphans: &[Arc<Pod>],
    may_scale: bool,
    burst: usize,
    now: Timestamp,
) -> ReplicaSetPlan {
    let mut plan = ReplicaSetPlan { release: owned.releasable, ..Default::default() };
    let deleting = rs.metadata.is_deleting();
    let min_ready = min_ready(rs);
    if !deleting {
        for p in orphans.iter().filter(|p| selector.matches(&p.metadata.labels)) {
            plan.adopt.push(p.metadata.name_str().to_owned());
            owned.add_matching(p, &rs.spec.template.metadata.labels, min_ready, now);
        }
    }
    let want = rs.spec.replicas.unwrap_or(1).max(0) as usize;
    if may_scale && !deleting {
        if owned.active < want {
            plan.create = (want - owned.active).min(burst);
        } else {
            plan.delete = (owned.active - want).min(burst);
        }
    }
    let previous = rs.status.clone().unwrap_or_default();
    plan.recheck_at = owned.recheck_at;
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    plan.status = ReplicaSetStatus {
        replicas: count(owned.active),
        fully_labeled_replicas: Some(count(owned.fully_labeled)),
        ready_replicas: Some(count(owned.ready)),
        available_replicas: Some(count(owned.available)),
        observed_generation: rs.metadata.generation,
        conditions: previous.conditions,
    };
    plan
}

fn min_ready(rs: &ReplicaSet) -> Duration {
    Duration::from_secs(rs.spec.min_ready_seconds.unwrap_or(0).max(0) as u64)
}

/// Names of the pods that no longer match `selector` and are not being deleted.
pub fn pods_to_release(selector: &Selector, pods: &[Arc<Pod>]) -> Vec<String> {
    pods.iter()
        .filter(|p| !selector.matches(&p.metadata.labels) && !p.metadata.is_deleting())
        .map(|p| p.metadata.name_str().to_owned())
        .collect()
}

/// Names of the `n` active pods matching `selector` to delete first (see [`pods_to_delete`]).
pub fn pods_to_delete_by_name(selector: &Selector, pods: &[Arc<Pod>], n: usize) -> Vec<String> {
    let active: Vec<&Pod> =
        pods.iter().map(|p| p.as_ref()).filter(|p| is_active(p) && selector.matches(&p.metadata.labels)).collect();
    pods_to_delete(active, n).iter().map(|p| p.metadata.name_str().to_owned()).collect()
}

/// The ReplicaSet controller. Run it with `Controller::new(rs, &informers).owns::<Pod>()`.
pub struct ReplicaSetController {
    store: Arc<dyn ObjectStore>,
    pods: Store<Pod>,
    counts: Arc<ReplicaCounts>,
    rt: Runtime,
    config: ReplicaSetConfig,
    expectations: Expectations,
}

impl ReplicaSetController {
    /// A controller using the shared pod cache of `informers` (it adds the indexes it needs and
    /// keeps [`ReplicaCounts`] of it).
    pub fn new(informers: &Informers) -> Self {
        Self::with_config(informers, ReplicaSetConfig::default())
    }

    /// Like [`new`](Self::new) with settings.
    pub fn with_config(informers: &Informers, config: ReplicaSetConfig) -> Self {
        let pods = informers.store::<Pod>();
        if !pods.has_index(CONTROLLER_UID_INDEX) {
            pods.add_index(CONTROLLER_UID_INDEX, by_controller_uid());
        }
        if !pods.has_index(ORPHAN_INDEX) {
            pods.add_index(ORPHAN_INDEX, orphans_by_namespace());
        }
        let counts = Arc::new(ReplicaCounts::new());
        pods.add_observer(counts.clone());
        ReplicaSetController {
            store: informers.object_store(),
            pods,
            counts,
            rt: informers.runtime().clone(),
            expectations: Expectations::new(config.expectations_timeout),
            config,
        }
    }

    fn pod_for(rs: &ReplicaSet, owner: &OwnerReference) -> Pod {
        let t = &rs.spec.template;
        Pod {
            metadata: ObjectMeta {
                generate_name: Some(format!("{}-", rs.metadata.name_str())),
                namespace: rs.metadata.namespace.clone(),
                labels: t.metadata.labels.clone(),
                annotations: t.metadata.annotations.clone(),
                owner_references: vec![owner.clone()],
                ..Default::default()
            },
            spec: t.spec.clone(),
            status: Default::default(),
        }
    }

    /// Creates `n` pods in slow-start batches (1, 2, 4, ...); stops at the first failing batch.
    async fn create_pods(
        &self,
        rs: &ReplicaSet,
        key: &ObjectKey,
        owner: &OwnerReference,
        n: usize,
    ) -> Result<(), StoreError> {
        let api: Api<Pod> = Api::namespaced(self.store.clone(), key.namespace_str());
        let template = Self::pod_for(rs, owner);
        let (mut done, mut batch) = (0, 1usize);
        while done < n {
            let size = batch.min(n - done);
            let results = join_all((0..size).map(|_| api.create(&template))).await;
            let names = results.iter().filter_map(|r| r.as_ref().ok()).map(|p| p.metadata.name_str().to_owned());
            self.expectations.expect_creations(key, names, self.rt.clock.now());
            if let Some(Err(e)) = results.into_iter().find(Result::is_err) {
                return Err(e);
            }
            done += size;
            batch *= 2;
        }
        Ok(())
    }

    async fn delete_pods(&self, key: &ObjectKey, names: &[String]) -> Result<(), StoreError> {
        let api: Api<Pod> = Api::namespaced(self.store.clone(), key.namespace_str());
        self.expectations.expect_deletions(key, names.iter().cloned(), self.rt.clock.now());
        let opts = orch_core::store::DeleteOptions::default();
        let results = join_all(names.iter().map(|n| api.delete(n, &opts))).await;
        for r in results {
            match r {
                Ok(_) | Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Sets or removes our controller reference on a pod, guarded by its resourceVersion.
    async fn set_owner(
        &self,
        key: &ObjectKey,
        name: &str,
        owner: Option<&OwnerReference>,
        uid: &str,
    ) -> Result<(), StoreError> {
        let Some(cached) = self.pods.get(&ObjectKey::namespaced(key.namespace_str(), name)) else { return Ok(()) };
        let mut pod = (*cached).clone();
        pod.metadata.owner_references.retain(|o| o.uid != uid);
        if let Some(o) = owner {
            if pod.metadata.controller_owner().is_some() {
                return Ok(());
            }
            pod.metadata.owner_references.push(o.clone());
        }
        let api: Api<Pod> = Api::namespaced(self.store.clone(), key.namespace_str());
        match api.update(&pod).await {
            Ok(_) | Err(StoreError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl Reconciler for ReplicaSetController {
    type Kind = ReplicaSet;
    type Error = ReplicaSetError;

    fn name(&self) -> &str {
        "replicaset"
    }

    async fn reconcile(&self, rs: Arc<ReplicaSet>, ctx: &ReconcileContext) -> Result<Action, ReplicaSetError> {
        let key = &ctx.key;
        let Ok(selector) = rs.spec.selector.to_selector() else { return Ok(Action::await_change()) };
        let uid = rs.metadata.uid.clone().unwrap_or_default();
        let template_labels = &rs.spec.template.metadata.labels;
        let tally = self.counts.tally(&uid, &selector, template_labels, min_ready(&rs), ctx.now);
        let orphans =
            if selector.is_empty() { Vec::new() } else { self.pods.by_index(ORPHAN_INDEX, key.namespace_str()) };
        let ns = key.namespace_str().to_owned();
        let satisfied = self.expectations.satisfied(key, ctx.now, |name| {
            self.pods.get(&ObjectKey::namespaced(ns.clone(), name)).is_some_and(|p| !p.metadata.is_deleting())
        });
        let plan = plan_replica_set(&rs, &selector, tally, &orphans, satisfied, self.config.burst, ctx.now);
        let owner =
            OwnerReference::controller_of(ReplicaSet::api_version(), ReplicaSet::KIND, rs.metadata.name_str(), &uid);
        for name in &plan.adopt {
            self.set_owner(key, name, Some(&owner), &uid).await?;
        }
        // Only releasing and scaling down need the pods themselves.
        let owned = if plan.release > 0 || plan.delete > 0 {
            self.pods.by_index(CONTROLLER_UID_INDEX, &uid)
        } else {
            Vec::new()
        };
        for name in pods_to_release(&selector, &owned) {
            self.set_owner(key, &name, None, &uid).await?;
        }
        if plan.create > 0 {
            self.create_pods(&rs, key, &owner, plan.create).await?;
        }
        if plan.delete > 0 {
            let candidates: Vec<Arc<Pod>> = owned.into_iter().chain(orphans).collect();
            let victims = pods_to_delete_by_name(&selector, &candidates, plan.delete);
            self.delete_pods(key, &victims).await?;
        }
        if rs.status.as_ref() != Some(&plan.status) {
            let mut updated = (*rs).clone();
            updated.status = Some(plan.status.clone());
            updated.metadata.resource_version = None;
            match Api::<ReplicaSet>::namespaced(self.store.clone(), key.namespace_str()).update_status(&updated).await {
                Ok(_) | Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let mut action = Action::await_change();
        if let Some(at) = plan.recheck_at {
            action = action.min(Action::requeue(at.saturating_duration_since(ctx.now)));
        }
        if !satisfied && let Some(at) = self.expectations.deadline(key) {
            action = action.min(Action::requeue(at.saturating_duration_since(ctx.now)));
        }
        Ok(action)
    }

    async fn reconcile_missing(&self, ctx: &ReconcileContext) -> Result<Action, ReplicaSetError> {
        self.expectations.forget(&ctx.key);
        Ok(Action::await_change())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CacheObserver;
    use orch_core::LabelSelector;

    fn rs(replicas: i32) -> ReplicaSet {
        let mut rs = ReplicaSet { metadata: ObjectMeta::named("web").in_namespace("d"), ..Default::default() };
        rs.spec.replicas = Some(replicas);
        rs.spec.selector =
            LabelSelector { match_labels: [("app".to_string(), "web".to_string())].into(), ..Default::default() };
        rs
    }

    fn pod(name: &str, app: &str) -> Arc<Pod> {
        Arc::new(Pod {
            metadata: ObjectMeta::named(name).in_namespace("d").with_label("app", app),
            ..Default::default()
        })
    }

    /// `pods` owned by the ReplicaSet: the same pods with its controller reference.
    fn owned(pods: &[Arc<Pod>]) -> Vec<Arc<Pod>> {
        let owner = OwnerReference::controller_of("apps/v1", "ReplicaSet", "web", "u");
        pods.iter()
            .map(|p| {
                let mut p = (**p).clone();
                p.metadata.owner_references.push(owner.clone());
                Arc::new(p)
            })
            .collect()
    }

    fn tally(r: &ReplicaSet, pods: &[Arc<Pod>]) -> ReplicaTally {
        let counts = ReplicaCounts::new();
        owned(pods).iter().for_each(|p| counts.applied(None, p));
        counts.tally("u", &sel(r), &r.spec.template.metadata.labels, Duration::ZERO, Timestamp::EPOCH)
    }

    fn sel(rs: &ReplicaSet) -> Selector {
        rs.spec.selector.to_selector().unwrap()
    }

    #[test]
    fn unmet_expectations_freeze_scaling_but_not_status() {
        let r = rs(3);
        let pods = [pod("a", "web")];
        let plan = plan_replica_set(&r, &sel(&r), tally(&r, &pods), &[], false, 500, Timestamp::EPOCH);
        assert_eq!(plan.create, 0);
        assert_eq!(plan.status.replicas, 1);
        let plan = plan_replica_set(&r, &sel(&r), tally(&r, &pods), &[], true, 500, Timestamp::EPOCH);
        assert_eq!(plan.create, 2);
    }

    #[test]
    fn matching_orphans_are_adopted_and_count_as_replicas() {
        let r = rs(1);
        let orphans = [pod("o", "web"), pod("x", "other")];
        let plan = plan_replica_set(&r, &sel(&r), tally(&r, &[]), &orphans, true, 500, Timestamp::EPOCH);
        assert_eq!(plan.adopt, ["o"]);
        assert_eq!(plan.create, 0);
        assert_eq!(plan.status.replicas, 1);
    }

    #[test]
    fn owned_pods_that_stopped_matching_are_released() {
        let r = rs(1);
        let pods = [pod("a", "web"), pod("b", "moved")];
        let plan = plan_replica_set(&r, &sel(&r), tally(&r, &pods), &[], true, 500, Timestamp::EPOCH);
        assert_eq!(plan.release, 1);
        assert_eq!(pods_to_release(&sel(&r), &owned(&pods)), ["b"]);
        assert_eq!(plan.delete, 0);
    }

    #[test]
    fn scale_down_is_capped_by_burst() {
        let r = rs(0);
        let pods: Vec<_> = (0..5).map(|i| pod(&format!("p{i}"), "web")).collect();
        let plan = plan_replica_set(&r, &sel(&r), tally(&r, &pods), &[], true, 2, Timestamp::EPOCH);
        assert_eq!(plan.delete, 2);
        assert_eq!(pods_to_delete_by_name(&sel(&r), &pods, plan.delete).len(), 2);
    }

    #[test]
    fn a_deleting_replica_set_neither_scales_nor_adopts() {
        let mut r = rs(5);
        r.metadata.deletion_timestamp = Some(Timestamp::EPOCH);
        let plan = plan_replica_set(&r, &sel(&r), tally(&r, &[]), &[pod("o", "web")], true, 500, Timestamp::EPOCH);
        assert_eq!((plan.create, plan.delete, plan.adopt.len()), (0, 0, 0));
    }
}
