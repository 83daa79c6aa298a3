//! `NodeAffinity`: `nodeSelector` and required node affinity filter; preferred node affinity scores.

use std::collections::BTreeMap;
use std::sync::Arc;

use orch_core::kinds::{NodeSelectorRequirement, NodeSelectorTerm, Pod};

use crate::{
    ClusterEvent, CycleState, FilterPlugin, NodeInfo, Plugin, PodInfo, PreFilterPlugin, PreFilterResult,
    PreScorePlugin, ScorePlugin, Snapshot, Status, default_normalize_score,
};

/// The plugin's name.
pub const NODE_AFFINITY: &str = "NodeAffinity";
/// Its rejection reason.
pub const ERR_REASON_POD_NOT_MATCH_NODE_SELECTOR: &str = "node(s) didn't match Pod's node affinity/selector";

/// Whether a node with `labels` and `name` satisfies one requirement. Malformed requirements
/// (unknown operator, non-integer `Gt`/`Lt`) match nothing.
fn requirement_matches(r: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let int = |s: &str| s.parse::<i64>().ok();
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| r.values.iter().any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| !r.values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let (Some(v), [bound]) = (value.and_then(int), r.values.as_slice()) else { return false };
            let Some(bound) = int(bound) else { return false };
            if r.operator == "Gt" { v > bound } else { v < bound }
        }
        _ => false,
    }
}

/// Whether a node matches one node selector term (all requirements; an empty term matches nothing).
pub fn term_matches(term: &NodeSelectorTerm, labels: &BTreeMap<String, String>, name: &str) -> bool {
    if term.match_expressions.is_empty() && term.match_fields.is_empty() {
        return false;
    }
    term.match_expressions.iter().all(|r| requirement_matches(r, labels.get(&r.key).map(String::as_str)))
        && term.match_fields.iter().all(|r| r.key == "metadata.name" && requirement_matches(r, Some(name)))
}

/// Whether a node satisfies the pod's `nodeSelector` and required node affinity.
pub fn pod_matches_node(pod: &Pod, labels: &BTreeMap<String, String>, name: &str) -> bool {
    if !pod.spec.node_selector.iter().all(|(k, v)| labels.get(k) == Some(v)) {
        return false;
    }
    let required = pod
        .spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| n.required_during_scheduling_ignored_during_execution.as_ref());
    match required {
        None => true,
        Some(sel) => sel.node_selector_terms.iter().any(|t| term_matches(t, labels, name)),
    }
}

/// Filters nodes by the pod's `nodeSelector` and required node affinity (terms ORed, requirements
/// ANDed); scores by the summed weights of the preferred terms a node matches.
#[derive(Clone, Copy, Debug, Default)]
pub struct NodeAffinity;

impl Plugin for NodeAffinity {
    fn name(&self) -> &str {
        NODE_AFFINITY
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![ClusterEvent::NodeAdd, ClusterEvent::NodeLabelChange, ClusterEvent::UnscheduledPodUpdate]
    }
}

fn has_required(pod: &Pod) -> bool {
    !pod.spec.node_selector.is_empty()
        || pod
            .spec
            .affinity
            .as_ref()
            .and_then(|a| a.node_affinity.as_ref())
            .is_some_and(|n| n.required_during_scheduling_ignored_during_execution.is_some())
}

impl PreFilterPlugin for NodeAffinity {
    fn pre_filter(&self, _: &mut CycleState, pod: &PodInfo, _: &Snapshot) -> PreFilterResult {
        if !has_required(&pod.pod) {
            return Status::skip().into();
        }
        // Terms that only name nodes (`matchFields metadata.name In [...]`) narrow the search.
        let terms = pod
            .pod
            .spec
            .affinity
            .as_ref()
            .and_then(|a| a.node_affinity.as_ref())
            .and_then(|n| n.required_during_scheduling_ignored_during_execution.as_ref())
            .map(|s| s.node_selector_terms.as_slice())
            .unwrap_or_default();
        let names_only = !terms.is_empty()
            && terms.iter().all(|t| {
                t.match_expressions.is_empty()
                    && t.match_fields.iter().any(|f| f.key == "metadata.name" && f.operator == "In")
            });
        if names_only {
            let names = terms
                .iter()
                .flat_map(|t| t.match_fields.iter().filter(|f| f.key == "metadata.name" && f.operator == "In"))
                .flat_map(|f| f.values.iter().cloned());
            return PreFilterResult::only(names);
        }
        Status::success().into()
    }
}

impl FilterPlugin for NodeAffinity {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if pod_matches_node(&pod.pod, node.labels(), node.name()) {
            Status::success()
        } else {
            Status::unresolvable(ERR_REASON_POD_NOT_MATCH_NODE_SELECTOR)
        }
    }
}

struct Preferred(Arc<Vec<(i64, NodeSelectorTerm)>>);

impl PreScorePlugin for NodeAffinity {
    fn pre_score(&self, state: &mut CycleState, pod: &PodInfo, _: &Snapshot, _: &[Arc<NodeInfo>]) -> Status {
        let preferred: Vec<(i64, NodeSelectorTerm)> = pod
            .pod
            .spec
            .affinity
            .as_ref()
            .and_then(|a| a.node_affinity.as_ref())
            .map(|n| {
                n.preferred_during_scheduling_ignored_during_execution
                    .iter()
                    .filter(|p| p.weight != 0)
                    .map(|p| (i64::from(p.weight), p.preference.clone()))
                    .collect()
            })
            .unwrap_or_default();
        if preferred.is_empty() {
            return Status::skip();
        }
        state.write(Preferred(Arc::new(preferred)));
        Status::success()
    }
}

