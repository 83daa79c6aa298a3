//! An in-process control plane: the store, the Deployment and ReplicaSet controllers and the
//! scheduler, driving a Deployment onto three nodes.
//!
//! Run with `cargo run --example control_plane`. It applies a Deployment of 3 replicas, shows
//! the pods the controllers create and the nodes the scheduler binds them to, scales to 5,
//! deletes a pod and shows it replaced, then exits (0 on success). The node agents that would
//! run the containers are the next block to land; here the nodes are registered by hand.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use orch_controllers::controllers::deployment::DeploymentController;
use orch_controllers::controllers::replica_set::ReplicaSetController;
use orch_controllers::manager::ControllerManager;
use orch_controllers::{Controller, Informers, Latch, Runtime};
use orch_core::kinds::{Deployment, Node, Pod, ReplicaSet};
use orch_core::runtime::{SystemClock, TokioSpawn};
use orch_core::store::{Api, DeleteOptions, ListParams, WriteOptions};
use orch_core::{KindRegistry, ObjectMeta, ObjectStore, Patch, manifest};
use orch_sched::{PluginRegistry, Scheduler, SchedulerConfig};

const APP: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: busybox
          command: [httpd, -f, -p, "8080"]
          resources: {requests: {cpu: 500m, memory: 64Mi}}
"#;

/// Waits until `check` holds (polling the store), or fails after 10 s.
async fn until<F, Fut>(what: &str, check: F) -> Result<(), String>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        if Instant::now() > deadline {
            return Err(format!("timed out waiting for {what}"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Bound pods of the app, by name, with their node.
async fn placement(pods: &Api<Pod>) -> BTreeMap<String, String> {
    let list = pods.list(&ListParams::default().labels("app=web")).await.map(|l| l.items).unwrap_or_default();
    list.into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .map(|p| (p.metadata.name.unwrap_or_default(), p.spec.node_name.unwrap_or_else(|| "(pending)".into())))
        .collect()
}

fn show(title: &str, placed: &BTreeMap<String, String>) {
    println!("{title}");
    for (pod, node) in placed {
        println!("  {pod:<24} -> {node}");
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let store: Arc<dyn ObjectStore> = Arc::new(orch_store::Registry::in_memory().await?);

    // Controllers over shared caches, and the scheduler with the default plugins.
    let informers = Informers::new(store.clone(), Runtime::tokio());
    let manager = ControllerManager::new(informers.clone())
        .with(Controller::new(DeploymentController::new(&informers), &informers).owns::<ReplicaSet>())
        .with(Controller::new(ReplicaSetController::new(&informers), &informers).owns::<Pod>());
    let stop = Latch::new();
    let controllers = tokio::spawn({
        let stop = stop.clone();
        async move { manager.run(stop).await }
    });
    let clock = Arc::new(SystemClock);
    let spawn = Arc::new(TokioSpawn::current());
    let config = SchedulerConfig::default();
    let scheduler = Scheduler::new(store.clone(), clock, spawn, config, PluginRegistry::with_defaults())?;
    scheduler.start();

    // Three nodes of 2 CPUs each, registered as their agents would.
    let nodes: Api<Node> = Api::all(store.clone());
    for i in 1..=3 {
        let mut node = Node { metadata: ObjectMeta::named(format!("node-{i}")), ..Default::default() };
        for (k, v) in [("cpu", "2"), ("memory", "4Gi"), ("pods", "110")] {
            node.status.capacity.insert(k.into(), v.into());
            node.status.allocatable.insert(k.into(), v.into());
        }
        nodes.create(&node).await?;
    }
    println!("control plane up with 3 nodes in {:?}", started.elapsed());

    // Apply the manifest, as `kubectl apply` would.
    for (info, obj) in manifest::parse_checked(&KindRegistry::with_builtins(), APP)? {
        store.create(&info.resource_type, obj, &WriteOptions::default()).await?;
    }
    let pods: Api<Pod> = Api::namespaced(store.clone(), "default");
    let bound = |n: usize| {
        let pods = pods.clone();
        async move {
            let p = placement(&pods).await;
            p.len() == n && p.values().all(|node| node.starts_with("node-"))
        }
    };
    until("3 pods bound", || bound(3)).await?;
    show("deployment web: 3 replicas placed", &placement(&pods).await);

    let deployments: Api<Deployment> = Api::namespaced(store.clone(), "default");
    deployments.patch("web", &Patch::Merge(serde_json::json!({"spec": {"replicas": 5}}))).await?;
    until("5 pods bound", || bound(5)).await?;
    show("scaled to 5 (2 CPUs per node, 500m per pod)", &placement(&pods).await);

    let before = placement(&pods).await;
    let victim = before.keys().next().cloned().unwrap_or_default();
    pods.delete(&victim, &DeleteOptions::default().grace_period(0)).await?;
    let replaced = |victim: String| {
        let pods = pods.clone();
        async move {
            let p = placement(&pods).await;
            !p.contains_key(&victim) && p.len() == 5 && p.values().all(|node| node.starts_with("node-"))
        }
    };
    until("the deleted pod replaced", || replaced(victim.clone())).await?;
    show(&format!("deleted {victim}; the ReplicaSet replaced it"), &placement(&pods).await);

    let rs = Api::<ReplicaSet>::namespaced(store.clone(), "default").list(&ListParams::default()).await?;
    for r in rs.items {
        let s = r.status.unwrap_or_default();
        println!(
            "replicaset {}: {} replicas, {} ready",
            r.metadata.name_str(),
            s.replicas,
            s.ready_replicas.unwrap_or(0)
        );
    }
    println!("(pods stay un-Ready here: no node agent runs them yet)");

    scheduler.stop();
    stop.set();
    controllers.await?;
    Ok(())
}
