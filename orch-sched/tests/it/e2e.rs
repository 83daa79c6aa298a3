//! End to end on tokio with `Registry::in_memory()`: nodes and pods in, every pod bound, with
//! resources, taints and selectors respected.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use orch_core::kinds::{Node, Pod};
use orch_core::runtime::{SystemClock, TokioSpawn};
use orch_core::store::{Api, ListParams};
use orch_core::{ObjectStore, Resource};
use orch_sched::{PluginRegistry, Resources, Scheduler, SchedulerConfig};
use orch_store::Registry;

use crate::harness::{Lcg, create_node, node, pod, tainted, tolerate};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_pods_are_bound_respecting_resources_taints_and_selectors() {
    let store: Arc<dyn ObjectStore> = Arc::new(Registry::in_memory().await.expect("registry"));
    let nodes: Api<Node> = Api::all(store.clone());
    let pods: Api<Pod> = Api::namespaced(store.clone(), "default");
    for i in 0..20 {
        let mut n = node(&format!("node-{i:02}"), "2", "4Gi", "10");
        match i % 4 {
            0 => {
                n.metadata.labels.insert("disk".into(), "ssd".into());
            }
            1 => n = tainted(n, "gpu", "true"),
            _ => {}
        }
        create_node(&nodes, &n).await;
    }
    let scheduler = Scheduler::new(
        store.clone(),
        Arc::new(SystemClock),
        Arc::new(TokioSpawn::current()),
        SchedulerConfig::default(),
        PluginRegistry::with_defaults(),
    )
    .expect("scheduler");
    scheduler.start();
    let mut rng = Lcg(7);
    for i in 0..150 {
        let mut p = pod(&format!("pod-{i:03}"), "200m", &format!("{}Mi", 64 * (1 + rng.below(4))));
        match rng.below(5) {
            0 => {
                p.spec.node_selector.insert("disk".into(), "ssd".into());
            }
            1 => p = tolerate(p, "gpu"),
            _ => {}
        }
        pods.create(&p).await.expect("pod");
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let all = loop {
        let list = pods.list(&ListParams::default()).await.expect("list").items;
        if list.iter().all(|p| p.spec.node_name.is_some()) {
            break list;
        }
        assert!(Instant::now() < deadline, "not all pods bound: {:?}", scheduler.stats());
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    scheduler.stop();
    let node_list: HashMap<String, Node> = nodes
        .list(&ListParams::default())
        .await
        .expect("nodes")
        .items
        .into_iter()
        .map(|n| (n.metadata.name_str().to_owned(), n))
        .collect();
    let mut used: HashMap<String, (Resources, i64)> = HashMap::new();
    for p in &all {
        let on = p.spec.node_name.clone().unwrap_or_default();
        let n = &node_list[&on];
        assert!(
            p.spec.node_selector.iter().all(|(k, v)| n.metadata.labels.get(k) == Some(v)),
            "{} selector",
            p.metadata.name_str()
        );
        assert!(
            n.spec.taints.iter().all(|t| p.spec.tolerations.iter().any(|tol| tol.tolerates(t))),
            "{} taint",
            p.metadata.name_str()
        );
        let e = used.entry(on).or_default();
        e.0.add(&Resources::of_pod(p));
        e.1 += 1;
    }
    for (name, (r, count)) in used {
        let a = Resources::allocatable_of(&node_list[&name]);
        assert!(r.milli_cpu <= a.milli_cpu && r.memory <= a.memory && count <= a.pods, "{name} over-committed");
    }
    assert_eq!(scheduler.stats().bound, 150);
    assert_eq!(Pod::resource_type().plural, "pods");
}
