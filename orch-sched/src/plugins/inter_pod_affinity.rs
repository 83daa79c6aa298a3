//! `InterPodAffinity`: required pod affinity/anti-affinity filter (both directions); preferred terms score.

use std::collections::HashMap;
use std::sync::Arc;

use crate::{
    ClusterEvent, CycleState, FilterPlugin, MAX_NODE_SCORE, NodeInfo, Plugin, PodInfo, PreFilterPlugin,
    PreFilterResult, PreScorePlugin, ScorePlugin, Snapshot, Status,
};

/// The plugin's name.
pub const INTER_POD_AFFINITY: &str = "InterPodAffinity";
/// Rejection: the pod's required affinity is not met.
pub const ERR_REASON_AFFINITY_RULES_NOT_MATCH: &str = "node(s) didn't match pod affinity rules";
/// Rejection: the pod's required anti-affinity is violated.
pub const ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH: &str = "node(s) didn't match pod anti-affinity rules";
/// Rejection: an existing pod's required anti-affinity would be violated.
pub const ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH: &str =
    "node(s) didn't satisfy existing pods anti-affinity rules";

/// Counts per topology key and value (`zone` → `a` → 3).
type TopologyCounts = HashMap<String, HashMap<String, i64>>;

fn bump(m: &mut TopologyCounts, node: &NodeInfo, key: &str, by: i64) {
    if let Some(v) = node.labels().get(key) {
        *m.entry(key.to_owned()).or_default().entry(v.clone()).or_insert(0) += by;
    }
}

fn get(m: &TopologyCounts, node: &NodeInfo, key: &str) -> i64 {
    node.labels().get(key).and_then(|v| m.get(key).and_then(|vals| vals.get(v))).copied().unwrap_or(0)
}

/// Enforces required pod affinity (the node's domain must hold a matching pod), required pod
/// anti-affinity (it must hold none), and existing pods' required anti-affinity against the
/// incoming pod; scores preferred terms of the pod and, symmetrically, of existing pods.
///
/// Terms select pods by label in the listed namespaces (default: the pod's own); an empty
/// `namespaceSelector` means all namespaces. A non-empty `namespaceSelector` selects no
/// additional namespace (namespace labels are not consulted).
#[derive(Clone, Copy, Debug, Default)]
pub struct InterPodAffinity;

impl Plugin for InterPodAffinity {
    fn name(&self) -> &str {
        INTER_POD_AFFINITY
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![
            ClusterEvent::NodeAdd,
            ClusterEvent::NodeLabelChange,
            ClusterEvent::AssignedPodAdd,
            ClusterEvent::AssignedPodUpdate,
            ClusterEvent::AssignedPodDelete,
        ]
    }
}

#[derive(Default)]
struct Required {
    existing_anti: TopologyCounts,
    affinity: TopologyCounts,
    anti: TopologyCounts,
}

impl PreFilterPlugin for InterPodAffinity {
    fn pre_filter(&self, state: &mut CycleState, pod: &PodInfo, snapshot: &Snapshot) -> PreFilterResult {
        if !pod.parse_errors.is_empty() {
            return Status::unresolvable(format!("invalid pod affinity: {}", pod.parse_errors.join("; "))).into();
        }
        let own_terms = !pod.required_affinity.is_empty() || !pod.required_anti_affinity.is_empty();
        if !own_terms && snapshot.pods_with_required_anti_affinity() == 0 {
            return Status::skip().into();
        }
        let mut r = Required::default();
        for node in snapshot.nodes() {
            if node.pods_with_required_anti_affinity() > 0 {
                for existing in node.pods().iter().filter(|p| !p.required_anti_affinity.is_empty()) {
                    for term in existing.required_anti_affinity.iter().filter(|t| t.matches(&pod.pod)) {
                        bump(&mut r.existing_anti, node, &term.topology_key, 1);
                    }
                }
            }
            if !own_terms {
                continue;
            }
            for existing in node.pods() {
                if !pod.required_affinity.is_empty() && pod.required_affinity.iter().all(|t| t.matches(&existing.pod)) {
                    for term in &pod.required_affinity {
                        bump(&mut r.affinity, node, &term.topology_key, 1);
                    }
                }
                for term in pod.required_anti_affinity.iter().filter(|t| t.matches(&existing.pod)) {
                    bump(&mut r.anti, node, &term.topology_key, 1);
                }
            }
        }
        state.write(r);
        Status::success().into()
    }
}

