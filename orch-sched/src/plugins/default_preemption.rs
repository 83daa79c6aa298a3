//! `DefaultPreemption`: when no node fits, find the node where evicting the fewest, least
//! important lower-priority pods makes room.

use std::sync::Arc;

use crate::{
    Code, CycleState, Diagnosis, FilterRunner, NodeInfo, Nominator, Plugin, PodInfo, PostFilterPlugin,
    PostFilterResult, Snapshot, Status,
};

/// The plugin's name.
pub const DEFAULT_PREEMPTION: &str = "DefaultPreemption";

/// Preemption as in Kubernetes' default plugin, as a pure decision:
///
/// 1. Only nodes rejected as `Unschedulable` (not `UnschedulableAndUnresolvable`) are candidates.
/// 2. On each, remove every pod of lower priority than the preemptor (pods other preemptors of
///    equal or higher priority are [nominated](crate::Nominator) to there stay counted); if the
///    preemptor still does not pass Filter, the node is no candidate. Otherwise add the removed pods back, most
///    important first, keeping each one that still leaves room (reprieve): the rest are victims.
/// 3. Pick the node whose most important victim has the lowest priority, then the smallest sum
///    of victim priorities, then the fewest victims, then the first by name.
///
/// Pods of equal or higher priority are never victims. The scheduler evicts the victims and
/// records the node in the pod's `status.nominatedNodeName`.
#[derive(Clone, Debug)]
pub struct DefaultPreemption {
    /// Stop after this many candidate nodes (Kubernetes examines at least 10% / 100 nodes).
    pub max_candidates: usize,
}

impl Default for DefaultPreemption {
    fn default() -> Self {
        DefaultPreemption { max_candidates: 100 }
    }
}

impl Plugin for DefaultPreemption {
    fn name(&self) -> &str {
        DEFAULT_PREEMPTION
    }
}

struct Candidate {
    node: String,
    victims: Vec<Arc<PodInfo>>,
}

impl Candidate {
    fn rank(&self) -> (i64, i64, usize) {
        let highest = self.victims.iter().map(|v| i64::from(v.priority)).max().unwrap_or(i64::MIN);
        let sum: i64 = self.victims.iter().map(|v| i64::from(v.priority) + i64::from(i32::MAX) + 1).sum();
        (highest, sum, self.victims.len())
    }
}

fn victims_on(
    state: &CycleState,
    pod: &PodInfo,
    node: &NodeInfo,
    nominated: &Nominator,
    filters: &dyn FilterRunner,
) -> Option<Vec<Arc<PodInfo>>> {
    let mut trial = node.clone();
    // Room already promised to other preemptors of equal or higher priority stays taken.
    for p in nominated.blocking(pod, node.name()) {
        trial.add_pod(p.clone());
    }
    let mut lower: Vec<Arc<PodInfo>> = node.pods().iter().filter(|p| p.priority < pod.priority).cloned().collect();
    if lower.is_empty() {
        return None;
    }
    for p in &lower {
        trial.remove_pod(&p.key);
    }
    if !filters.run_filters(state, pod, &trial).is_success() {
        return None;
    }
    // Most important first: higher priority, then the older pod.
    lower.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then_with(|| a.pod.metadata.creation_timestamp.cmp(&b.pod.metadata.creation_timestamp))
    });
    let mut victims = Vec::new();
    for p in lower {
        trial.add_pod(p.clone());
        if !filters.run_filters(state, pod, &trial).is_success() {
            trial.remove_pod(&p.key);
            victims.push(p);
        }
    }
    Some(victims)
}

