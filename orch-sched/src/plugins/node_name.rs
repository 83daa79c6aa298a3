//! `NodeName`: a pod that names a node fits only there.

use crate::{ClusterEvent, CycleState, FilterPlugin, NodeInfo, Plugin, PodInfo, Status};

/// Rejects every node but the one in `spec.nodeName`, when the pod names one.
#[derive(Clone, Copy, Debug, Default)]
pub struct NodeName;

/// The plugin's name.
pub const NODE_NAME: &str = "NodeName";
/// Its rejection reason.
pub const ERR_REASON_NODE_NAME: &str = "node(s) didn't match the requested node name";

impl Plugin for NodeName {
    fn name(&self) -> &str {
        NODE_NAME
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![ClusterEvent::NodeAdd]
    }
}

impl FilterPlugin for NodeName {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        match pod.node_name() {
            Some(want) if want != node.name() => Status::unresolvable(ERR_REASON_NODE_NAME),
            _ => Status::success(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;
    use crate::plugins::testing::{info, node, pod};

    #[test]
    fn only_the_named_node_fits() {
        let cases =
            [(None, Code::Success), (Some("n1"), Code::Success), (Some("n2"), Code::UnschedulableAndUnresolvable)];
        for (want_node, code) in cases {
            let mut p = pod("p", "", "");
            p.spec.node_name = want_node.map(str::to_owned);
            let s = NodeName.filter(&CycleState::new(), &PodInfo::new(p), &info(node("n1", "1", "1Gi", "10"), vec![]));
            assert_eq!(s.code(), code, "{want_node:?}");
        }
    }
}
