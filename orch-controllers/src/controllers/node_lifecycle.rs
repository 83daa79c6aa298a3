//! `NodeLifecycleController`: nodes whose Lease goes stale become Unknown and tainted; their pods
//! are marked not ready at once and evicted after their toleration.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use orch_core::kinds::{Condition, Lease, Node, Pod, Taint, find_condition};
use orch_core::store::DeleteOptions;
use orch_core::{Api, ObjectStore, StoreError, Timestamp};

use crate::index::{NODE_NAME_INDEX, by_node_name};
use crate::{Action, Controller, Informers, ObjectKey, ReconcileContext, Reconciler, Store};

/// The taint of a node whose agent stopped reporting.
pub const UNREACHABLE_TAINT: &str = "node.kubernetes.io/unreachable";

/// Settings of the node lifecycle controller (Kubernetes' defaults).
#[derive(Clone, Debug)]
pub struct NodeLifecycleConfig {
    /// A lease not renewed for this long makes the node unreachable (40 s).
    pub grace_period: Duration,
    /// How long pods without their own toleration stay on an unreachable node (300 s).
    pub default_toleration: Duration,
    /// Namespace of the node leases.
    pub lease_namespace: String,
}

impl Default for NodeLifecycleConfig {
    fn default() -> Self {
        NodeLifecycleConfig {
            grace_period: Duration::from_secs(40),
            default_toleration: Duration::from_secs(300),
            lease_namespace: "kube-node-lease".into(),
        }
    }
}

/// How long `pod` may stay on a node with `taint`: `None` forever, else the toleration.
pub fn toleration_for(pod: &Pod, taint: &Taint, default: Duration) -> Option<Duration> {
    let matching: Vec<_> = pod.spec.tolerations.iter().filter(|t| t.tolerates(taint)).collect();
    if matching.is_empty() {
        return Some(default);
    }
    if matching.iter().any(|t| t.toleration_seconds.is_none()) {
        return None;
    }
    matching.iter().filter_map(|t| t.toleration_seconds).max().map(|s| Duration::from_secs(s.max(0) as u64))
}

/// The node lifecycle controller; build it with [`NodeLifecycleController::controller`].
pub struct NodeLifecycleController {
    store: Arc<dyn ObjectStore>,
    leases: Store<Lease>,
    pods: Store<Pod>,
    config: NodeLifecycleConfig,
    /// Per node: the last renewTime seen and when (by our clock) it was first seen.
    observed: Mutex<BTreeMap<String, (Option<Timestamp>, Timestamp)>>,
}

impl NodeLifecycleController {
    /// A controller over the shared caches of `informers`.
    pub fn new(informers: &Informers, config: NodeLifecycleConfig) -> Self {
        let pods = informers.store::<Pod>();
        if !pods.has_index(NODE_NAME_INDEX) {
            pods.add_index(NODE_NAME_INDEX, by_node_name());
        }
        NodeLifecycleController {
            store: informers.object_store(),
            leases: informers.store::<Lease>(),
            pods,
            config,
            observed: Mutex::new(BTreeMap::new()),
        }
    }

    /// The controller with its triggers: a node lease renewal and a pod bound to a node queue the node.
    pub fn controller(informers: &Informers, config: NodeLifecycleConfig) -> Controller<Self> {
        let ns = config.lease_namespace.clone();
        Controller::new(Self::new(informers, config), informers)
            .watches::<Lease>(move |l: &Lease| {
                if l.metadata.namespace_str() == ns { vec![ObjectKey::cluster(l.metadata.name_str())] } else { vec![] }
            })
            .watches::<Pod>(|p: &Pod| p.spec.node_name.iter().map(ObjectKey::cluster).collect())
    }

    /// When the node's lease was last seen to change.
    fn last_heartbeat(&self, node: &str, now: Timestamp) -> Timestamp {
        let key = ObjectKey::namespaced(self.config.lease_namespace.clone(), node);
        let renew = self.leases.get(&key).and_then(|l| l.spec.renew_time);
        let mut obs = self.observed.lock().unwrap_or_else(|e| e.into_inner());
        match obs.get(node) {
            Some((r, at)) if *r == renew => *at,
            _ => {
                obs.insert(node.to_owned(), (renew, now));
                now
            }
        }
    }

    async fn set_taint(&self, node: &Node, taint: Option<Taint>) -> Result<(), StoreError> {
        let mut updated = node.clone();
        updated.spec.taints.retain(|t| t.key != UNREACHABLE_TAINT);
        // NoExecute evicts what runs there; NoSchedule keeps new pods away (Kubernetes taints
        // an unreachable node with both), so a replacement is never placed on the lost node.
        if let Some(t) = taint {
            updated.spec.taints.push(Taint { effect: "NoSchedule".into(), ..t.clone() });
            updated.spec.taints.push(t);
        }
        Api::<Node>::all(self.store.clone()).update(&updated).await.map(|_| ())
    }

    async fn mark_unknown(&self, node: &Node, now: Timestamp) -> Result<(), StoreError> {
        if find_condition(&node.status.conditions, "Ready").is_some_and(|c| c.status == "Unknown") {
            return Ok(());
        }
        let mut updated = node.clone();
        updated.status.conditions.retain(|c| c.type_ != "Ready");
        updated.status.conditions.push(Condition {
            type_: "Ready".into(),
            status: "Unknown".into(),
            reason: Some("NodeStatusUnknown".into()),
            message: Some("the node agent stopped renewing its lease".into()),
            last_transition_time: Some(now),
            ..Default::default()
        });
        updated.metadata.resource_version = None;
        Api::<Node>::all(self.store.clone()).update_status(&updated).await.map(|_| ())
    }
}

