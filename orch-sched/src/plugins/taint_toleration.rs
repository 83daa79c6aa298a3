//! `TaintToleration`: untolerated NoSchedule/NoExecute taints filter; PreferNoSchedule taints score down.

use crate::{
    ClusterEvent, CycleState, FilterPlugin, NodeInfo, Plugin, PodInfo, ScorePlugin, Status, default_normalize_score,
};

/// The plugin's name.
pub const TAINT_TOLERATION: &str = "TaintToleration";

/// Rejects nodes with a `NoSchedule` or `NoExecute` taint the pod does not tolerate; prefers
/// nodes with fewer untolerated `PreferNoSchedule` taints.
#[derive(Clone, Copy, Debug, Default)]
pub struct TaintToleration;

impl Plugin for TaintToleration {
    fn name(&self) -> &str {
        TAINT_TOLERATION
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![ClusterEvent::NodeAdd, ClusterEvent::NodeTaintChange, ClusterEvent::UnscheduledPodUpdate]
    }
}

impl FilterPlugin for TaintToleration {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let tolerations = &pod.pod.spec.tolerations;
        let untolerated = node.taints().iter().find(|t| {
            (t.effect == "NoSchedule" || t.effect == "NoExecute") && !tolerations.iter().any(|tol| tol.tolerates(t))
        });
        match untolerated {
            None => Status::success(),
            Some(t) => Status::unresolvable(format!(
                "node(s) had untolerated taint {{{}: {}}}",
                t.key,
                t.value.as_deref().unwrap_or("")
            )),
        }
    }
}

impl ScorePlugin for TaintToleration {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        // A toleration whose effect is set to another one never tolerates a PreferNoSchedule
        // taint, so every toleration can be asked as it is (Kubernetes filters them first).
        let tolerations = &pod.pod.spec.tolerations;
        Ok(node
            .taints()
            .iter()
            .filter(|t| t.effect == "PreferNoSchedule" && !tolerations.iter().any(|tol| tol.tolerates(t)))
            .count() as i64)
    }

    fn normalize_scores(&self, _: &CycleState, _: &PodInfo, scores: &mut [i64]) -> Status {
        default_normalize_score(true, scores);
        Status::success()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;
    use crate::plugins::testing::{info, node, pod, tainted, tolerating};

    #[test]
    fn filter_rejects_untolerated_hard_taints() {
        let cases = [
            ("no taint", node("n", "1", "1Gi", "9"), pod("p", "", ""), Code::Success, None),
            (
                "NoSchedule",
                tainted(node("n", "1", "1Gi", "9"), "gpu", "true", "NoSchedule"),
                pod("p", "", ""),
                Code::UnschedulableAndUnresolvable,
                Some("node(s) had untolerated taint {gpu: true}"),
            ),
            (
                "NoExecute",
                tainted(node("n", "1", "1Gi", "9"), "bad", "x", "NoExecute"),
                pod("p", "", ""),
                Code::UnschedulableAndUnresolvable,
                Some("node(s) had untolerated taint {bad: x}"),
            ),
            (
                "tolerated",
                tainted(node("n", "1", "1Gi", "9"), "gpu", "true", "NoSchedule"),
                tolerating(pod("p", "", ""), "gpu", "NoSchedule"),
                Code::Success,
                None,
            ),
            (
                "soft taint passes",
                tainted(node("n", "1", "1Gi", "9"), "meh", "x", "PreferNoSchedule"),
                pod("p", "", ""),
                Code::Success,
                None,
            ),
        ];
        for (name, n, p, code, reason) in cases {
            let s = TaintToleration.filter(&CycleState::new(), &PodInfo::new(p), &info(n, vec![]));
            assert_eq!(s.code(), code, "{name}");
            assert_eq!(s.reasons().first().map(|r| r.as_ref()), reason, "{name}");
        }
    }

    #[test]
    fn fewer_untolerated_soft_taints_score_higher() {
        let nodes = [
            info(node("a", "1", "1Gi", "9"), vec![]),
            info(tainted(node("b", "1", "1Gi", "9"), "x", "1", "PreferNoSchedule"), vec![]),
            info(
                tainted(
                    tainted(node("c", "1", "1Gi", "9"), "x", "1", "PreferNoSchedule"),
                    "y",
                    "1",
                    "PreferNoSchedule",
                ),
                vec![],
            ),
        ];
        let p = PodInfo::new(tolerating(pod("p", "", ""), "y", "PreferNoSchedule"));
        let mut scores: Vec<i64> =
            nodes.iter().map(|n| TaintToleration.score(&CycleState::new(), &p, n).unwrap_or(-1)).collect();
        assert_eq!(scores, [0, 1, 1]);
        TaintToleration.normalize_scores(&CycleState::new(), &p, &mut scores);
        assert_eq!(scores, [100, 0, 0]);
    }
}
