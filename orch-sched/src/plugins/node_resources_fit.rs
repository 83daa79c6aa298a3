//! `NodeResourcesFit`: requests against allocatable (and pod slots); LeastAllocated or MostAllocated scoring.

use serde::Deserialize;

use crate::{
    ClusterEvent, CycleState, FilterPlugin, MAX_NODE_SCORE, NodeInfo, Plugin, PodInfo, SchedError, ScorePlugin, Status,
};

/// The plugin's name.
pub const NODE_RESOURCES_FIT: &str = "NodeResourcesFit";

/// How nodes are ranked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub enum ScoringStrategyType {
    /// Prefer nodes with the most free resources (spreads pods).
    #[default]
    LeastAllocated,
    /// Prefer nodes with the least free resources (packs pods; bin packing).
    MostAllocated,
}

/// A resource and its weight in the score.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ResourceSpec {
    /// `cpu`, `memory`, or an extended resource.
    pub name: String,
    /// Weight (default 1).
    #[serde(default = "one")]
    pub weight: i64,
}

fn one() -> i64 {
    1
}

/// Scoring configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoringStrategy {
    /// Strategy (`LeastAllocated` by default).
    #[serde(default, rename = "type")]
    pub type_: ScoringStrategyType,
    /// Resources scored (cpu and memory, weight 1, by default).
    #[serde(default = "default_resources")]
    pub resources: Vec<ResourceSpec>,
}

fn default_resources() -> Vec<ResourceSpec> {
    vec![ResourceSpec { name: "cpu".into(), weight: 1 }, ResourceSpec { name: "memory".into(), weight: 1 }]
}

impl Default for ScoringStrategy {
    fn default() -> Self {
        ScoringStrategy { type_: ScoringStrategyType::LeastAllocated, resources: default_resources() }
    }
}

/// Args, as in Kubernetes' `NodeResourcesFitArgs`:
/// `{"scoringStrategy": {"type": "MostAllocated", "resources": [{"name": "cpu", "weight": 1}]}}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeResourcesFitArgs {
    /// Scoring.
    #[serde(default)]
    pub scoring_strategy: ScoringStrategy,
    /// Extended resources the filter ignores.
    #[serde(default)]
    pub ignored_resources: Vec<String>,
}

/// Filters out nodes whose free resources (allocatable minus the requests of their pods) cannot
/// hold the pod's requests, or that have no pod slot left; scores the rest by how allocated they
/// would be.
#[derive(Clone, Debug)]
pub struct NodeResourcesFit {
    args: NodeResourcesFitArgs,
    /// The scored resources with their weights, resolved once from the args.
    scored: Vec<(ScoredResource, i64)>,
}

impl Default for NodeResourcesFit {
    fn default() -> Self {
        NodeResourcesFit::new(NodeResourcesFitArgs::default())
    }
}

impl NodeResourcesFit {
    /// The plugin with `args`.
    pub fn new(args: NodeResourcesFitArgs) -> Self {
        let scored = args.scoring_strategy.resources.iter().map(|r| (ScoredResource::new(&r.name), r.weight)).collect();
        NodeResourcesFit { args, scored }
    }

    /// Parses args from the profile's JSON (`null` means defaults).
    ///
    /// # Errors
    /// [`SchedError::InvalidArgs`] naming what does not parse, or a weight below 1.
    pub fn from_json(args: &serde_json::Value) -> Result<Self, SchedError> {
        let invalid = |reason: String| SchedError::InvalidArgs { plugin: NODE_RESOURCES_FIT.into(), reason };
        let args: NodeResourcesFitArgs = if args.is_null() {
            Default::default()
        } else {
            serde_json::from_value(args.clone()).map_err(|e| invalid(e.to_string()))?
        };
        if let Some(r) = args.scoring_strategy.resources.iter().find(|r| r.weight < 1) {
            return Err(invalid(format!("scoringStrategy.resources[{}].weight must be at least 1", r.name)));
        }
        Ok(NodeResourcesFit::new(args))
    }
}

impl Plugin for NodeResourcesFit {
    fn name(&self) -> &str {
        NODE_RESOURCES_FIT
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![
            ClusterEvent::NodeAdd,
            ClusterEvent::NodeAllocatableChange,
            ClusterEvent::AssignedPodDelete,
            ClusterEvent::UnscheduledPodUpdate,
        ]
    }
}