impl FilterPlugin for InterPodAffinity {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let Some(r) = state.read::<Required>() else { return Status::success() };
        let labels = node.labels();
        if r.existing_anti.iter().any(|(k, vals)| labels.get(k).is_some_and(|v| vals.get(v).is_some_and(|c| *c > 0))) {
            return Status::unschedulable(ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH);
        }
        if pod.required_anti_affinity.iter().any(|t| get(&r.anti, node, &t.topology_key) > 0) {
            return Status::unschedulable(ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH);
        }
        if !pod.required_affinity.is_empty() {
            let satisfied = pod.required_affinity.iter().all(|t| get(&r.affinity, node, &t.topology_key) > 0);
            // The first pod of a group that selects itself may go anywhere the keys exist.
            let first_of_group = r.affinity.is_empty()
                && pod.required_affinity.iter().all(|t| t.matches(&pod.pod) && labels.contains_key(&t.topology_key));
            if !satisfied && !first_of_group {
                return Status::unresolvable(ERR_REASON_AFFINITY_RULES_NOT_MATCH);
            }
        }
        Status::success()
    }
}

struct Preferred(TopologyCounts);

impl PreScorePlugin for InterPodAffinity {
    fn pre_score(&self, state: &mut CycleState, pod: &PodInfo, snapshot: &Snapshot, _: &[Arc<NodeInfo>]) -> Status {
        let own = !pod.preferred_affinity.is_empty() || !pod.preferred_anti_affinity.is_empty();
        if !own && snapshot.pods_with_affinity() == 0 {
            return Status::skip();
        }
        let mut scores = TopologyCounts::new();
        for node in snapshot.nodes() {
            if !own && node.pods_with_affinity() == 0 {
                continue;
            }
            for existing in node.pods() {
                for w in pod.preferred_affinity.iter().filter(|w| w.term.matches(&existing.pod)) {
                    bump(&mut scores, node, &w.term.topology_key, w.weight);
                }
                for w in pod.preferred_anti_affinity.iter().filter(|w| w.term.matches(&existing.pod)) {
                    bump(&mut scores, node, &w.term.topology_key, -w.weight);
                }
                if !existing.has_affinity() {
                    continue;
                }
                for w in existing.preferred_affinity.iter().filter(|w| w.term.matches(&pod.pod)) {
                    bump(&mut scores, node, &w.term.topology_key, w.weight);
                }
                for w in existing.preferred_anti_affinity.iter().filter(|w| w.term.matches(&pod.pod)) {
                    bump(&mut scores, node, &w.term.topology_key, -w.weight);
                }
                for t in existing.required_affinity.iter().filter(|t| t.matches(&pod.pod)) {
                    bump(&mut scores, node, &t.topology_key, 1);
                }
            }
        }
        if scores.is_empty() {
            return Status::skip();
        }
        state.write(Preferred(scores));
        Status::success()
    }
}

impl ScorePlugin for InterPodAffinity {
    fn score(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let Some(Preferred(m)) = state.read::<Preferred>() else { return Ok(0) };
        Ok(m.keys().map(|k| get(m, node, k)).sum())
    }

