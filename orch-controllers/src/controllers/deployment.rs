//! `DeploymentController`: rolls a Deployment's pod template out through ReplicaSets.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use orch_core::kinds::{Condition, Deployment, DeploymentStatus, PodTemplateSpec, ReplicaSet, find_condition};
use orch_core::store::DeleteOptions;
use orch_core::{Api, LabelSelector, ObjectMeta, ObjectStore, OwnerReference, Resource, StoreError, Timestamp};

use super::rollout::{RsView, Strategy, plan_rollout};
use crate::index::{CONTROLLER_UID_INDEX, by_controller_uid};
use crate::runtime::hash::short_hash;
use crate::{Action, Informers, ReconcileContext, Reconciler, Store};

/// Annotation holding a ReplicaSet's revision number.
pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
/// Label distinguishing the pods (and ReplicaSets) of one template.
pub const POD_TEMPLATE_HASH_LABEL: &str = "pod-template-hash";
/// Set on a Deployment to roll back to a revision (`"0"` or empty: the previous one); the
/// controller copies that revision's template into the Deployment and removes the annotation.
pub const ROLLBACK_ANNOTATION: &str = "deployment.orch.io/rollback-to";

/// Errors of a Deployment reconcile.
#[derive(Debug, thiserror::Error)]
pub enum DeploymentError {
    /// A write to the store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The pod template cannot be serialized for hashing.
    #[error("hashing the pod template: {0}")]
    Hash(#[from] serde_json::Error),
}

/// The hash naming a template's ReplicaSet (stable across processes).
///
/// # Errors
/// If the template cannot be serialized.
pub fn template_hash(t: &PodTemplateSpec) -> Result<String, serde_json::Error> {
    let mut t = t.clone();
    t.metadata.labels.remove(POD_TEMPLATE_HASH_LABEL);
    Ok(short_hash(&serde_json::to_vec(&t)?))
}

fn revision(rs: &ReplicaSet) -> i64 {
    rs.metadata.annotations.get(REVISION_ANNOTATION).and_then(|r| r.parse().ok()).unwrap_or(0)
}

fn view(rs: &ReplicaSet) -> RsView {
    let st = rs.status.clone().unwrap_or_default();
    RsView {
        name: rs.metadata.name_str().to_owned(),
        spec: rs.spec.replicas.unwrap_or(1),
        existing: st.replicas,
        available: st.available_replicas.unwrap_or(0),
    }
}

/// The Deployment controller. Run it with `Controller::new(d, &informers).owns::<ReplicaSet>()`.
pub struct DeploymentController {
    store: Arc<dyn ObjectStore>,
    replica_sets: Store<ReplicaSet>,
}

impl DeploymentController {
    /// A controller using the shared ReplicaSet cache of `informers`.
    pub fn new(informers: &Informers) -> Self {
        let replica_sets = informers.store::<ReplicaSet>();
        if !replica_sets.has_index(CONTROLLER_UID_INDEX) {
            replica_sets.add_index(CONTROLLER_UID_INDEX, by_controller_uid());
        }
        DeploymentController { store: informers.object_store(), replica_sets }
    }

    fn rs_api(&self, ns: &str) -> Api<ReplicaSet> {
        Api::namespaced(self.store.clone(), ns)
    }

    /// Handles the rollback annotation; `true` when the Deployment was rewritten.
    async fn rollback(&self, d: &Deployment, owned: &[Arc<ReplicaSet>]) -> Result<bool, StoreError> {
        let Some(target) = d.metadata.annotations.get(ROLLBACK_ANNOTATION) else { return Ok(false) };
        let mut revs: Vec<&Arc<ReplicaSet>> = owned.iter().collect();
        revs.sort_by_key(|rs| std::cmp::Reverse(revision(rs)));
        let wanted = match target.parse::<i64>().unwrap_or(0) {
            0 => revs.get(1).copied(),
            n => revs.iter().find(|rs| revision(rs) == n).copied(),
        };
        let mut updated = d.clone();
        updated.metadata.annotations.remove(ROLLBACK_ANNOTATION);
        if let Some(rs) = wanted {
            updated.spec.template = rs.spec.template.clone();
            updated.spec.template.metadata.labels.remove(POD_TEMPLATE_HASH_LABEL);
        }
        Api::<Deployment>::namespaced(self.store.clone(), d.metadata.namespace_str()).update(&updated).await?;
        Ok(true)
    }

