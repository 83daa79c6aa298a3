//! The scheduler benchmark, after Kubernetes' scheduler_perf SchedulingBasic: 5,000 nodes
//! (4 CPU, 32 GiB, 110 pods), 1,000 pods already placed, then 10,000 pods of 100m / 500 MiB
//! scheduled with the default plugins and bound in the in-memory store. Also the shapes with
//! every node scored, with required node affinity, with pod anti-affinity, and with preemption
//! (500 nodes full of low-priority pods, then 500 high-priority pods that each must evict one).
//! Last, the basic shape's scheduling decision alone (no store, queue or binding), per second
//! of one thread's CPU time: what the scheduling loop costs apart from the rest of the pipeline.
//!
//! `cargo run --release --example bench_sched` (sizes scale with `BENCH_SCALE=0.1`; run only some
//! shapes with `BENCH_SHAPES=basic,anti_affinity,basic_decision`; `BENCH_PARALLELISM=1` keeps
//! Filter and Score on one thread). Prints a table and, last, one JSON line.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use orch_core::kinds::{
    Affinity, Container, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod, PodAffinity,
    PodAffinityTerm,
};
use orch_core::runtime::{SystemClock, TokioSpawn};
use orch_core::store::Api;
use orch_core::{LabelSelector, ObjectMeta, ObjectStore};
use orch_sched::{
    CycleState, Framework, PluginContext, PluginRegistry, PodInfo, Profile, Scheduler, SchedulerCache, SchedulerConfig,
    Snapshot, WaitingPods,
};
use orch_store::Registry;

fn scale(n: usize) -> usize {
    let f: f64 = std::env::var("BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    ((n as f64 * f) as usize).max(10)
}

/// Whether `BENCH_SHAPES` (comma-separated shape names; unset means all) selects `name`.
fn wanted(name: &str) -> bool {
    std::env::var("BENCH_SHAPES").map_or(true, |s| s.split(',').any(|w| w.trim() == name))
}

#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Basic,
    FullScore,
    NodeAffinity,
    AntiAffinity,
    Preemption,
}

struct Figures {
    pods: usize,
    per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
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

fn pod(name: String, shape: Shape, i: usize) -> Pod {
    let mut p = Pod { metadata: ObjectMeta::named(name).in_namespace("default"), ..Default::default() };
    let mut c = Container { name: "pause".into(), image: "registry.k8s.io/pause:3.10".into(), ..Default::default() };
    c.resources.requests.insert("cpu".into(), "100m".into());
    c.resources.requests.insert("memory".into(), "500Mi".into());
    p.spec.containers.push(c);
    match shape {
        Shape::Preemption => {
            p.spec.containers[0].resources.requests.insert("cpu".into(), "900m".into());
            p.spec.priority = Some(1000);
        }
        Shape::NodeAffinity => {
            let zones = (0..5).map(|z| format!("zone-{z}")).collect();
            let req = NodeSelectorRequirement {
                key: "topology.kubernetes.io/zone".into(),
                operator: "In".into(),
                values: zones,
            };
            let term = NodeSelectorTerm { match_expressions: vec![req], ..Default::default() };
            let na = NodeAffinity {
                required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                    node_selector_terms: vec![term],
                }),
                ..Default::default()
            };
            p.spec.affinity = Some(Affinity { node_affinity: Some(na), ..Default::default() });
        }
        Shape::AntiAffinity => {
            let group = format!("g{}", i % 500);
            p.metadata.labels.insert("group".into(), group.clone());
            let sel = LabelSelector { match_labels: [("group".to_owned(), group)].into(), ..Default::default() };
            let term = PodAffinityTerm {
                label_selector: Some(sel),
                topology_key: "kubernetes.io/hostname".into(),
                ..Default::default()
            };
            let anti =
                PodAffinity { required_during_scheduling_ignored_during_execution: vec![term], ..Default::default() };
            p.spec.affinity = Some(Affinity { pod_anti_affinity: Some(anti), ..Default::default() });
        }
        _ => {}
    }
    p
}