impl ScorePlugin for NodeAffinity {
    fn score(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let Some(Preferred(terms)) = state.read::<Preferred>() else { return Ok(0) };
        Ok(terms.iter().filter(|(_, t)| term_matches(t, node.labels(), node.name())).map(|(w, _)| *w).sum())
    }

    fn normalize_scores(&self, _: &CycleState, _: &PodInfo, scores: &mut [i64]) -> Status {
        default_normalize_score(false, scores);
        Status::success()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;
    use crate::plugins::testing::{info, labeled, node, pod, run_filter};
    use orch_core::kinds::{Affinity, NodeAffinity as NodeAffinitySpec, NodeSelector, PreferredSchedulingTerm};

    fn req(key: &str, op: &str, values: &[&str]) -> NodeSelectorRequirement {
        NodeSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: values.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn with_required(terms: Vec<NodeSelectorTerm>) -> Pod {
        let mut p = pod("p", "", "");
        p.spec.affinity = Some(Affinity {
            node_affinity: Some(NodeAffinitySpec {
                required_during_scheduling_ignored_during_execution: Some(NodeSelector { node_selector_terms: terms }),
                ..Default::default()
            }),
            ..Default::default()
        });
        p
    }

    fn expr(reqs: Vec<NodeSelectorRequirement>) -> NodeSelectorTerm {
        NodeSelectorTerm { match_expressions: reqs, ..Default::default() }
    }

    #[test]
    fn requirements_follow_kubernetes_operators() {
        let cases = [
            (req("zone", "In", &["a", "b"]), Some("a"), true),
            (req("zone", "In", &["a"]), None, false),
            (req("zone", "NotIn", &["a"]), None, true),
            (req("zone", "NotIn", &["a"]), Some("a"), false),
            (req("zone", "Exists", &[]), Some("x"), true),
            (req("zone", "DoesNotExist", &[]), Some("x"), false),
            (req("cores", "Gt", &["4"]), Some("8"), true),
            (req("cores", "Lt", &["4"]), Some("8"), false),
            (req("cores", "Gt", &["four"]), Some("8"), false),
            (req("cores", "Bogus", &[]), Some("8"), false),
        ];
        for (i, (r, v, want)) in cases.iter().enumerate() {
            assert_eq!(requirement_matches(r, *v), *want, "case {i}");
        }
    }

    #[test]
    fn filter_applies_node_selector_and_required_terms() {
        let snap = Snapshot::from_nodes([
            info(labeled(node("a", "1", "1Gi", "10"), &[("zone", "a"), ("disk", "ssd")]), vec![]),
            info(labeled(node("b", "1", "1Gi", "10"), &[("zone", "b")]), vec![]),
        ]);
        let mut selector = pod("p", "", "");
        selector.spec.node_selector.insert("disk".into(), "ssd".into());
        let cases = [
            ("no constraints", pod("p", "", ""), "b", Code::Success),
            ("selector match", selector.clone(), "a", Code::Success),
            ("selector miss", selector, "b", Code::UnschedulableAndUnresolvable),
            (
                "terms ORed",
                with_required(vec![expr(vec![req("zone", "In", &["x"])]), expr(vec![req("zone", "In", &["b"])])]),
                "b",
                Code::Success,
            ),
            (
                "reqs ANDed",
                with_required(vec![expr(vec![req("zone", "In", &["a"]), req("disk", "DoesNotExist", &[])])]),
                "a",
                Code::UnschedulableAndUnresolvable,
            ),
            ("empty term", with_required(vec![NodeSelectorTerm::default()]), "a", Code::UnschedulableAndUnresolvable),
        ];
        for (name, p, n, code) in cases {
            assert_eq!(run_filter(&NodeAffinity, &PodInfo::new(p), &snap, n).code(), code, "{name}");
        }
    }

    #[test]
    fn match_fields_on_names_narrow_prefilter() {
        let p = with_required(vec![NodeSelectorTerm {
            match_fields: vec![req("metadata.name", "In", &["b"])],
            ..Default::default()
        }]);
        let r = NodeAffinity.pre_filter(&mut CycleState::new(), &PodInfo::new(p), &Snapshot::default());
        assert_eq!(r.node_names, Some(["b".to_owned()].into()));
    }

    #[test]
    fn preferred_terms_score_by_weight() {
        let mut p = pod("p", "", "");
        p.spec.affinity = Some(Affinity {
            node_affinity: Some(NodeAffinitySpec {
                preferred_during_scheduling_ignored_during_execution: vec![
                    PreferredSchedulingTerm { weight: 10, preference: expr(vec![req("zone", "In", &["a"])]) },
                    PreferredSchedulingTerm { weight: 30, preference: expr(vec![req("disk", "In", &["ssd"])]) },
                ],
                ..Default::default()
            }),
            ..Default::default()
        });
        let p = PodInfo::new(p);
        let nodes = [
            Arc::new(info(labeled(node("a", "1", "1Gi", "10"), &[("zone", "a"), ("disk", "ssd")]), vec![])),
            Arc::new(info(labeled(node("b", "1", "1Gi", "10"), &[("disk", "ssd")]), vec![])),
            Arc::new(info(node("c", "1", "1Gi", "10"), vec![])),
        ];
        let mut state = CycleState::new();
        assert!(NodeAffinity.pre_score(&mut state, &p, &Snapshot::default(), &nodes).is_success());
        let mut scores: Vec<i64> = nodes.iter().map(|n| NodeAffinity.score(&state, &p, n).unwrap_or(-1)).collect();
        assert_eq!(scores, [40, 30, 0]);
        NodeAffinity.normalize_scores(&state, &p, &mut scores);
        assert_eq!(scores, [100, 75, 0]);
    }
}
