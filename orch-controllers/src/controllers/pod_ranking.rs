//! Which pods a ReplicaSet deletes first when it scales down, and pod availability.

use std::time::Duration;

use orch_core::Timestamp;
use orch_core::kinds::{Pod, find_condition};

/// Sort key: smaller is deleted first. Unscheduled before scheduled, pending before running,
/// not ready before ready, recently ready before long ready, then newest first.
fn rank(p: &Pod) -> (u8, u8, u8, std::cmp::Reverse<Option<Timestamp>>, std::cmp::Reverse<Option<Timestamp>>) {
    let assigned = u8::from(p.spec.node_name.as_deref().is_some_and(|n| !n.is_empty()));
    let phase = match p.status.phase.as_deref() {
        Some("Pending") | None => 0,
        Some("Running") => 2,
        _ => 1,
    };
    let ready = u8::from(p.is_ready());
    let ready_since = find_condition(&p.status.conditions, "Ready").and_then(|c| c.last_transition_time);
    (assigned, phase, ready, std::cmp::Reverse(ready_since), std::cmp::Reverse(p.metadata.creation_timestamp))
}

/// The `n` pods to delete first (stable for equal ranks: by name).
///
/// ```
/// use orch_controllers::controllers::pod_ranking::pods_to_delete;
/// use orch_core::{ObjectMeta, kinds::Pod};
/// let mut bound = Pod { metadata: ObjectMeta::named("bound"), ..Default::default() };
/// bound.spec.node_name = Some("n1".into());
/// let unbound = Pod { metadata: ObjectMeta::named("unbound"), ..Default::default() };
/// let victims = pods_to_delete(vec![&bound, &unbound], 1);
/// assert_eq!(victims[0].metadata.name_str(), "unbound");
/// ```
pub fn pods_to_delete(mut pods: Vec<&Pod>, n: usize) -> Vec<&Pod> {
    pods.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.metadata.name.cmp(&b.metadata.name)));
    pods.truncate(n);
    pods
}

/// Whether the pod counts as a live replica (not terminating, not finished).
pub fn is_active(p: &Pod) -> bool {
    !p.metadata.is_deleting() && !p.is_terminal()
}

/// Whether the pod has been ready for `min_ready` by `now`; else when it will be, if it is ready.
pub fn availability(p: &Pod, min_ready: Duration, now: Timestamp) -> Result<(), Option<Timestamp>> {
    if !p.is_ready() {
        return Err(None);
    }
    if min_ready.is_zero() {
        return Ok(());
    }
    let since = find_condition(&p.status.conditions, "Ready").and_then(|c| c.last_transition_time);
    match since {
        Some(t) if t + min_ready > now => Err(Some(t + min_ready)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orch_core::ObjectMeta;
    use orch_core::kinds::Condition;

    fn pod(name: &str, bound: bool, ready: bool, created: i64) -> Pod {
        let mut p = Pod { metadata: ObjectMeta::named(name), ..Default::default() };
        p.metadata.creation_timestamp = Some(Timestamp::from_unix(created, 0));
        if bound {
            p.spec.node_name = Some("n".into());
            p.status.phase = Some("Running".into());
        }
        if ready {
            p.status.conditions.push(Condition::new("Ready", true));
        }
        p
    }

    #[test]
    fn deletion_prefers_unscheduled_then_not_ready_then_newest() {
        let (old_ready, new_ready) = (pod("old-ready", true, true, 1), pod("new-ready", true, true, 5));
        let (not_ready, unbound) = (pod("not-ready", true, false, 0), pod("unbound", false, false, 0));
        let order: Vec<&str> = pods_to_delete(vec![&old_ready, &new_ready, &not_ready, &unbound], 4)
            .into_iter()
            .map(|p| p.metadata.name_str())
            .collect();
        assert_eq!(order, ["unbound", "not-ready", "new-ready", "old-ready"]);
    }
}
