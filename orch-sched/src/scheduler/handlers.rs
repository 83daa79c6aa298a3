//! Watch events into the cache and the queue, and the cluster events that retry unschedulable pods.

use std::collections::HashSet;
use std::sync::Arc;

use orch_core::kinds::{Node, Pod};
use orch_core::{DynamicObject, Resource};

use super::informer::{Change, Kind};
use super::{Inner, lock};
use crate::{ClusterEvent, DEFAULT_SCHEDULER_NAME, PodInfo};

fn decode<K: Resource>(inner: &Inner, obj: &DynamicObject) -> Option<K> {
    match obj.to_typed::<K>() {
        Ok(k) => Some(k),
        Err(_) => {
            lock(&inner.stats).decode_errors += 1;
            None
        }
    }
}

/// The events a node change implies.
fn node_events(old: Option<&Node>, new: &Node) -> Vec<ClusterEvent> {
    let Some(old) = old else { return vec![ClusterEvent::NodeAdd] };
    let mut e = Vec::new();
    if old.metadata.labels != new.metadata.labels {
        e.push(ClusterEvent::NodeLabelChange);
    }
    if old.spec.taints != new.spec.taints {
        e.push(ClusterEvent::NodeTaintChange);
    }
    if old.status.allocatable != new.status.allocatable || old.status.capacity != new.status.capacity {
        e.push(ClusterEvent::NodeAllocatableChange);
    }
    if old.spec.unschedulable != new.spec.unschedulable {
        e.push(ClusterEvent::NodeSchedulableChange);
    }
    if old.status.images != new.status.images {
        e.push(ClusterEvent::NodeImageChange);
    }
    e
}

/// Moves unschedulable pods that a plugin which rejected them cares about.
pub(crate) fn move_on(inner: &Inner, events: &[ClusterEvent]) {
    if events.is_empty() {
        return;
    }
    let now = inner.clock.now();
    let moved = lock(&inner.queue).move_on_event(now, |info| {
        inner
            .framework_for(info)
            .is_none_or(|fw| events.iter().any(|e| fw.is_interested(*e, &info.unschedulable_plugins)))
    });
    if moved > 0 {
        inner.wake.notify();
    }
}

fn upsert_node(inner: &Inner, node: Node) -> Vec<ClusterEvent> {
    let new = Arc::new(node);
    let old = lock(&inner.cache).add_node(new.clone());
    node_events(old.as_deref(), &new)
}

fn upsert_bound_pod(inner: &Inner, pod: Pod) -> ClusterEvent {
    let info = Arc::new(PodInfo::new(pod));
    lock(&inner.queue).delete(&info.key);
    let mut cache = lock(&inner.cache);
    let known = cache.contains_pod(&info.key) && !cache.is_assumed(&info.key);
    cache.add_pod(info);
    if known { ClusterEvent::AssignedPodUpdate } else { ClusterEvent::AssignedPodAdd }
}

fn upsert_pending_pod(inner: &Inner, pod: Pod) {
    let key = format!("{}/{}", pod.metadata.namespace_str(), pod.metadata.name_str());
    if pod.metadata.is_deleting() {
        lock(&inner.queue).delete(&key);
        lock(&inner.cache).remove_nomination(&key);
        return;
    }
    let name = pod.spec.scheduler_name.as_deref().unwrap_or(DEFAULT_SCHEDULER_NAME);
    let Some(fw) = inner.frameworks.get(name) else { return };
    if lock(&inner.cache).is_assumed(&key) {
        return;
    }
    let info = Arc::new(PodInfo::new(pod));
    lock(&inner.cache).update_nomination(info.clone());
    let gate = fw.run_pre_enqueue(&info);
    let now = inner.clock.now();
    {
        let mut q = lock(&inner.queue);
        if gate.is_success() {
            q.add(info, now);
        } else {
            q.add_gated(info, gate.plugin().unwrap_or("PreEnqueue"), now);
        }
    }
    inner.wake.notify();
}

fn delete_pending_pod(inner: &Inner, obj: &DynamicObject) {
    let key = format!("{}/{}", obj.namespace(), obj.name());
    lock(&inner.queue).delete(&key);
    lock(&inner.cache).remove_nomination(&key);
    for fw in inner.frameworks.values() {
        fw.waiting_pods().reject(&key, "Scheduler", "the pod was deleted");
    }
}

fn key_of(o: &DynamicObject) -> String {
    format!("{}/{}", o.namespace(), o.name())
}