impl NodeResourcesFit {
    /// Why `pod` does not fit on `node` (empty when it fits).
    fn insufficient(&self, pod: &PodInfo, node: &NodeInfo) -> Vec<std::borrow::Cow<'static, str>> {
        let (alloc, used, want) = (node.allocatable(), node.requested(), &pod.requests);
        let mut reasons: Vec<std::borrow::Cow<'static, str>> = Vec::new();
        if node.pods().len() as i64 + 1 > alloc.pods {
            reasons.push("Too many pods".into());
        }
        if want.milli_cpu > 0 && want.milli_cpu > alloc.milli_cpu - used.milli_cpu {
            reasons.push("Insufficient cpu".into());
        }
        if want.memory > 0 && want.memory > alloc.memory - used.memory {
            reasons.push("Insufficient memory".into());
        }
        if want.ephemeral_storage > 0 && want.ephemeral_storage > alloc.ephemeral_storage - used.ephemeral_storage {
            reasons.push("Insufficient ephemeral-storage".into());
        }
        for (name, v) in &want.scalar {
            if *v == 0 || self.args.ignored_resources.contains(name) {
                continue;
            }
            let free = alloc.scalar.get(name).copied().unwrap_or(0) - used.scalar.get(name).copied().unwrap_or(0);
            if *v > free {
                reasons.push(format!("Insufficient {name}").into());
            }
        }
        reasons
    }
}

impl FilterPlugin for NodeResourcesFit {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let (alloc, used, want) = (node.allocatable(), node.requested(), &pod.requests);
        // Most nodes fit: decide that with plain comparisons, and gather reasons only if not.
        let fits = (node.pods().len() as i64) < alloc.pods
            && want.milli_cpu <= (alloc.milli_cpu - used.milli_cpu).max(0)
            && want.memory <= (alloc.memory - used.memory).max(0)
            && want.ephemeral_storage <= (alloc.ephemeral_storage - used.ephemeral_storage).max(0)
            && want.scalar.is_empty();
        if fits {
            return Status::success();
        }
        let reasons = self.insufficient(pod, node);
        if reasons.is_empty() { Status::success() } else { Status::new(crate::Code::Unschedulable, reasons) }
    }
}

/// A resource that scoring reads, resolved from its name once (Score runs per node).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ScoredResource {
    Cpu,
    Memory,
    EphemeralStorage,
    Scalar(String),
}

impl ScoredResource {
    pub(crate) fn new(name: &str) -> Self {
        match name {
            "cpu" => ScoredResource::Cpu,
            "memory" => ScoredResource::Memory,
            "ephemeral-storage" => ScoredResource::EphemeralStorage,
            other => ScoredResource::Scalar(other.to_owned()),
        }
    }

    /// Requested (with the pod) and allocatable amounts of this resource on `node`, as scoring
    /// sees them (CPU and memory count request-less containers at the defaults).
    pub(crate) fn requested_and_allocatable(&self, pod: &PodInfo, node: &NodeInfo) -> (i64, i64) {
        let alloc = node.allocatable();
        match self {
            ScoredResource::Cpu => (node.non_zero_requested().0 + pod.non_zero.0, alloc.milli_cpu),
            ScoredResource::Memory => (node.non_zero_requested().1 + pod.non_zero.1, alloc.memory),
            ScoredResource::EphemeralStorage => {
                (node.requested().ephemeral_storage + pod.requests.ephemeral_storage, alloc.ephemeral_storage)
            }
            ScoredResource::Scalar(name) => (
                node.requested().scalar.get(name).copied().unwrap_or(0)
                    + pod.requests.scalar.get(name).copied().unwrap_or(0),
                alloc.scalar.get(name).copied().unwrap_or(0),
            ),
        }
    }
}

impl ScorePlugin for NodeResourcesFit {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let (mut total, mut weights) = (0i64, 0i64);
        for (resource, weight) in &self.scored {
            let (requested, allocatable) = resource.requested_and_allocatable(pod, node);
            if allocatable == 0 {
                continue;
            }
            let s = match self.args.scoring_strategy.type_ {
                ScoringStrategyType::LeastAllocated if requested > allocatable => 0,
                ScoringStrategyType::LeastAllocated => (allocatable - requested) * MAX_NODE_SCORE / allocatable,
                ScoringStrategyType::MostAllocated => requested.min(allocatable) * MAX_NODE_SCORE / allocatable,
            };
            total += s * weight;
            weights += weight;
        }
        Ok(if weights == 0 { 0 } else { total / weights })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;
    use crate::plugins::testing::{info, node, on, pod};