impl NodeLifecycleController {
    /// Sets `Ready=False` on the pods of an unreachable node that still claim to be ready, so
    /// Services stop sending them traffic long before they are evicted (Kubernetes'
    /// MarkPodsNotReady). A pod changed meanwhile is retried at the next check.
    ///
    /// Only pods that were Ready before the node became unreachable (`since`) are marked: a pod
    /// whose agent reported it Ready again afterwards is left alone, so the controller and a
    /// returning agent never overwrite each other in a loop.
    async fn mark_pods_not_ready(&self, node: &str, since: Timestamp, now: Timestamp) -> Result<(), StoreError> {
        for pod in self.pods.by_index(NODE_NAME_INDEX, node) {
            if !pod.is_ready() || pod.metadata.is_deleting() {
                continue;
            }
            let ready_at = find_condition(&pod.status.conditions, "Ready").and_then(|c| c.last_transition_time);
            if ready_at.is_some_and(|t| t >= since) {
                continue;
            }
            let mut updated = (*pod).clone();
            for c in updated.status.conditions.iter_mut().filter(|c| c.type_ == "Ready") {
                c.status = "False".into();
                c.reason = Some("NodeNotReady".into());
                c.message = Some(format!("node {node} is unreachable"));
                c.last_transition_time = Some(now);
            }
            let api: Api<Pod> = Api::namespaced(self.store.clone(), pod.metadata.namespace_str());
            match api.update_status(&updated).await {
                Ok(_) | Err(StoreError::NotFound { .. } | StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Reconciler for NodeLifecycleController {
    type Kind = Node;
    type Error = StoreError;

    fn name(&self) -> &str {
        "node-lifecycle"
    }

    async fn reconcile(&self, node: Arc<Node>, ctx: &ReconcileContext) -> Result<Action, StoreError> {
        let name = node.metadata.name_str();
        let now = ctx.now;
        let expires = self.last_heartbeat(name, now) + self.config.grace_period;
        let taint = node.spec.taints.iter().find(|t| t.key == UNREACHABLE_TAINT && t.effect == "NoExecute").cloned();
        if now < expires {
            if taint.is_some() {
                self.set_taint(&node, None).await?;
            }
            return Ok(Action::requeue(expires.saturating_duration_since(now)));
        }
        let Some(taint) = taint else {
            let t =
                Taint { key: UNREACHABLE_TAINT.into(), value: None, effect: "NoExecute".into(), time_added: Some(now) };
            self.set_taint(&node, Some(t)).await?;
            self.mark_unknown(&node, now).await?;
            return Ok(Action::await_change()); // the taint write queues the node again
        };
        self.mark_unknown(&node, now).await?;
        let since = taint.time_added.unwrap_or(now);
        self.mark_pods_not_ready(name, since, now).await?;
        let mut next: Option<Timestamp> = None;
        for pod in self.pods.by_index(NODE_NAME_INDEX, name) {
            if pod.metadata.is_deleting() && pod.metadata.deletion_grace_period_seconds == Some(0) {
                continue;
            }
            let Some(tolerate) = toleration_for(&pod, &taint, self.config.default_toleration) else { continue };
            // The countdown starts at the taint, or for a pod that came later (bound before the
            // scheduler saw the taint) at its creation, as Kubernetes' taint manager starts it
            // when it first sees the pod: a newcomer never goes at once.
            let start = pod.metadata.creation_timestamp.map_or(since, |created| created.max(since));
            let at = start + tolerate;
            if at <= now {
                // The agent is unreachable and cannot finish a graceful deletion: delete at once.
                let api: Api<Pod> = Api::namespaced(self.store.clone(), pod.metadata.namespace_str());
                match api.delete(pod.metadata.name_str(), &DeleteOptions::default().grace_period(0)).await {
                    Ok(_) | Err(StoreError::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
            } else {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
        let recheck = self.config.grace_period / 4;
        Ok(match next {
            Some(at) => Action::requeue(at.saturating_duration_since(now).min(recheck)),
            None => Action::requeue(recheck),
        })
    }

    async fn reconcile_missing(&self, ctx: &ReconcileContext) -> Result<Action, StoreError> {
        self.observed.lock().unwrap_or_else(|e| e.into_inner()).remove(&ctx.key.name);
        Ok(Action::await_change())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orch_core::kinds::Toleration;

    fn taint() -> Taint {
        Taint { key: UNREACHABLE_TAINT.into(), value: None, effect: "NoExecute".into(), time_added: None }
    }

    #[test]
    fn pods_without_a_matching_toleration_get_the_default() {
        let d = Duration::from_secs(300);
        let mut pod = Pod::default();
        assert_eq!(toleration_for(&pod, &taint(), d), Some(d));
        pod.spec.tolerations.push(Toleration {
            key: Some(UNREACHABLE_TAINT.into()),
            operator: Some("Exists".into()),
            effect: Some("NoExecute".into()),
            toleration_seconds: Some(30),
            ..Default::default()
        });
        assert_eq!(toleration_for(&pod, &taint(), d), Some(Duration::from_secs(30)));
        pod.spec.tolerations[0].toleration_seconds = None;
        assert_eq!(toleration_for(&pod, &taint(), d), None);
    }
}
