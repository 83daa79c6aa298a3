//! Filter and Score on the worker pool decide exactly as on one thread: same nodes chosen, same
//! number of nodes evaluated, same rotation, same diagnosis when nothing fits.

use std::sync::Arc;

use orch_core::runtime::ManualClock;
use orch_sched::*;

use crate::harness::{Lcg, node, pod, tainted, tolerate};

fn framework(threads: usize, percentage: Option<u32>) -> Framework {
    let ctx = PluginContext { waiting_pods: WaitingPods::default(), clock: Arc::new(ManualClock::new()), store: None };
    let mut profile = Profile::default_profile().without_plugin("DefaultBinder");
    if let Some(p) = percentage {
        profile = profile.percentage_of_nodes_to_score(p);
    }
    Framework::new(&profile, &PluginRegistry::with_defaults(), &ctx)
        .expect("framework")
        .with_seed(7)
        .with_parallelism(threads)
        // Every cycle goes to the pool, however few nodes it evaluates.
        .with_parallel_threshold(1)
}

/// A cluster where roughly a third of the nodes reject a given pod (full, tainted), so the
/// feasible nodes are scattered over the chunks.
fn cluster(rng: &mut Lcg, nodes: usize) -> SchedulerCache {
    let mut cache = SchedulerCache::new();
    for i in 0..nodes {
        let cpu = format!("{}", 1 + rng.below(4));
        let mut n = node(&format!("n{i:04}"), &cpu, &format!("{}Gi", 1 + rng.below(8)), "20");
        if rng.below(6) == 0 {
            n = tainted(n, "dedicated", "x");
        }
        cache.add_node(n);
    }
    cache
}

/// Schedules `pods` pods one after the other (each assumed where it went) and returns, per pod,
/// the chosen node and the number of nodes evaluated, or the unschedulable message.
fn run(threads: usize, percentage: Option<u32>, nodes: usize, pods: usize) -> Vec<Result<(String, usize), String>> {
    let mut rng = Lcg(42);
    let mut cache = cluster(&mut rng, nodes);
    let fw = framework(threads, percentage);
    let mut snapshot = Snapshot::default();
    let mut out = Vec::new();
    for i in 0..pods {
        let mut p = pod(&format!("p{i}"), &format!("{}m", 100 * (1 + rng.below(12))), "256Mi");
        if rng.below(5) == 0 {
            p = tolerate(p, "dedicated");
        }
        let info = PodInfo::new(p);
        cache.update_snapshot(&mut snapshot);
        match fw.schedule_pod(&mut CycleState::new(), &info, &snapshot) {
            Ok(r) => {
                cache.assume_pod(Arc::new(info.bound_to(&r.node))).expect("assume");
                out.push(Ok((r.node, r.evaluated_nodes)));
            }
            Err(e) => out.push(Err(e.to_string())),
        }
    }
    out
}

#[test]
fn pool_chooses_the_same_nodes_as_one_thread_when_sampling() {
    // 600 nodes: the adaptive percentage looks for 264 feasible nodes, so Filter stops early.
    let serial = run(1, None, 600, 300);
    assert!(serial.iter().any(|r| r.as_ref().is_ok_and(|(_, evaluated)| *evaluated < 600)), "Filter stopped early");
    for threads in [2, 4] {
        assert_eq!(run(threads, None, 600, 300), serial, "{threads} threads");
    }
}

#[test]
fn pool_chooses_the_same_nodes_as_one_thread_scoring_every_node_until_full() {
    // Enough pods to fill the cluster: the last ones fail, and their messages must agree too.
    let serial = run(1, Some(100), 120, 700);
    assert!(serial.iter().any(Result::is_err), "some pods found no room");
    assert_eq!(run(3, Some(100), 120, 700), serial);
}