    async fn create_new_rs(&self, d: &Deployment, hash: &str, replicas: i32, rev: i64) -> Result<(), StoreError> {
        let name = format!("{}-{hash}", d.metadata.name_str());
        let mut template = d.spec.template.clone();
        template.metadata.labels.insert(POD_TEMPLATE_HASH_LABEL.into(), hash.into());
        let mut selector: LabelSelector = d.spec.selector.clone();
        selector.match_labels.insert(POD_TEMPLATE_HASH_LABEL.into(), hash.into());
        let owner = OwnerReference::controller_of(
            Deployment::api_version(),
            Deployment::KIND,
            d.metadata.name_str(),
            d.metadata.uid.clone().unwrap_or_default(),
        );
        let mut rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(name),
                namespace: d.metadata.namespace.clone(),
                labels: template.metadata.labels.clone(),
                annotations: BTreeMap::from([(REVISION_ANNOTATION.to_owned(), rev.to_string())]),
                owner_references: vec![owner],
                ..Default::default()
            },
            ..Default::default()
        };
        rs.spec.replicas = Some(replicas);
        rs.spec.min_ready_seconds = d.spec.min_ready_seconds;
        rs.spec.selector = selector;
        rs.spec.template = template;
        match self.rs_api(d.metadata.namespace_str()).create(&rs).await {
            Ok(_) | Err(StoreError::AlreadyExists { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn scale(&self, ns: &str, rs: &ReplicaSet, replicas: i32, rev: Option<i64>) -> Result<(), StoreError> {
        let mut updated = rs.clone();
        updated.spec.replicas = Some(replicas);
        if let Some(r) = rev {
            updated.metadata.annotations.insert(REVISION_ANNOTATION.into(), r.to_string());
        }
        self.rs_api(ns).update(&updated).await.map(|_| ())
    }
}

/// The status of a Deployment from its ReplicaSets; `changed` tells whether this reconcile
/// moved the rollout (which counts as progress).
fn compute_status(
    d: &Deployment,
    new: Option<&ReplicaSet>,
    all: &[Arc<ReplicaSet>],
    changed: bool,
    now: Timestamp,
) -> DeploymentStatus {
    let replicas = d.spec.replicas.unwrap_or(1);
    let sum = |f: fn(&ReplicaSet) -> i32| all.iter().map(|rs| f(rs)).sum::<i32>();
    let existing = sum(|rs| rs.status.as_ref().map_or(0, |s| s.replicas));
    let ready = sum(|rs| rs.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0));
    let available = sum(|rs| rs.status.as_ref().and_then(|s| s.available_replicas).unwrap_or(0));
    let updated = new.and_then(|rs| rs.status.as_ref()).map_or(0, |s| s.replicas);
    let prev = d.status.clone().unwrap_or_default();
    let max_unavailable = d.spec.strategy.max_unavailable(replicas);
    let mut conditions = Vec::new();
    let avail_ok = available >= replicas - max_unavailable;
    conditions.push(condition(
        &prev.conditions,
        "Available",
        if avail_ok { "True" } else { "False" },
        if avail_ok { "MinimumReplicasAvailable" } else { "MinimumReplicasUnavailable" },
        now,
        false,
    ));
    let complete = updated == replicas && existing == replicas && available == replicas;
    let progressed = changed
        || prev.updated_replicas != Some(updated)
        || prev.available_replicas != Some(available)
        || prev.ready_replicas != Some(ready);
    let deadline = Duration::from_secs(d.spec.progress_deadline_seconds.unwrap_or(600).max(0) as u64);
    let last_progress = find_condition(&prev.conditions, "Progressing").and_then(|c| c.last_update_time);
    let (status, reason, touch) = if d.spec.paused == Some(true) {
        ("Unknown", "DeploymentPaused", false)
    } else if complete {
        ("True", "NewReplicaSetAvailable", progressed)
    } else if progressed {
        ("True", "ReplicaSetUpdated", true)
    } else if last_progress.is_some_and(|t| t + deadline <= now) {
        ("False", "ProgressDeadlineExceeded", false)
    } else {
        ("True", "ReplicaSetUpdated", last_progress.is_none())
    };
    conditions.push(condition(&prev.conditions, "Progressing", status, reason, now, touch));
    DeploymentStatus {
        observed_generation: d.metadata.generation,
        replicas: Some(existing),
        updated_replicas: Some(updated),
        ready_replicas: Some(ready),
        available_replicas: Some(available),
        unavailable_replicas: Some((replicas - available).max(0)),
        conditions,
        collision_count: prev.collision_count,
    }
}

fn condition(prev: &[Condition], type_: &str, status: &str, reason: &str, now: Timestamp, touch: bool) -> Condition {
    let old = find_condition(prev, type_);
    let same = old.is_some_and(|c| c.status == status);
    Condition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: None,
        last_transition_time: if same { old.and_then(|c| c.last_transition_time) } else { Some(now) },
        last_update_time: if touch || !same { Some(now) } else { old.and_then(|c| c.last_update_time) },
        ..Default::default()
    }
}

#[async_trait]
impl Reconciler for DeploymentController {
    type Kind = Deployment;
    type Error = DeploymentError;

    fn name(&self) -> &str {
        "deployment"
    }

