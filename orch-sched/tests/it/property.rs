//! Property test over random clusters: no node is over-committed (requests or pod count), taints
//! and selectors are always respected, and a pod is only left out when no node could take it.

use std::sync::Arc;

use orch_core::kinds::{Node, Pod};
use orch_core::runtime::ManualClock;
use orch_sched::*;

use crate::harness::{Lcg, node, pod, tainted, tolerate};

fn random_node(rng: &mut Lcg, i: usize) -> Node {
    let cpu = format!("{}", 1 + rng.below(8));
    let mem = format!("{}Gi", 1 + rng.below(16));
    let slots = format!("{}", 1 + rng.below(10));
    let mut n = node(&format!("n{i}"), &cpu, &mem, &slots);
    n.metadata.labels.insert("zone".into(), ["a", "b", "c"][rng.below(3) as usize].into());
    if rng.below(4) == 0 {
        n = tainted(n, &format!("t{}", rng.below(2)), "x");
    }
    n
}

fn random_pod(rng: &mut Lcg, i: usize) -> Pod {
    let cpu = match rng.below(4) {
        0 => String::new(),
        _ => format!("{}m", 50 * (1 + rng.below(30))),
    };
    let mem = match rng.below(3) {
        0 => String::new(),
        _ => format!("{}Mi", 128 * (1 + rng.below(16))),
    };
    let mut p = pod(&format!("p{i}"), &cpu, &mem);
    if rng.below(3) == 0 {
        p.spec.node_selector.insert("zone".into(), ["a", "b", "c"][rng.below(3) as usize].into());
    }
    if rng.below(3) == 0 {
        p = tolerate(p, &format!("t{}", rng.below(2)));
    }
    p
}

/// Whether `pod` could run on `node` by the plain rules, checked independently of the plugins.
fn fits(pod: &PodInfo, node: &NodeInfo) -> bool {
    let (a, u, r) = (node.allocatable(), node.requested(), &pod.requests);
    let Some(n) = node.node() else { return false };
    (node.pods().len() as i64) < a.pods
        && (r.milli_cpu == 0 || u.milli_cpu + r.milli_cpu <= a.milli_cpu)
        && (r.memory == 0 || u.memory + r.memory <= a.memory)
        && pod.pod.spec.node_selector.iter().all(|(k, v)| n.metadata.labels.get(k) == Some(v))
        && n.spec.taints.iter().all(|t| pod.pod.spec.tolerations.iter().any(|tol| tol.tolerates(t)))
}

#[test]
fn random_clusters_are_never_overcommitted_and_constraints_hold() {
    let ctx = PluginContext { waiting_pods: WaitingPods::default(), clock: Arc::new(ManualClock::new()), store: None };
    let profile = Profile::default_profile().without_plugin("DefaultBinder");
    for seed in 1..=40u64 {
        let mut rng = Lcg(seed);
        let fw = Framework::new(&profile, &PluginRegistry::with_defaults(), &ctx).expect("framework").with_seed(seed);
        let mut cache = SchedulerCache::new();
        let nodes = 5 + rng.below(36) as usize;
        for i in 0..nodes {
            cache.add_node(random_node(&mut rng, i));
        }
        let mut snapshot = Snapshot::default();
        let (mut placed, mut left_out) = (0, 0);
        for i in 0..(10 + rng.below(111) as usize) {
            let info = PodInfo::new(random_pod(&mut rng, i));
            cache.update_snapshot(&mut snapshot);
            match fw.schedule_pod(&mut CycleState::new(), &info, &snapshot) {
                Ok(r) => {
                    let node = snapshot.get(&r.node).expect("chosen node exists");
                    assert!(fits(&info, node), "seed {seed}: {} placed on {} where it does not fit", info.key, r.node);
                    cache.assume_pod(Arc::new(info.bound_to(&r.node))).expect("assume");
                    placed += 1;
                }
                Err(ScheduleError::Fit(e)) => {
                    assert!(
                        snapshot.nodes().iter().all(|n| !fits(&info, n)),
                        "seed {seed}: {} left out but a node fits: {e}",
                        info.key
                    );
                    assert!(e.to_string().starts_with(&format!("0/{nodes} nodes are available")));
                    left_out += 1;
                }
                Err(other) => panic!("seed {seed}: {other}"),
            }
        }
        cache.update_snapshot(&mut snapshot);
        for n in snapshot.nodes() {
            let (a, u) = (n.allocatable(), n.requested());
            assert!(u.milli_cpu <= a.milli_cpu && u.memory <= a.memory, "seed {seed}: {} over-committed", n.name());
            assert!(n.pods().len() as i64 <= a.pods, "seed {seed}: {} has too many pods", n.name());
        }
        assert!(placed + left_out > 0);
    }
}
