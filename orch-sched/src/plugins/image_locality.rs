//! `ImageLocality`: prefer nodes that already have the pod's images (weighted by how widespread).

use std::sync::Arc;

use crate::cache::normalize_image_name;
use crate::{
    ClusterEvent, CycleState, MAX_NODE_SCORE, NodeInfo, Plugin, PodInfo, PreScorePlugin, ScorePlugin, Snapshot, Status,
};

/// The plugin's name.
pub const IMAGE_LOCALITY: &str = "ImageLocality";
const MB: i64 = 1024 * 1024;
/// Below this much image data present, the score is 0 (Kubernetes' 23 MB).
pub const MIN_THRESHOLD: i64 = 23 * MB;
/// Per container, this much image data present gives the full score (Kubernetes' 1000 MB).
pub const MAX_CONTAINER_THRESHOLD: i64 = 1000 * MB;

/// Scores a node by the total size of the pod's images already on it, each scaled by the share
/// of nodes that have it (so an image everywhere does not pull every pod to one node).
#[derive(Clone, Copy, Debug, Default)]
pub struct ImageLocality;

impl Plugin for ImageLocality {
    fn name(&self) -> &str {
        IMAGE_LOCALITY
    }
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        vec![ClusterEvent::NodeAdd, ClusterEvent::NodeImageChange]
    }
}

struct Images {
    total_nodes: usize,
    containers: usize,
    /// Normalized image name and the number of nodes that have it.
    images: Vec<(String, usize)>,
}

impl PreScorePlugin for ImageLocality {
    fn pre_score(&self, state: &mut CycleState, pod: &PodInfo, snapshot: &Snapshot, _: &[Arc<NodeInfo>]) -> Status {
        let spec = &pod.pod.spec;
        let images: Vec<(String, usize)> = spec
            .init_containers
            .iter()
            .chain(&spec.containers)
            .map(|c| normalize_image_name(&c.image))
            .map(|name| {
                let n = snapshot.nodes_with_image(&name);
                (name, n)
            })
            .filter(|(_, n)| *n > 0)
            .collect();
        if images.is_empty() {
            return Status::skip();
        }
        state.write(Images {
            total_nodes: snapshot.len(),
            containers: spec.init_containers.len() + spec.containers.len(),
            images,
        });
        Status::success()
    }
}

impl ScorePlugin for ImageLocality {
    fn score(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let Some(s) = state.read::<Images>() else { return Ok(0) };
        let total = s.total_nodes.max(1) as f64;
        let sum: f64 = s
            .images
            .iter()
            .filter_map(|(name, spread)| node.images().get(name).map(|size| *size as f64 * (*spread as f64 / total)))
            .sum();
        let max = MAX_CONTAINER_THRESHOLD * s.containers.max(1) as i64;
        let sum = (sum as i64).clamp(MIN_THRESHOLD, max);
        Ok(MAX_NODE_SCORE * (sum - MIN_THRESHOLD) / (max - MIN_THRESHOLD))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::testing::{info, node, pod};
    use orch_core::kinds::{ContainerImage, Node};

    fn with_image(mut n: Node, name: &str, mb: i64) -> Node {
        n.status.images.push(ContainerImage { names: vec![name.into()], size_bytes: Some(mb * MB) });
        n
    }

    #[test]
    fn nodes_with_big_widespread_images_score_higher() {
        let snap = Snapshot::from_nodes([
            info(with_image(node("a", "1", "1Gi", "9"), "app:v1", 523), vec![]),
            info(with_image(node("b", "1", "1Gi", "9"), "app:v1", 523), vec![]),
            info(with_image(node("c", "1", "1Gi", "9"), "other", 900), vec![]),
            info(node("d", "1", "1Gi", "9"), vec![]),
        ]);
        let mut p = pod("p", "", "");
        p.spec.containers[0].image = "app:v1".into();
        let p = PodInfo::new(p);
        let mut state = CycleState::new();
        assert!(ImageLocality.pre_score(&mut state, &p, &snap, snap.nodes()).is_success());
        let scores: Vec<i64> = snap.nodes().iter().map(|n| ImageLocality.score(&state, &p, n).unwrap_or(-1)).collect();
        // 523 MB * 2/4 = 261.5 MB → (261.5 - 23) / (1000 - 23) → 24.
        assert_eq!(scores, [24, 24, 0, 0]);
    }

    #[test]
    fn pod_without_present_images_skips_scoring() {
        let snap = Snapshot::from_nodes([info(node("a", "1", "1Gi", "9"), vec![])]);
        let s = ImageLocality.pre_score(&mut CycleState::new(), &PodInfo::new(pod("p", "", "")), &snap, snap.nodes());
        assert!(s.is_skip());
    }
}