/// A low-priority pod that fills a quarter of a node and goes at once when evicted.
fn victim(i: usize, nodes: usize) -> Pod {
    let mut p = pod(format!("victim-{i:05}"), Shape::Basic, i);
    p.spec.containers[0].resources.requests.insert("cpu".into(), "900m".into());
    p.spec.priority = Some(0);
    p.spec.termination_grace_period_seconds = Some(0);
    p.spec.node_name = Some(format!("node-{:05}", i % nodes));
    p
}

/// Nanoseconds this thread has run on a CPU (Linux), so that a figure holds on a busy machine.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat").ok()?.split_whitespace().next()?.parse().ok()
}

/// The scheduling decision alone, without store, queue or binding: the basic cluster in a
/// `SchedulerCache`, and each pod through one cycle (snapshot update, PreFilter, Filter,
/// PreScore, Score, select) and assumed where it goes, on this thread. Pods per second of this
/// thread's CPU time.
fn decision_only(nodes: usize, placed: usize, pods: usize) -> f64 {
    let clock = Arc::new(orch_core::runtime::ManualClock::new());
    let ctx = PluginContext { waiting_pods: WaitingPods::default(), clock, store: None };
    let profile = Profile::default_profile().without_plugin("DefaultBinder");
    let fw = Framework::new(&profile, &PluginRegistry::with_defaults(), &ctx).expect("framework").with_parallelism(1);
    let mut cache = SchedulerCache::new();
    for i in 0..nodes {
        cache.add_node(node(i));
    }
    for i in 0..placed {
        let mut p = pod(format!("placed-{i:05}"), Shape::Basic, i);
        p.spec.node_name = Some(format!("node-{:05}", i % nodes));
        cache.add_pod(Arc::new(PodInfo::new(p)));
    }
    let queue: Vec<PodInfo> = (0..pods).map(|i| PodInfo::new(pod(format!("pod-{i:05}"), Shape::Basic, i))).collect();
    let mut snapshot = Snapshot::default();
    let (start, cpu_start) = (Instant::now(), thread_cpu_ns());
    for info in queue {
        cache.update_snapshot(&mut snapshot);
        let placed = fw.schedule_pod(&mut CycleState::new(), &info, &snapshot).expect("a node fits");
        cache.assume_pod(Arc::new(info.bound_to(&placed.node))).expect("assume");
    }
    let secs = match (thread_cpu_ns(), cpu_start) {
        (Some(end), Some(begin)) => (end - begin) as f64 / 1e9,
        _ => start.elapsed().as_secs_f64(),
    };
    pods as f64 / secs
}

/// Runs `f(i)` for `0..n` with `width` concurrent tasks.
async fn concurrently<F, Fut>(n: usize, width: usize, f: F)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    futures::stream::iter(0..n).map(f).buffer_unordered(width).collect::<Vec<()>>().await;
}