fn is_bound(o: &DynamicObject) -> bool {
    o.spec().and_then(|s| s.get("nodeName")).and_then(|n| n.as_str()).is_some_and(|n| !n.is_empty())
}

/// Applies one watch change.
pub(crate) fn apply(inner: &Inner, kind: Kind, change: Change) {
    match (kind, change) {
        (Kind::Nodes, Change::Upsert(o)) => {
            if let Some(node) = decode::<Node>(inner, &o) {
                let events = upsert_node(inner, node);
                move_on(inner, &events);
            }
        }
        (Kind::Nodes, Change::Delete(o)) => {
            lock(&inner.cache).remove_node(o.name());
            move_on(inner, &[ClusterEvent::NodeDelete]);
        }
        (Kind::Pods, Change::Upsert(o)) => {
            let Some(pod) = decode::<Pod>(inner, &o) else { return };
            if is_bound(&o) {
                let event = upsert_bound_pod(inner, pod);
                move_on(inner, &[event]);
            } else {
                upsert_pending_pod(inner, pod);
            }
        }
        (Kind::Pods, Change::Delete(o)) => {
            if is_bound(&o) {
                lock(&inner.cache).remove_pod(&key_of(&o));
                move_on(inner, &[ClusterEvent::AssignedPodDelete]);
            } else {
                delete_pending_pod(inner, &o);
            }
        }
    }
}

/// Applies a full list: everything listed is upserted, everything known but not listed removed.
pub(crate) fn replace(inner: &Inner, kind: Kind, items: Vec<DynamicObject>) {
    match kind {
        Kind::Nodes => {
            let listed: HashSet<&str> = items.iter().map(|o| o.name()).collect();
            let known = lock(&inner.cache).node_names();
            for name in known.into_iter().filter(|n| !listed.contains(n.as_str())) {
                lock(&inner.cache).remove_node(&name);
            }
            for o in &items {
                if let Some(node) = decode::<Node>(inner, o) {
                    upsert_node(inner, node);
                }
            }
            move_on(inner, &[ClusterEvent::NodeAdd, ClusterEvent::NodeDelete]);
        }
        Kind::Pods => {
            let (bound, pending): (Vec<&DynamicObject>, Vec<&DynamicObject>) = items.iter().partition(|o| is_bound(o));
            let listed_bound: HashSet<String> = bound.iter().map(|o| key_of(o)).collect();
            let listed_pending: HashSet<String> = pending.iter().map(|o| key_of(o)).collect();
            let known = lock(&inner.cache).bound_pod_keys();
            for key in known.into_iter().filter(|k| !listed_bound.contains(k)) {
                lock(&inner.cache).remove_pod(&key);
            }
            let queued = lock(&inner.queue).keys();
            for key in queued.into_iter().filter(|k| !listed_pending.contains(k)) {
                lock(&inner.queue).delete(&key);
            }
            lock(&inner.cache).retain_nominations(|k| listed_pending.contains(k));
            for o in bound {
                if let Some(pod) = decode::<Pod>(inner, o) {
                    upsert_bound_pod(inner, pod);
                }
            }
            for o in pending {
                if let Some(pod) = decode::<Pod>(inner, o) {
                    upsert_pending_pod(inner, pod);
                }
            }
            move_on(inner, &[ClusterEvent::AssignedPodAdd, ClusterEvent::AssignedPodDelete]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orch_core::ObjectMeta;
    use orch_core::kinds::Taint;

    #[test]
    fn node_changes_map_to_cluster_events() {
        let base = Node { metadata: ObjectMeta::named("n"), ..Default::default() };
        let mut labeled = base.clone();
        labeled.metadata.labels.insert("a".into(), "b".into());
        let mut tainted = base.clone();
        tainted.spec.taints.push(Taint { key: "k".into(), value: None, effect: "NoSchedule".into(), time_added: None });
        let mut cordoned = base.clone();
        cordoned.spec.unschedulable = Some(true);
        let mut heartbeat = base.clone();
        heartbeat.status.conditions.push(orch_core::kinds::Condition::new("Ready", true));
        let cases = [
            (None, base.clone(), vec![ClusterEvent::NodeAdd]),
            (Some(&base), labeled, vec![ClusterEvent::NodeLabelChange]),
            (Some(&base), tainted, vec![ClusterEvent::NodeTaintChange]),
            (Some(&base), cordoned, vec![ClusterEvent::NodeSchedulableChange]),
            (Some(&base), heartbeat, vec![]),
        ];
        for (old, new, want) in cases {
            assert_eq!(node_events(old, &new), want);
        }
    }
}
