//! `PodTopologySpread`: keep matching pods evenly spread over topology domains (zones, hosts).

use std::collections::HashMap;
use std::sync::Arc;

use orch_core::Selector;
use orch_core::kinds::{Pod, TopologySpreadConstraint};
use orch_core::selector::label::{Op, Requirement};

use super::node_affinity::pod_matches_node;
use crate::{
    ClusterEvent, CycleState, FilterPlugin, MAX_NODE_SCORE, NodeInfo, Plugin, PodInfo, PreFilterPlugin,
    PreFilterResult, PreScorePlugin, ScorePlugin, Snapshot, Status,
};

/// The plugin's name.
pub const POD_TOPOLOGY_SPREAD: &str = "PodTopologySpread";
/// Rejection when the skew would exceed `maxSkew`.
pub const ERR_REASON_CONSTRAINTS_NOT_MATCH: &str = "node(s) didn't match pod topology spread constraints";
/// Rejection when the node lacks a constraint's topology label.
pub const ERR_REASON_NODE_LABEL_NOT_MATCH: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";

/// Enforces `DoNotSchedule` constraints in Filter (placing the pod must not make
/// `count(domain) - min(count)` exceed `maxSkew`) and prefers less crowded domains for
/// `ScheduleAnyway` constraints in Score. Counts only nodes that pass the pod's node selector
/// and affinity (Kubernetes' default `nodeAffinityPolicy: Honor`).
#[derive(Clone, Copy, Debug, Default)]
pub struct PodTopologySpread;

impl Plugin for PodTopologySpread {
    fn name(&self) -> &str {
        POD_TOPOLOGY_SPREAD
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![
            ClusterEvent::NodeAdd,
            ClusterEvent::NodeLabelChange,
            ClusterEvent::NodeDelete,
            ClusterEvent::AssignedPodAdd,
            ClusterEvent::AssignedPodUpdate,
            ClusterEvent::AssignedPodDelete,
        ]
    }
}

struct Constraint {
    max_skew: i64,
    key: String,
    selector: Option<Selector>,
    min_domains: usize,
    self_match: i64,
}

fn parse(pod: &Pod, c: &TopologySpreadConstraint) -> Result<Constraint, String> {
    let selector = match &c.label_selector {
        None => None,
        Some(s) => {
            let base = s.to_selector().map_err(|e| format!("topologySpreadConstraints: labelSelector: {e}"))?;
            let mut reqs: Vec<Requirement> = base.requirements().to_vec();
            for k in &c.match_label_keys {
                if let Some(v) = pod.metadata.labels.get(k) {
                    reqs.push(
                        Requirement::new(k.clone(), Op::Equals, [v.clone()])
                            .map_err(|e| format!("topologySpreadConstraints: matchLabelKeys: {e}"))?,
                    );
                }
            }
            Some(Selector::new(reqs))
        }
    };
    let self_match = i64::from(selector.as_ref().is_some_and(|s| s.matches(&pod.metadata.labels)));
    Ok(Constraint {
        max_skew: i64::from(c.max_skew.max(1)),
        key: c.topology_key.clone(),
        selector,
        min_domains: c.min_domains.unwrap_or(1).max(1) as usize,
        self_match,
    })
}

fn matching_pods(c: &Constraint, ns: &str, node: &NodeInfo) -> i64 {
    let Some(sel) = &c.selector else { return 0 };
    node.pods()
        .iter()
        .filter(|p| {
            p.pod.metadata.namespace_str() == ns && !p.pod.metadata.is_deleting() && sel.matches(&p.pod.metadata.labels)
        })
        .count() as i64
}

/// Constraints of one kind with their per-domain counts over the eligible nodes.
struct Counted {
    constraints: Vec<Constraint>,
    counts: Vec<HashMap<String, i64>>,
}

fn count(pod: &PodInfo, snapshot: &Snapshot, when: &str) -> Result<Option<Counted>, String> {
    let constraints: Vec<Constraint> = pod
        .pod
        .spec
        .topology_spread_constraints
        .iter()
        .filter(|c| c.when_unsatisfiable == when)
        .map(|c| parse(&pod.pod, c))
        .collect::<Result<_, _>>()?;
    if constraints.is_empty() {
        return Ok(None);
    }
    let ns = pod.pod.metadata.namespace_str();
    let mut counts = vec![HashMap::new(); constraints.len()];
    for node in snapshot.nodes() {
        let labels = node.labels();
        if !constraints.iter().all(|c| labels.contains_key(&c.key)) || !pod_matches_node(&pod.pod, labels, node.name())
        {
            continue;
        }
        for (i, c) in constraints.iter().enumerate() {
            let domain = labels.get(&c.key).cloned().unwrap_or_default();
            *counts[i].entry(domain).or_insert(0) += matching_pods(c, ns, node);
        }
    }
    Ok(Some(Counted { constraints, counts }))
}

struct Hard(Counted, Vec<i64>);
struct Soft(Counted);

impl PreFilterPlugin for PodTopologySpread {
    fn pre_filter(&self, state: &mut CycleState, pod: &PodInfo, snapshot: &Snapshot) -> PreFilterResult {
        match count(pod, snapshot, "DoNotSchedule") {
            Err(e) => Status::unresolvable(e).into(),
            Ok(None) => Status::skip().into(),
            Ok(Some(counted)) => {
                let mins = counted
                    .constraints
                    .iter()
                    .zip(&counted.counts)
                    .map(|(c, m)| if m.len() < c.min_domains { 0 } else { m.values().copied().min().unwrap_or(0) })
                    .collect();
                state.write(Hard(counted, mins));
                Status::success().into()
            }
        }
    }
}