impl PostFilterPlugin for DefaultPreemption {
    fn post_filter(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        diagnosis: &Diagnosis,
        filters: &dyn FilterRunner,
    ) -> PostFilterResult {
        let fail = |msg: &'static str| PostFilterResult { status: Status::unschedulable(msg), ..Default::default() };
        if pod.pod.metadata.is_deleting() {
            return fail("preemption: the pod is being deleted");
        }
        let mut candidates = Vec::new();
        for node in snapshot.nodes() {
            let Some(status) = diagnosis.node_statuses.get(node.name()) else { continue };
            if status.code() != Code::Unschedulable {
                continue;
            }
            if let Some(victims) = victims_on(state, pod, node, snapshot.nominated(), filters) {
                candidates.push(Candidate { node: node.name().to_owned(), victims });
                if candidates.len() >= self.max_candidates {
                    break;
                }
            }
        }
        let Some(best) =
            candidates.into_iter().min_by(|a, b| a.rank().cmp(&b.rank()).then_with(|| a.node.cmp(&b.node)))
        else {
            return fail("preemption: no node where evicting lower-priority pods makes room");
        };
        PostFilterResult { status: Status::success(), nominated_node: Some(best.node), victims: best.victims }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FilterPlugin;
    use crate::plugins::NodeResourcesFit;
    use crate::plugins::testing::{info, node, on, pod};

    struct Fit;
    impl FilterRunner for Fit {
        fn run_filters(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
            NodeResourcesFit::default().filter(state, pod, node)
        }
    }

    fn prio(p: orch_core::kinds::Pod, priority: i32) -> orch_core::kinds::Pod {
        let mut p = p;
        p.spec.priority = Some(priority);
        p
    }

    fn diagnose(snap: &Snapshot, pod: &PodInfo) -> Diagnosis {
        let mut d = Diagnosis::default();
        for n in snap.nodes() {
            let s = Fit.run_filters(&CycleState::new(), pod, n);
            if !s.is_success() {
                d.record(n.name(), s);
            }
        }
        d
    }

    /// Runs DefaultPreemption for `preemptor` on `snap`, as the framework does after Filter fails.
    fn preempt(snap: &Snapshot, preemptor: &PodInfo) -> PostFilterResult {
        DefaultPreemption::default().post_filter(&CycleState::new(), preemptor, snap, &diagnose(snap, preemptor), &Fit)
    }

    #[test]
    fn evicts_the_minimal_lower_priority_set_and_never_higher_priority() {
        // n1: two low pods of 1 cpu each (2 of 2 used); n2: one high-priority pod of 2 cpu.
        let snap = Snapshot::from_nodes([
            info(
                node("n1", "2", "8Gi", "10"),
                vec![on(prio(pod("low-a", "1", ""), 1), "n1"), on(prio(pod("low-b", "1", ""), 2), "n1")],
            ),
            info(node("n2", "2", "8Gi", "10"), vec![on(prio(pod("high", "2", ""), 100), "n2")]),
        ]);
        let preemptor = PodInfo::new(prio(pod("p", "1", ""), 10));
        let r = preempt(&snap, &preemptor);
        assert!(r.status.is_success());
        assert_eq!(r.nominated_node.as_deref(), Some("n1"));
        let victims: Vec<&str> = r.victims.iter().map(|v| v.key.as_str()).collect();
        assert_eq!(victims, ["default/low-a"], "only the least important pod goes");
    }

    #[test]
    fn declines_when_only_equal_or_higher_priority_pods_block() {
        let snap =
            Snapshot::from_nodes([info(node("n1", "1", "8Gi", "10"), vec![on(prio(pod("same", "1", ""), 10), "n1")])]);
        let preemptor = PodInfo::new(prio(pod("p", "1", ""), 10));
        let r = preempt(&snap, &preemptor);
        assert_eq!(r.status.code(), Code::Unschedulable);
        assert!(r.victims.is_empty() && r.nominated_node.is_none());
    }

    #[test]
    fn room_promised_to_a_nominated_preemptor_is_not_taken_again() {
        // n1 and n2 both hold two low pods of 1 cpu (2 of 2 used); "first" is nominated to n1.
        let full = |name: &str| {
            info(
                node(name, "2", "8Gi", "10"),
                vec![
                    on(prio(pod(&format!("{name}-a"), "1", ""), 1), name),
                    on(prio(pod(&format!("{name}-b"), "1", ""), 1), name),
                ],
            )
        };
        let mut nominator = Nominator::default();
        nominator.nominate(Arc::new(PodInfo::new(prio(pod("first", "1", ""), 10))), "n1");
        let snap = Snapshot::from_nodes([full("n1"), full("n2")]).with_nominated(nominator);
        let preemptor = PodInfo::new(prio(pod("second", "1", ""), 10));
        let r = preempt(&snap, &preemptor);
        assert_eq!(r.nominated_node.as_deref(), Some("n2"), "n1 would cost both its pods");
        assert_eq!(r.victims.len(), 1);
    }

    #[test]
    fn prefers_node_with_lower_priority_victims() {
        let snap = Snapshot::from_nodes([
            info(node("n1", "1", "8Gi", "10"), vec![on(prio(pod("mid", "1", ""), 5), "n1")]),
            info(node("n2", "1", "8Gi", "10"), vec![on(prio(pod("low", "1", ""), 1), "n2")]),
        ]);
        let preemptor = PodInfo::new(prio(pod("p", "1", ""), 10));
        let r = preempt(&snap, &preemptor);
        assert_eq!(r.nominated_node.as_deref(), Some("n2"));
    }
}
