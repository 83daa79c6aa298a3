//! The cluster benchmark: 1,000 simulated nodes (node agents with the FakeRuntime) and a
//! Deployment scaled to 100,000 pods, all Running, through the whole pipeline (Deployment →
//! ReplicaSet → pods → scheduler → node agents → status), first in one process on the in-memory
//! store, then with the scheduler, controllers and agents talking to the API server over HTTP.
//!
//! `cargo run --release --example bench_cluster`. `BENCH_SCALE` scales nodes and pods (0.1 for
//! a quick run); `BENCH_HTTP_PODS` sets the pods of the HTTP run (default: as many as in one
//! process).
//! Last line: one JSON object.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use orch_api::client::{ClientConfig, HttpClient};
use orch_api::server::{ApiServer, ServerConfig};
use orch_core::kinds::Deployment;
use orch_core::runtime::{SystemClock, TokioSpawn};
use orch_core::{Api, ObjectStore};
use orch_node::agent::{AgentConfig, AgentHandle, NodeAgent};
use orch_node::runtime::FakeRuntime;
use orch_store::{Registry, RegistryConfig};
use orch_tests::{ControlPlane, ControlPlaneConfig};

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn deployment(replicas: usize) -> Deployment {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "big", "namespace": "default"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "big"}},
            "template": {"metadata": {"labels": {"app": "big"}},
                "spec": {"containers": [{"name": "c", "image": "fake"}]}}}
    }))
    .expect("deployment")
}

async fn registry(pods: usize) -> Registry {
    let kv: Arc<dyn orch_store::KvStore> = Arc::new(orch_store::MemKv::new());
    Registry::builder(kv, Arc::new(SystemClock), Arc::new(TokioSpawn::current()))
        .config(RegistryConfig::default().watch_buffer(4 * pods))
        .build()
        .await
        .expect("registry")
}

/// `nodes` agents with the FakeRuntime on `store`, each with room for `per_node` pods.
async fn agents(store: &Arc<dyn ObjectStore>, nodes: usize, per_node: usize) -> Vec<AgentHandle> {
    let mut agents = Vec::with_capacity(nodes);
    for chunk in (0..nodes).collect::<Vec<_>>().chunks(100) {
        let started = join_all(chunk.iter().map(|n| {
            let ip = std::net::Ipv4Addr::new(127, 1, (n / 250) as u8, (n % 250 + 1) as u8);
            let config =
                AgentConfig::new(format!("node-{n}")).node_ip(ip).log_port(None).capacity("pods", per_node.to_string());
            NodeAgent::new(config, store.clone(), Arc::new(FakeRuntime::new(Default::default()))).start()
        }))
        .await;
        agents.extend(started.into_iter().map(|a| a.expect("agent start")));
    }
    agents
}

/// Runs one cluster over `components` (the store the scheduler, controllers and agents use)
/// until `pods` pods are Running; returns the seconds from the Deployment's creation.
async fn run(components: Arc<dyn ObjectStore>, nodes: usize, pods: usize, what: &str) -> f64 {
    let t = Instant::now();
    let agents = agents(&components, nodes, pods / nodes + 20).await;
    let cp = ControlPlane::components(components.clone(), ControlPlaneConfig::default()).expect("control plane");
    eprintln!("[{what}] {nodes} agents and the control plane up in {:.2}s", t.elapsed().as_secs_f64());
    let (mut running, counter) = orch_examples::count_running_pods(components.clone(), "default");
    let start = Instant::now();
    Api::<Deployment>::namespaced(components.clone(), "default").create(&deployment(pods)).await.expect("deployment");
    if let Err(n) = orch_examples::wait_for_count(&mut running, pods, start, Duration::from_secs(600)).await {
        eprintln!("[{what}] timed out with {n} of {pods} pods running");
        std::process::exit(1);
    }
    let seconds = start.elapsed().as_secs_f64();
    eprintln!("[{what}] all {pods} pods Running after {seconds:.2}s ({:.0} pods/s)", pods as f64 / seconds);
    counter.abort();
    cp.stop().await;
    for a in agents {
        a.stop().await;
    }
    seconds
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let scale: f64 = env("BENCH_SCALE", 1.0);
    let nodes = ((1000.0 * scale) as usize).max(1);
    let pods = ((100_000.0 * scale) as usize).max(1);
    let http_pods: usize = env("BENCH_HTTP_PODS", pods);

    // In one process, on the in-memory store.
    let in_process = {
        let store: Arc<dyn ObjectStore> = Arc::new(registry(pods).await);
        run(store, nodes, pods, "in-process").await
    };
    let rss = orch_examples::peak_rss_mib();
    eprintln!("[in-process] peak RSS {rss:.0} MiB");

    // The same pipeline over HTTP: every component is an HttpClient of a loopback API server.
    let server = ApiServer::new(registry(http_pods).await, ServerConfig::default()).expect("server");
    let running = server.clone().bind("127.0.0.1:0".parse().expect("addr"), None).await.expect("bind");
    let client: Arc<dyn ObjectStore> = Arc::new(HttpClient::new(ClientConfig::new(running.url())).expect("client"));
    let http_seconds = run(client, nodes, http_pods, "http").await;
    running.shutdown().await;
    // What the pipeline asked of the API server, per pod (watches are counted once, at open).
    let mut requests = 0.0;
    for line in server.metrics().render().lines().filter(|l| l.starts_with("orch_apiserver_requests_total{")) {
        let (labels, count) = line.rsplit_once(' ').unwrap_or((line, "0"));
        let count: f64 = count.parse().unwrap_or(0.0);
        requests += count;
        if count >= http_pods as f64 / 100.0 {
            eprintln!("[http] {:>6.2} per pod: {labels}", count / http_pods as f64);
        }
    }
    eprintln!("[http] {:.2} requests per pod in all", requests / http_pods as f64);
    let http_pods_per_s = http_pods as f64 / http_seconds;
    println!(
        "targets: in-process <= 30 s and <= 4 GiB: {}; over HTTP >= 2,000 pods/s: {}",
        if in_process <= 30.0 && rss <= 4096.0 { "met" } else { "NOT met" },
        if http_pods_per_s >= 2000.0 { "met" } else { "NOT met" }
    );
    println!(
        "{}",
        serde_json::json!({
            "bench": "cluster",
            "nodes": nodes,
            "pods": pods,
            "in_process_seconds": (in_process * 1000.0).round() / 1000.0,
            "in_process_peak_rss_mib": rss.round(),
            "http_pods": http_pods,
            "http_pods_per_s": (http_pods_per_s * 10.0).round() / 10.0,
        })
    );
}
