//! The scheduling decision alone, without a store: the SchedulingBasic cluster of `bench_sched`
//! (5,000 nodes of 4 CPU, 32 GiB and 110 pods, 1,000 pods placed) in a [`SchedulerCache`], then
//! 10,000 pods of 100m / 500 MiB each run through one scheduling cycle (snapshot update,
//! PreFilter, Filter, PreScore, Score, select) and are assumed on the chosen node, on one
//! thread. This is the work of the scheduling loop in `bench_sched` minus the queue and the
//! binding; the difference between the two is what the rest of the pipeline costs.
//!
//! `cargo run --release -p orch-sched --example sched_cycle` (`BENCH_SCALE=0.1` scales the
//! sizes; `BENCH_PERCENTAGE=100` scores every node, `BENCH_THREADS=2` filters and scores on two
//! threads). Prints one JSON line; `pods_per_cpu_s` counts the calling thread's CPU time only.

use std::sync::Arc;
use std::time::Instant;

use orch_core::ObjectMeta;
use orch_core::kinds::{Container, Node, Pod};
use orch_core::runtime::ManualClock;
use orch_sched::*;

fn env<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}

fn scale(n: usize) -> usize {
    ((n as f64 * env::<f64>("BENCH_SCALE").unwrap_or(1.0)) as usize).max(10)
}

fn node(i: usize) -> Node {
    let name = format!("node-{i:05}");
    let meta = ObjectMeta::named(&name)
        .with_label("kubernetes.io/hostname", &name)
        .with_label("topology.kubernetes.io/zone", format!("zone-{}", i % 10));
    let mut n = Node { metadata: meta, ..Default::default() };
    for (k, v) in [("cpu", "4"), ("memory", "32Gi"), ("pods", "110")] {
        n.status.allocatable.insert(k.into(), v.into());
        n.status.capacity.insert(k.into(), v.into());
    }
    n
}

fn pod(name: String) -> Pod {
    let mut p = Pod { metadata: ObjectMeta::named(name).in_namespace("default"), ..Default::default() };
    let mut c = Container { name: "pause".into(), image: "registry.k8s.io/pause:3.10".into(), ..Default::default() };
    c.resources.requests.insert("cpu".into(), "100m".into());
    c.resources.requests.insert("memory".into(), "500Mi".into());
    p.spec.containers.push(c);
    p
}

/// Nanoseconds this thread has run on a CPU (Linux), so that the figure holds on a busy machine.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat").ok()?.split_whitespace().next()?.parse().ok()
}

fn main() {
    let (nodes, placed, pods) = (scale(5000), scale(1000), scale(10000));
    let percentage: Option<u32> = env("BENCH_PERCENTAGE");
    let threads: usize = env("BENCH_THREADS").unwrap_or(1);
    let ctx = PluginContext { waiting_pods: WaitingPods::default(), clock: Arc::new(ManualClock::new()), store: None };
    let mut profile = Profile::default_profile().without_plugin("DefaultBinder");
    if let Some(p) = percentage {
        profile = profile.percentage_of_nodes_to_score(p);
    }
    let fw =
        Framework::new(&profile, &PluginRegistry::with_defaults(), &ctx).expect("framework").with_parallelism(threads);
    let mut cache = SchedulerCache::new();
    for i in 0..nodes {
        cache.add_node(node(i));
    }
    for i in 0..placed {
        let mut p = pod(format!("placed-{i:05}"));
        p.spec.node_name = Some(format!("node-{:05}", i % nodes));
        cache.add_pod(Arc::new(PodInfo::new(p)));
    }
    let queue: Vec<PodInfo> = (0..pods).map(|i| PodInfo::new(pod(format!("pod-{i:05}")))).collect();
    let mut snapshot = Snapshot::default();
    cache.update_snapshot(&mut snapshot);
    let (start, cpu_start) = (Instant::now(), thread_cpu_ns());
    let mut evaluated = 0;
    for info in queue {
        cache.update_snapshot(&mut snapshot);
        let placed = fw.schedule_pod(&mut CycleState::new(), &info, &snapshot).expect("a node fits");
        evaluated += placed.evaluated_nodes;
        cache.assume_pod(Arc::new(info.bound_to(&placed.node))).expect("assume");
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu_secs = thread_cpu_ns().zip(cpu_start).map(|(end, start)| (end - start) as f64 / 1e9);
    println!(
        "{}",
        serde_json::json!({
            "bench": "sched_cycle",
            "nodes": nodes,
            "pods": pods,
            "threads": threads,
            "percentage": percentage,
            "evaluated_per_pod": evaluated / pods.max(1),
            "pods_per_s": (pods as f64 / secs * 10.0).round() / 10.0,
            "pods_per_cpu_s": cpu_secs.map(|c| (pods as f64 / c * 10.0).round() / 10.0),
        })
    );
}
