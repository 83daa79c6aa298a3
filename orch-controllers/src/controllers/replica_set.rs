//! `ReplicaSetController`: keeps `spec.replicas` pods of a ReplicaSet's template running.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::future::join_all;
use orch_core::kinds::{Pod, ReplicaSet, ReplicaSetStatus};
use orch_core::{Api, ObjectMeta, ObjectStore, OwnerReference, Resource, Selector, StoreError, Timestamp};

use super::expectations::Expectations;
use super::pod_ranking::{availability, is_active, pods_to_delete};
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

/// What one reconcile decided, computed from the cache only.
#[derive(Debug, Default, PartialEq)]
pub struct ReplicaSetPlan {
    /// Orphans matching the selector, to adopt.
    pub adopt: Vec<String>,
    /// Owned pods no longer matching the selector, to release.
    pub release: Vec<String>,
    /// Pods to create.
    pub create: usize,
    /// Pods to delete, by name.
    pub delete: Vec<String>,
    /// The status to report.
    pub status: ReplicaSetStatus,
    /// When a ready pod becomes available, if that is pending.
    pub recheck_at: Option<Timestamp>,
}

/// Decides adoption, scaling and status from the cached pods. `may_scale` is false while
/// expectations are unmet.
pub fn plan_replica_set(
    rs: &ReplicaSet,
    selector: &Selector,
    owned: &[Arc<Pod>],
    orphans: &[Arc<Pod>],
    may_scale: bool,
    burst: usize,
    now: Timestamp,
) -> ReplicaSetPlan {
    let mut plan = ReplicaSetPlan::default();
    let deleting = rs.metadata.is_deleting();
    let mut active: Vec<&Pod> = Vec::new();
    for p in owned {
        if selector.matches(&p.metadata.labels) {
            if is_active(p) {
                active.push(p);
            }
        } else if !p.metadata.is_deleting() {
            plan.release.push(p.metadata.name_str().to_owned());
        }
    }
    if !deleting {
        for p in orphans.iter().filter(|p| selector.matches(&p.metadata.labels)) {
            plan.adopt.push(p.metadata.name_str().to_owned());
            if is_active(p) {
                active.push(p);
            }
        }
    }
    let want = rs.spec.replicas.unwrap_or(1).max(0) as usize;
    if may_scale && !deleting {
        if active.len() < want {
            plan.create = (want - active.len()).min(burst);
        } else if active.len() > want {
            let n = (active.len() - want).min(burst);
            plan.delete = pods_to_delete(active.clone(), n).iter().map(|p| p.metadata.name_str().to_owned()).collect();
        }
    }
    let min_ready = Duration::from_secs(rs.spec.min_ready_seconds.unwrap_or(0).max(0) as u64);
    let mut ready = 0;
    let mut available = 0;
    let template_labels = &rs.spec.template.metadata.labels;
    let mut fully_labeled = 0;
    for p in &active {
        if p.is_ready() {
            ready += 1;
        }
        match availability(p, min_ready, now) {
            Ok(()) => available += 1,
            Err(Some(at)) => plan.recheck_at = Some(plan.recheck_at.map_or(at, |r: Timestamp| r.min(at))),
            Err(None) => {}
        }
        if template_labels.iter().all(|(k, v)| p.metadata.labels.get(k) == Some(v)) {
            fully_labeled += 1;
        }
    }
    let previous = rs.status.clone().unwrap_or_default();
    plan.status = ReplicaSetStatus {
        replicas: active.len() as i32,
        fully_labeled_replicas: Some(fully_labeled),
        ready_replicas: Some(ready),
        available_replicas: Some(available),
        observed_generation: rs.metadata.generation,
        conditions: previous.conditions,
    };
    plan
}

/// The ReplicaSet controller. Run it with `Controller::new(rs, &informers).owns::<Pod>()`.
pub struct ReplicaSetController {
    store: Arc<dyn ObjectStore>,
    pods: Store<Pod>,
    rt: Runtime,
    config: ReplicaSetConfig,
    expectations: Expectations,
}

impl ReplicaSetController {
    /// A controller using the shared pod cache of `informers` (it adds the indexes it needs).
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
        ReplicaSetController {
            store: informers.object_store(),
            pods,
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
        let owned = self.pods.by_index(CONTROLLER_UID_INDEX, &uid);
        let orphans =
            if selector.is_empty() { Vec::new() } else { self.pods.by_index(ORPHAN_INDEX, key.namespace_str()) };
        let ns = key.namespace_str().to_owned();
        let satisfied = self.expectations.satisfied(key, ctx.now, |name| {
            self.pods.get(&ObjectKey::namespaced(ns.clone(), name)).is_some_and(|p| !p.metadata.is_deleting())
        });
        let plan = plan_replica_set(&rs, &selector, &owned, &orphans, satisfied, self.config.burst, ctx.now);
        let owner =
            OwnerReference::controller_of(ReplicaSet::api_version(), ReplicaSet::KIND, rs.metadata.name_str(), &uid);
        for name in &plan.adopt {
            self.set_owner(key, name, Some(&owner), &uid).await?;
        }
        for name in &plan.release {
            self.set_owner(key, name, None, &uid).await?;
        }
        if plan.create > 0 {
            self.create_pods(&rs, key, &owner, plan.create).await?;
        }
        if !plan.delete.is_empty() {
            self.delete_pods(key, &plan.delete).await?;
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

    fn sel(rs: &ReplicaSet) -> Selector {
        rs.spec.selector.to_selector().unwrap()
    }

    #[test]
    fn unmet_expectations_freeze_scaling_but_not_status() {
        let r = rs(3);
        let plan = plan_replica_set(&r, &sel(&r), &[pod("a", "web")], &[], false, 500, Timestamp::EPOCH);
        assert_eq!(plan.create, 0);
        assert_eq!(plan.status.replicas, 1);
        let plan = plan_replica_set(&r, &sel(&r), &[pod("a", "web")], &[], true, 500, Timestamp::EPOCH);
        assert_eq!(plan.create, 2);
    }

    #[test]
    fn matching_orphans_are_adopted_and_count_as_replicas() {
        let r = rs(1);
        let plan =
            plan_replica_set(&r, &sel(&r), &[], &[pod("o", "web"), pod("x", "other")], true, 500, Timestamp::EPOCH);
        assert_eq!(plan.adopt, ["o"]);
        assert_eq!(plan.create, 0);
    }

    #[test]
    fn owned_pods_that_stopped_matching_are_released() {
        let r = rs(1);
        let plan =
            plan_replica_set(&r, &sel(&r), &[pod("a", "web"), pod("b", "moved")], &[], true, 500, Timestamp::EPOCH);
        assert_eq!(plan.release, ["b"]);
        assert!(plan.delete.is_empty());
    }

    #[test]
    fn scale_down_is_capped_by_burst() {
        let r = rs(0);
        let owned: Vec<_> = (0..5).map(|i| pod(&format!("p{i}"), "web")).collect();
        let plan = plan_replica_set(&r, &sel(&r), &owned, &[], true, 2, Timestamp::EPOCH);
        assert_eq!(plan.delete.len(), 2);
    }
}