    async fn reconcile(&self, d: Arc<Deployment>, ctx: &ReconcileContext) -> Result<Action, DeploymentError> {
        if d.metadata.is_deleting() {
            return Ok(Action::await_change());
        }
        let ns = ctx.key.namespace_str();
        let uid = d.metadata.uid.clone().unwrap_or_default();
        let owned = self.replica_sets.by_index(CONTROLLER_UID_INDEX, &uid);
        if self.rollback(&d, &owned).await? {
            return Ok(Action::await_change());
        }
        let hash = template_hash(&d.spec.template)?;
        let is_new = |rs: &ReplicaSet| rs.metadata.labels.get(POD_TEMPLATE_HASH_LABEL) == Some(&hash);
        let new = owned.iter().find(|rs| is_new(rs)).cloned();
        let mut olds: Vec<Arc<ReplicaSet>> = owned.iter().filter(|rs| !is_new(rs)).cloned().collect();
        olds.sort_by_key(|rs| (revision(rs), rs.metadata.creation_timestamp));
        let max_rev = owned.iter().map(|rs| revision(rs)).max().unwrap_or(0);
        let replicas = d.spec.replicas.unwrap_or(1);
        let strategy = if d.spec.strategy.is_recreate() {
            Strategy::Recreate
        } else {
            Strategy::RollingUpdate {
                max_surge: d.spec.strategy.max_surge(replicas),
                max_unavailable: d.spec.strategy.max_unavailable(replicas),
            }
        };
        let old_views: Vec<RsView> = olds.iter().map(|rs| view(rs)).collect();
        let mut changed = false;
        if d.spec.paused != Some(true) {
            let new_view =
                new.as_deref().map(view).unwrap_or(RsView { name: String::new(), spec: 0, existing: 0, available: 0 });
            let plan = plan_rollout(replicas, strategy, &new_view, &old_views);
            match &new {
                None => {
                    let n = plan.iter().find(|(name, _)| name.is_empty()).map_or(0, |(_, n)| *n);
                    self.create_new_rs(&d, &hash, n, max_rev + 1).await?;
                    changed = true;
                }
                Some(rs) => {
                    let n = plan.iter().find(|(name, _)| name == rs.metadata.name_str()).map(|(_, n)| *n);
                    // A template rolled back to becomes the newest revision again.
                    let rev = (revision(rs) < max_rev).then_some(max_rev + 1);
                    if n.is_some() || rev.is_some() {
                        self.scale(ns, rs, n.unwrap_or(rs.spec.replicas.unwrap_or(1)), rev).await?;
                        changed = true;
                    }
                }
            }
            for rs in &olds {
                if let Some((_, n)) = plan.iter().find(|(name, _)| name == rs.metadata.name_str()) {
                    self.scale(ns, rs, *n, None).await?;
                    changed = true;
                }
            }
        }
        // Revision history: fully scaled-down old ReplicaSets beyond the limit go, oldest first.
        let limit = d.spec.revision_history_limit.unwrap_or(10).max(0) as usize;
        let idle: Vec<&Arc<ReplicaSet>> =
            olds.iter().filter(|rs| rs.spec.replicas == Some(0) && view(rs).existing == 0).collect();
        for rs in idle.iter().take(idle.len().saturating_sub(limit)) {
            match self.rs_api(ns).delete(rs.metadata.name_str(), &DeleteOptions::default()).await {
                Ok(_) | Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let status = compute_status(&d, new.as_deref(), &owned, changed, ctx.now);
        if d.status.as_ref() != Some(&status) {
            let mut updated = (*d).clone();
            updated.status = Some(status.clone());
            updated.metadata.resource_version = None;
            match Api::<Deployment>::namespaced(self.store.clone(), ns).update_status(&updated).await {
                Ok(_) | Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let complete = status.updated_replicas == Some(replicas) && status.available_replicas == Some(replicas);
        let progressing_ok = find_condition(&status.conditions, "Progressing").is_some_and(Condition::is_true);
        if !complete && progressing_ok && d.spec.paused != Some(true) {
            let deadline = Duration::from_secs(d.spec.progress_deadline_seconds.unwrap_or(600).max(0) as u64);
            return Ok(Action::requeue(deadline + Duration::from_secs(1)));
        }
        Ok(Action::await_change())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_hash_ignores_the_hash_label_itself() {
        let mut t = PodTemplateSpec::default();
        let h = template_hash(&t).unwrap();
        t.metadata.labels.insert(POD_TEMPLATE_HASH_LABEL.into(), h.clone());
        assert_eq!(template_hash(&t).unwrap(), h);
        t.metadata.labels.insert("app".into(), "x".into());
        assert_ne!(template_hash(&t).unwrap(), h);
    }

    #[test]
    fn progress_deadline_turns_progressing_false_without_progress() {
        let mut d = Deployment::default();
        d.spec.replicas = Some(2);
        d.spec.progress_deadline_seconds = Some(10);
        let t0 = Timestamp::from_unix(1000, 0);
        let s0 = compute_status(&d, None, &[], true, t0);
        d.status = Some(s0);
        let s1 = compute_status(&d, None, &[], false, t0 + Duration::from_secs(11));
        let p = find_condition(&s1.conditions, "Progressing").unwrap();
        assert_eq!((p.status.as_str(), p.reason.as_deref()), ("False", Some("ProgressDeadlineExceeded")));
    }
}