    #[test]
    fn filter_compares_requests_with_free_resources_and_pod_slots() {
        let cases = [
            ("fits", pod("p", "500m", "1Gi"), vec![], "2", Code::Success, vec![]),
            (
                "cpu",
                pod("p", "3", "1Gi"),
                vec![on(pod("a", "1500m", ""), "n")],
                "5",
                Code::Unschedulable,
                vec!["Insufficient cpu"],
            ),
            ("memory", pod("p", "1", "5Gi"), vec![], "5", Code::Unschedulable, vec!["Insufficient memory"]),
            (
                "both",
                pod("p", "3", "5Gi"),
                vec![on(pod("a", "2", ""), "n")],
                "5",
                Code::Unschedulable,
                vec!["Insufficient cpu", "Insufficient memory"],
            ),
            (
                "slots",
                pod("p", "", ""),
                vec![on(pod("a", "", ""), "n")],
                "1",
                Code::Unschedulable,
                vec!["Too many pods"],
            ),
            (
                "zero request ignores cpu",
                pod("p", "", ""),
                vec![on(pod("a", "2", ""), "n")],
                "5",
                Code::Success,
                vec![],
            ),
            ("exactly full", pod("p", "1", "4Gi"), vec![on(pod("a", "1", ""), "n")], "5", Code::Success, vec![]),
        ];
        for (name, p, pods, slots, code, reasons) in cases {
            let n = info(node("n", "2", "4Gi", slots), pods);
            let s = NodeResourcesFit::default().filter(&CycleState::new(), &PodInfo::new(p), &n);
            assert_eq!(s.code(), code, "{name}");
            assert_eq!(s.reasons(), reasons.as_slice(), "{name}");
        }
    }

    #[test]
    fn extended_resources_are_checked_unless_ignored() {
        let mut p = pod("p", "", "");
        p.spec.containers[0].resources.requests.insert("example.com/gpu".into(), "1".into());
        let p = PodInfo::new(p);
        let n = info(node("n", "2", "4Gi", "5"), vec![]);
        let s = NodeResourcesFit::default().filter(&CycleState::new(), &p, &n);
        assert_eq!(s.reasons(), ["Insufficient example.com/gpu"]);
        let ignoring =
            NodeResourcesFit::from_json(&serde_json::json!({"ignoredResources": ["example.com/gpu"]})).unwrap();
        assert!(ignoring.filter(&CycleState::new(), &p, &n).is_success());
    }

    #[test]
    fn least_and_most_allocated_scores() {
        // Node 4 cpu / 8Gi with 1 cpu / 2Gi used; the pod asks 1 cpu / 2Gi → 50% used after.
        let n = info(node("n", "4", "8Gi", "10"), vec![on(pod("a", "1", "2Gi"), "n")]);
        let p = PodInfo::new(pod("p", "1", "2Gi"));
        let cases = [("LeastAllocated", 50), ("MostAllocated", 50)];
        for (strategy, want) in cases {
            let plugin =
                NodeResourcesFit::from_json(&serde_json::json!({"scoringStrategy": {"type": strategy}})).unwrap();
            assert_eq!(plugin.score(&CycleState::new(), &p, &n), Ok(want), "{strategy}");
        }
        let empty = info(node("e", "4", "8Gi", "10"), vec![]);
        let least = NodeResourcesFit::default();
        let most =
            NodeResourcesFit::from_json(&serde_json::json!({"scoringStrategy": {"type": "MostAllocated"}})).unwrap();
        assert_eq!(least.score(&CycleState::new(), &p, &empty), Ok(75));
        assert_eq!(most.score(&CycleState::new(), &p, &empty), Ok(25));
    }

    #[test]
    fn bad_args_are_rejected_with_the_plugin_named() {
        for bad in [
            serde_json::json!({"scoringStrategy": {"type": "Nope"}}),
            serde_json::json!({"scoringStrategy": {"resources": [{"name": "cpu", "weight": 0}]}}),
        ] {
            assert!(
                matches!(NodeResourcesFit::from_json(&bad), Err(SchedError::InvalidArgs { plugin, .. }) if plugin == NODE_RESOURCES_FIT)
            );
        }
    }
}