impl FilterPlugin for PodTopologySpread {
    fn filter(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> Status {
        let Some(Hard(counted, mins)) = state.read::<Hard>() else { return Status::success() };
        for (i, c) in counted.constraints.iter().enumerate() {
            let Some(domain) = node.labels().get(&c.key) else {
                return Status::unresolvable(ERR_REASON_NODE_LABEL_NOT_MATCH);
            };
            let here = counted.counts[i].get(domain).copied().unwrap_or(0);
            if here + c.self_match - mins[i] > c.max_skew {
                return Status::unschedulable(ERR_REASON_CONSTRAINTS_NOT_MATCH);
            }
        }
        Status::success()
    }
}

impl PreScorePlugin for PodTopologySpread {
    fn pre_score(&self, state: &mut CycleState, pod: &PodInfo, snapshot: &Snapshot, _: &[Arc<NodeInfo>]) -> Status {
        match count(pod, snapshot, "ScheduleAnyway") {
            Err(e) => Status::error(e),
            Ok(None) => Status::skip(),
            Ok(Some(counted)) => {
                state.write(Soft(counted));
                Status::success()
            }
        }
    }
}

impl ScorePlugin for PodTopologySpread {
    /// The matching pods in the node's domains (lower is better); -1 for a node lacking a key.
    fn score(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let Some(Soft(counted)) = state.read::<Soft>() else { return Ok(0) };
        let mut sum = 0;
        for (i, c) in counted.constraints.iter().enumerate() {
            let Some(domain) = node.labels().get(&c.key) else { return Ok(-1) };
            sum += counted.counts[i].get(domain).copied().unwrap_or(0);
        }
        Ok(sum)
    }

    fn normalize_scores(&self, _: &CycleState, _: &PodInfo, scores: &mut [i64]) -> Status {
        let max = scores.iter().copied().max().unwrap_or(0);
        for s in scores.iter_mut() {
            *s = match *s {
                s if s < 0 => 0,
                _ if max == 0 => MAX_NODE_SCORE,
                s => MAX_NODE_SCORE - MAX_NODE_SCORE * s / max,
            };
        }
        Status::success()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;
    use crate::plugins::testing::{info, labeled, node, on, pod, run_filter, with_labels};
    use orch_core::LabelSelector;

    fn spread(p: Pod, skew: i32, key: &str, when: &str) -> Pod {
        let mut p = p;
        p.spec.topology_spread_constraints.push(TopologySpreadConstraint {
            max_skew: skew,
            topology_key: key.into(),
            when_unsatisfiable: when.into(),
            label_selector: Some(LabelSelector {
                match_labels: [("app".to_owned(), "web".to_owned())].into(),
                ..Default::default()
            }),
            ..Default::default()
        });
        p
    }

    fn web(name: &str) -> Pod {
        with_labels(pod(name, "", ""), &[("app", "web")])
    }

    fn cluster() -> Snapshot {
        // zone a: 2 web pods; zone b: 0 web pods (1 other pod); node c has no zone label.
        Snapshot::from_nodes([
            info(
                labeled(node("a1", "4", "8Gi", "10"), &[("zone", "a")]),
                vec![on(web("w1"), "a1"), on(web("w2"), "a1")],
            ),
            info(labeled(node("b1", "4", "8Gi", "10"), &[("zone", "b")]), vec![on(pod("o", "", ""), "b1")]),
            info(node("c1", "4", "8Gi", "10"), vec![]),
        ])
    }

    #[test]
    fn filter_keeps_skew_within_max_skew() {
        let snap = cluster();
        let cases = [
            ("crowded zone", spread(web("p"), 1, "zone", "DoNotSchedule"), "a1", Code::Unschedulable),
            ("empty zone", spread(web("p"), 1, "zone", "DoNotSchedule"), "b1", Code::Success),
            ("larger skew allowed", spread(web("p"), 3, "zone", "DoNotSchedule"), "a1", Code::Success),
            ("missing label", spread(web("p"), 1, "zone", "DoNotSchedule"), "c1", Code::UnschedulableAndUnresolvable),
            ("soft constraint never filters", spread(web("p"), 1, "zone", "ScheduleAnyway"), "a1", Code::Success),
            (
                "pod outside selector adds nothing",
                spread(pod("p", "", ""), 2, "zone", "DoNotSchedule"),
                "a1",
                Code::Success,
            ),
        ];
        for (name, p, n, code) in cases {
            assert_eq!(run_filter(&PodTopologySpread, &PodInfo::new(p), &snap, n).code(), code, "{name}");
        }
    }

    #[test]
    fn soft_constraints_prefer_emptier_domains() {
        let snap = cluster();
        let p = PodInfo::new(spread(web("p"), 1, "zone", "ScheduleAnyway"));
        let mut state = CycleState::new();
        assert!(PodTopologySpread.pre_score(&mut state, &p, &snap, snap.nodes()).is_success());
        let mut scores: Vec<i64> =
            snap.nodes().iter().map(|n| PodTopologySpread.score(&state, &p, n).unwrap_or(-9)).collect();
        assert_eq!(scores, [2, 0, -1]);
        PodTopologySpread.normalize_scores(&state, &p, &mut scores);
        assert_eq!(scores, [0, 100, 0]);
    }
}
