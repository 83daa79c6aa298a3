//! `NodeUnschedulable`: cordoned nodes take only pods that tolerate the unschedulable taint.

use orch_core::kinds::Taint;

use crate::{ClusterEvent, CycleState, FilterPlugin, NodeInfo, Plugin, PodInfo, Status};

/// Rejects nodes with `spec.unschedulable: true` unless the pod tolerates
/// `node.kubernetes.io/unschedulable:NoSchedule`.
#[derive(Clone, Copy, Debug, Default)]
pub struct NodeUnschedulable;

/// The plugin's name.
pub const NODE_UNSCHEDULABLE: &str = "NodeUnschedulable";
/// Its rejection reason.
pub const ERR_REASON_UNSCHEDULABLE: &str = "node(s) were unschedulable";
/// The taint key a cordoned node implies.
pub const TAINT_NODE_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";

impl Plugin for NodeUnschedulable {
    fn name(&self) -> &str {
        NODE_UNSCHEDULABLE
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![ClusterEvent::NodeAdd, ClusterEvent::NodeSchedulableChange]
    }
}

impl FilterPlugin for NodeUnschedulable {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if !node.unschedulable() {
            return Status::success();
        }
        let taint =
            Taint { key: TAINT_NODE_UNSCHEDULABLE.into(), value: None, effect: "NoSchedule".into(), time_added: None };
        if pod.pod.spec.tolerations.iter().any(|t| t.tolerates(&taint)) {
            Status::success()
        } else {
            Status::unresolvable(ERR_REASON_UNSCHEDULABLE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;
    use crate::plugins::testing::{info, node, pod, tolerating};

    #[test]
    fn cordoned_node_rejects_pods_without_toleration() {
        let cases = [
            (false, pod("p", "", ""), Code::Success),
            (true, pod("p", "", ""), Code::UnschedulableAndUnresolvable),
            (true, tolerating(pod("p", "", ""), TAINT_NODE_UNSCHEDULABLE, "NoSchedule"), Code::Success),
        ];
        for (i, (cordoned, p, code)) in cases.into_iter().enumerate() {
            let mut n = node("n", "1", "1Gi", "10");
            n.spec.unschedulable = Some(cordoned);
            let s = NodeUnschedulable.filter(&CycleState::new(), &PodInfo::new(p), &info(n, vec![]));
            assert_eq!(s.code(), code, "case {i}");
        }
    }
}
