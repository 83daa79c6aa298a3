//! Writes back what the scheduler decided: `PodScheduled=False` on pods it cannot place, the
//! nominated node, and the evictions of preemption victims.

use std::sync::Arc;

use futures::FutureExt;
use orch_core::StoreError;
use orch_core::kinds::{Condition, Pod};
use orch_core::store::{Api, DeleteOptions};

use super::Inner;
use crate::PodInfo;

async fn set_unschedulable(
    inner: Arc<Inner>,
    ns: String,
    name: String,
    reason: &'static str,
    message: String,
    nominated: Option<String>,
) {
    let api: Api<Pod> = Api::namespaced(inner.store.clone(), &ns);
    for _ in 0..3 {
        let Ok(mut pod) = api.get(&name).await else { return };
        if pod.spec.node_name.as_deref().is_some_and(|n| !n.is_empty()) {
            return;
        }
        let now = inner.clock.now();
        let conds = &mut pod.status.conditions;
        let existing = conds.iter_mut().find(|c| c.type_ == "PodScheduled");
        let same = existing.as_ref().is_some_and(|c| {
            c.status == "False" && c.message.as_deref() == Some(message.as_str()) && c.reason.as_deref() == Some(reason)
        });
        if same && (nominated.is_none() || pod.status.nominated_node_name == nominated) {
            return;
        }
        let cond = Condition {
            type_: "PodScheduled".into(),
            status: "False".into(),
            reason: Some(reason.into()),
            message: Some(message.clone()),
            last_transition_time: Some(now),
            ..Default::default()
        };
        match existing {
            Some(c) => {
                let transition = if c.status == "False" { c.last_transition_time } else { Some(now) };
                *c = Condition { last_transition_time: transition, ..cond };
            }
            None => conds.push(cond),
        }
        if nominated.is_some() {
            pod.status.nominated_node_name = nominated.clone();
        }
        match api.update_status(&pod).await {
            Err(StoreError::Conflict { .. }) => continue,
            _ => return,
        }
    }
}

/// Records on the pod why it was not placed (in the background).
pub(crate) fn spawn_unschedulable(
    inner: &Arc<Inner>,
    pod: &PodInfo,
    reason: &'static str,
    message: String,
    nominated: Option<String>,
) {
    if !inner.config.report_unschedulable {
        return;
    }
    let ns = pod.pod.metadata.namespace_str().to_owned();
    let name = pod.pod.metadata.name_str().to_owned();
    let task = set_unschedulable(inner.clone(), ns, name, reason, message, nominated);
    inner.spawn.spawn_boxed("scheduler-pod-status", task.boxed());
}

/// Evicts preemption victims (in the background).
pub(crate) fn spawn_preemption(inner: &Arc<Inner>, victims: Vec<Arc<PodInfo>>) {
    if victims.is_empty() {
        return;
    }
    let store = inner.store.clone();
    let opts =
        DeleteOptions { grace_period_seconds: inner.config.preemption_grace_period_seconds, ..Default::default() };
    let task = async move {
        for v in victims {
            let _ = store.evict(v.pod.metadata.namespace_str(), v.pod.metadata.name_str(), &opts).await;
        }
    };
    inner.spawn.spawn_boxed("scheduler-preemption", task.boxed());
}