async fn run(shape: Shape, nodes: usize, placed: usize, pods: usize) -> Figures {
    let store: Arc<dyn ObjectStore> = Arc::new(Registry::in_memory().await.expect("registry"));
    let node_api: Api<Node> = Api::all(store.clone());
    let pod_api: Api<Pod> = Api::namespaced(store.clone(), "default");
    concurrently(nodes, 64, |i| {
        let api = node_api.clone();
        async move {
            let n = node(i);
            let mut created = api.create(&n).await.expect("node");
            created.status = n.status;
            api.update_status(&created).await.expect("node status");
        }
    })
    .await;
    concurrently(placed, 64, |i| {
        let api = pod_api.clone();
        async move {
            let p = if shape == Shape::Preemption {
                victim(i, nodes)
            } else {
                let mut p = pod(format!("placed-{i:05}"), Shape::Basic, i);
                p.spec.node_name = Some(format!("node-{:05}", i % nodes));
                p
            };
            api.create(&p).await.expect("placed pod");
        }
    })
    .await;
    concurrently(pods, 64, |i| {
        let api = pod_api.clone();
        async move {
            api.create(&pod(format!("pod-{i:05}"), shape, i)).await.expect("pod");
        }
    })
    .await;
    let mut profile = Profile::default_profile();
    if shape == Shape::FullScore {
        profile = profile.percentage_of_nodes_to_score(100);
    }
    let mut config = SchedulerConfig::default().profiles(vec![profile]);
    if let Some(threads) = std::env::var("BENCH_PARALLELISM").ok().and_then(|s| s.parse().ok()) {
        config = config.parallelism(threads);
    }
    let sched = Scheduler::new(
        store,
        Arc::new(SystemClock),
        Arc::new(TokioSpawn::current()),
        config,
        PluginRegistry::with_defaults(),
    )
    .expect("scheduler");
    sched.start();
    while !sched.is_synced() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let start = Instant::now();
    let deadline = start + Duration::from_secs(600);
    while (sched.stats().bound as usize) < pods && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = start.elapsed();
    let stats = sched.stats();
    if std::env::var("BENCH_VERBOSE").is_ok() {
        eprintln!(
            "attempts {} bound {} unschedulable {} errors {} bind failures {} victims {}",
            stats.attempts,
            stats.bound,
            stats.unschedulable,
            stats.errors,
            stats.bind_failures,
            stats.preemption_victims
        );
    }
    sched.stop();
    let ms = |q: f64| stats.latency_quantile(q).map_or(0.0, |d| d.as_secs_f64() * 1e3);
    Figures {
        pods: stats.bound as usize,
        per_s: stats.bound as f64 / elapsed.as_secs_f64(),
        p50_ms: ms(0.5),
        p99_ms: ms(0.99),
    }
}

#[tokio::main]
async fn main() {
    let (nodes, placed, pods) = (scale(5000), scale(1000), scale(10000));
    let anti_pods = scale(2000);
    let preempt_nodes = scale(500);
    println!("{nodes} nodes, {placed} placed pods");
    println!("{:<28} {:>8} {:>12} {:>10} {:>10}", "shape", "pods", "pods/s", "p50 ms", "p99 ms");
    let mut results = Vec::new();
    for (name, shape, cluster, filled, n) in [
        ("basic", Shape::Basic, nodes, placed, pods),
        ("basic_full_score", Shape::FullScore, nodes, placed, pods),
        ("node_affinity", Shape::NodeAffinity, nodes, placed, pods),
        ("anti_affinity", Shape::AntiAffinity, nodes, placed, anti_pods),
        ("preemption", Shape::Preemption, preempt_nodes, preempt_nodes * 4, preempt_nodes),
    ] {
        if !wanted(name) {
            continue;
        }
        let f = run(shape, cluster, filled, n).await;
        println!("{name:<28} {:>8} {:>12.1} {:>10.2} {:>10.2}", f.pods, f.per_s, f.p50_ms, f.p99_ms);
        results.push((name, f));
    }
    let decision = if wanted("basic_decision") {
        let per_s = decision_only(nodes, placed, pods);
        println!("{:<28} {:>8} {:>12.1}   (one thread's CPU time, no store)", "basic_decision", pods, per_s);
        per_s
    } else {
        0.0
    };
    let get = |k: &str| results.iter().find(|(n, _)| *n == k).map_or(0.0, |(_, f)| f.per_s);
    let p = |k: &str, q: fn(&Figures) -> f64| results.iter().find(|(n, _)| *n == k).map_or(0.0, |(_, f)| q(f));
    println!(
        "{}",
        serde_json::json!({
            "bench": "sched",
            "nodes": nodes,
            "pods": pods,
            "basic_pods_per_s": (get("basic") * 10.0).round() / 10.0,
            "basic_decision_pods_per_cpu_s": (decision * 10.0).round() / 10.0,
            "basic_full_score_pods_per_s": (get("basic_full_score") * 10.0).round() / 10.0,
            "node_affinity_pods_per_s": (get("node_affinity") * 10.0).round() / 10.0,
            "anti_affinity_pods_per_s": (get("anti_affinity") * 10.0).round() / 10.0,
            "preemption_pods_per_s": (get("preemption") * 10.0).round() / 10.0,
            "basic_p50_ms": (p("basic", |f| f.p50_ms) * 100.0).round() / 100.0,
            "basic_p99_ms": (p("basic", |f| f.p99_ms) * 100.0).round() / 100.0,
        })
    );
}
