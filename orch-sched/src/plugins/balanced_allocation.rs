//! `NodeResourcesBalancedAllocation`: prefer nodes whose CPU and memory use stay in proportion.

use super::node_resources_fit::ScoredResource;
use crate::{ClusterEvent, CycleState, MAX_NODE_SCORE, NodeInfo, Plugin, PodInfo, ScorePlugin, Status};

/// The plugin's name.
pub const NODE_RESOURCES_BALANCED_ALLOCATION: &str = "NodeResourcesBalancedAllocation";

/// Scores `(1 - stddev of the used fractions of cpu and memory) * 100`: a node where the pod
/// leaves CPU and memory equally used scores highest.
#[derive(Clone, Debug)]
pub struct NodeResourcesBalancedAllocation {
    resources: Vec<ScoredResource>,
}

impl Default for NodeResourcesBalancedAllocation {
    fn default() -> Self {
        NodeResourcesBalancedAllocation { resources: vec![ScoredResource::Cpu, ScoredResource::Memory] }
    }
}

impl Plugin for NodeResourcesBalancedAllocation {
    fn name(&self) -> &str {
        NODE_RESOURCES_BALANCED_ALLOCATION
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![ClusterEvent::NodeAdd, ClusterEvent::NodeAllocatableChange, ClusterEvent::AssignedPodDelete]
    }
}

impl ScorePlugin for NodeResourcesBalancedAllocation {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let mut fractions = [0f64; 4];
        let mut n = 0;
        for r in self.resources.iter().take(fractions.len()) {
            let (req, alloc) = r.requested_and_allocatable(pod, node);
            if alloc == 0 {
                continue;
            }
            fractions[n] = (req as f64 / alloc as f64).min(1.0);
            n += 1;
        }
        if n == 0 {
            return Ok(0);
        }
        let f = &fractions[..n];
        let std = if n == 2 {
            (f[0] - f[1]).abs() / 2.0
        } else {
            let mean = f.iter().sum::<f64>() / n as f64;
            (f.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64).sqrt()
        };
        Ok(((1.0 - std) * MAX_NODE_SCORE as f64) as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::testing::{info, node, pod};

    #[test]
    fn balanced_use_scores_higher() {
        let cases = [
            // 2 of 4 cpu, 4Gi of 8Gi: both 50% → 100.
            (pod("p", "2", "4Gi"), 100),
            // 2 of 4 cpu (50%), 0.8Gi of 8Gi (10%): std 0.2 → 80.
            (pod("p", "2", "819.2Mi"), 80),
            // 4 of 4 cpu (100%), 0 memory requested → default 200Mi (~2.4%) → ~51.
            (pod("p", "4", ""), 51),
        ];
        for (p, want) in cases {
            let s = NodeResourcesBalancedAllocation::default().score(
                &CycleState::new(),
                &PodInfo::new(p),
                &info(node("n", "4", "8Gi", "10"), vec![]),
            );
            assert_eq!(s, Ok(want));
        }
    }
}