    fn normalize_scores(&self, _: &CycleState, _: &PodInfo, scores: &mut [i64]) -> Status {
        let (min, max) = (scores.iter().copied().min().unwrap_or(0), scores.iter().copied().max().unwrap_or(0));
        for s in scores.iter_mut() {
            *s = if max > min { MAX_NODE_SCORE * (*s - min) / (max - min) } else { 0 };
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
    use orch_core::kinds::{Affinity, Pod, PodAffinity, PodAffinityTerm, WeightedPodAffinityTerm};

    fn term(app: &str, key: &str) -> PodAffinityTerm {
        PodAffinityTerm {
            label_selector: Some(LabelSelector {
                match_labels: [("app".to_owned(), app.to_owned())].into(),
                ..Default::default()
            }),
            topology_key: key.into(),
            ..Default::default()
        }
    }

    fn affinity(p: Pod, app: &str, key: &str) -> Pod {
        let mut p = p;
        let a = p.spec.affinity.get_or_insert_with(Affinity::default);
        a.pod_affinity
            .get_or_insert_with(PodAffinity::default)
            .required_during_scheduling_ignored_during_execution
            .push(term(app, key));
        p
    }

    fn anti(p: Pod, app: &str, key: &str) -> Pod {
        let mut p = p;
        let a = p.spec.affinity.get_or_insert_with(Affinity::default);
        a.pod_anti_affinity
            .get_or_insert_with(PodAffinity::default)
            .required_during_scheduling_ignored_during_execution
            .push(term(app, key));
        p
    }

    fn app(name: &str, app: &str) -> Pod {
        with_labels(pod(name, "", ""), &[("app", app)])
    }

    fn cluster(extra_on_b: Vec<Arc<PodInfo>>) -> Snapshot {
        let n = |name: &str, zone: &str| labeled(node(name, "4", "8Gi", "10"), &[("zone", zone), ("host", name)]);
        Snapshot::from_nodes([
            info(n("a1", "a"), vec![on(app("db1", "db"), "a1")]),
            info(n("a2", "a"), vec![]),
            info(n("b1", "b"), extra_on_b),
        ])
    }

    #[test]
    fn required_affinity_and_anti_affinity_are_enforced_per_domain() {
        let snap = cluster(vec![]);
        let cases = [
            ("affinity: same zone as db", affinity(app("p", "web"), "db", "zone"), "a2", Code::Success),
            ("affinity: other zone", affinity(app("p", "web"), "db", "zone"), "b1", Code::UnschedulableAndUnresolvable),
            (
                "affinity: host granularity",
                affinity(app("p", "web"), "db", "host"),
                "a2",
                Code::UnschedulableAndUnresolvable,
            ),
            ("affinity: first of its group", affinity(app("p", "web"), "web", "zone"), "b1", Code::Success),
            ("anti: zone with db", anti(app("p", "web"), "db", "zone"), "a2", Code::Unschedulable),
            ("anti: zone without db", anti(app("p", "web"), "db", "zone"), "b1", Code::Success),
        ];
        for (name, p, n, code) in cases {
            assert_eq!(run_filter(&InterPodAffinity, &PodInfo::new(p), &snap, n).code(), code, "{name}");
        }
    }

    #[test]
    fn existing_pods_anti_affinity_repels_incoming_pod() {
        let snap = cluster(vec![on(anti(app("guard", "guard"), "web", "zone"), "b1")]);
        let web = PodInfo::new(app("p", "web"));
        assert_eq!(run_filter(&InterPodAffinity, &web, &snap, "b1").code(), Code::Unschedulable);
        assert_eq!(run_filter(&InterPodAffinity, &web, &snap, "a1").code(), Code::Success);
        let other = PodInfo::new(app("q", "other"));
        assert_eq!(run_filter(&InterPodAffinity, &other, &snap, "b1").code(), Code::Success);
    }

    #[test]
    fn preferred_terms_score_domains() {
        let snap = cluster(vec![]);
        let mut p = app("p", "web");
        p.spec.affinity = Some(Affinity {
            pod_affinity: Some(PodAffinity {
                preferred_during_scheduling_ignored_during_execution: vec![WeightedPodAffinityTerm {
                    weight: 50,
                    pod_affinity_term: term("db", "zone"),
                }],
                ..Default::default()
            }),
            ..Default::default()
        });
        let p = PodInfo::new(p);
        let mut state = CycleState::new();
        assert!(InterPodAffinity.pre_score(&mut state, &p, &snap, snap.nodes()).is_success());
        let mut scores: Vec<i64> =
            snap.nodes().iter().map(|n| InterPodAffinity.score(&state, &p, n).unwrap_or(-1)).collect();
        assert_eq!(scores, [50, 50, 0]);
        InterPodAffinity.normalize_scores(&state, &p, &mut scores);
        assert_eq!(scores, [100, 100, 0]);
    }
}
