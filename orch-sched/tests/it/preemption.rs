//! Concurrent preemption: preemptors are nominated to the node they freed, and other pods
//! (preemptors included) leave that room to them.

use std::collections::BTreeSet;

use orch_core::kinds::Pod;
use orch_sched::{PluginRegistry, SchedulerConfig};

use crate::harness::{Sim, node, pod};

fn with_priority(mut p: Pod, priority: i32) -> Pod {
    p.spec.priority = Some(priority);
    p.spec.termination_grace_period_seconds = Some(0);
    p
}

#[test]
fn concurrent_preemptors_evict_one_victim_each_and_all_bind() {
    const NODES: usize = 4;
    let sim = Sim::new();
    for n in 0..NODES {
        sim.create_node(node(&format!("n{n}"), "2", "8Gi", "10"));
        for v in 0..2 {
            // 2 x 900m of 2 CPU: one victim per node frees room for exactly one preemptor.
            let mut low = with_priority(pod(&format!("low-{n}-{v}"), "900m", ""), 0);
            low.spec.node_name = Some(format!("n{n}"));
            sim.create_pod(low);
        }
    }
    // Every preemptor is queued when the scheduler starts, so their cycles run back to back,
    // before any eviction has landed.
    for i in 0..NODES {
        sim.create_pod(with_priority(pod(&format!("high-{i}"), "900m", ""), 100));
    }
    let sched = sim.scheduler(SchedulerConfig::default(), PluginRegistry::with_defaults());
    sim.advance(30);
    let placed: BTreeSet<String> =
        (0..NODES).map(|i| sim.node_of(&format!("high-{i}")).unwrap_or_else(|| panic!("high-{i} bound"))).collect();
    assert_eq!(placed.len(), NODES, "one preemptor per node");
    let stats = sched.stats();
    assert_eq!(stats.preemption_victims, NODES as u64, "exactly one victim per preemptor: {stats:?}");
    let survivors = (0..NODES).flat_map(|n| (0..2).map(move |v| format!("low-{n}-{v}")));
    assert_eq!(survivors.filter(|name| sim.pod(name).is_some()).count(), NODES, "one low pod evicted per node");
    assert_eq!(stats.bound, NODES as u64);
    assert!(stats.attempts <= 2 * NODES as u64, "a preemption attempt and a binding attempt each: {stats:?}");
}
