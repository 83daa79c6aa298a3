//! The cluster's steps: start every block, run the demo, serve, shut down cleanly.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use orch_api::server::auth::{RolePolicy, TokenFile, UserInfo};
use orch_api::server::{ApiServer, ServerConfig, TlsSource};
use orch_core::kinds::{Pod, Service};
use orch_core::store::{Api, DeleteOptions, ListParams, WriteOptions};
use orch_core::{KindRegistry, ObjectStore, manifest};
use orch_node::proxy::{ProxyConfig, ServiceProxy};
use orch_node::runtime::{ProcessConfig, ProcessRuntime};
use orch_node::{AgentConfig, AgentHandle, NodeAgent};
use orch_store::Registry;
use orch_tests::{ControlPlane, ControlPlaneConfig, wait_for};

use super::Args;
use super::demo_server;

type Error = Box<dyn std::error::Error>;

fn step(started: Instant, what: &str) {
    println!("[{:>6.2}s] {what}", started.elapsed().as_secs_f64());
}

async fn registry(args: &Args) -> Result<Registry, Error> {
    use orch_core::runtime::{SystemClock, TokioSpawn};
    let kv: Arc<dyn orch_store::KvStore> = match (&args.data_dir, &args.etcd) {
        (Some(_), Some(_)) => return Err("choose --data-dir or --etcd, not both".into()),
        (Some(dir), None) => Arc::new(orch_store::durable::DurableKv::open_default(dir)?),
        (None, Some(urls)) => etcd(urls).await?,
        (None, None) => Arc::new(orch_store::mem::MemKv::new()),
    };
    Ok(Registry::builder(kv, Arc::new(SystemClock), Arc::new(TokioSpawn::current())).build().await?)
}

#[cfg(feature = "etcd")]
async fn etcd(urls: &str) -> Result<Arc<dyn orch_store::KvStore>, Error> {
    let endpoints: Vec<&str> = urls.split(',').collect();
    Ok(Arc::new(orch_store::etcd::EtcdKv::connect(&endpoints, Default::default()).await?))
}

#[cfg(not(feature = "etcd"))]
async fn etcd(_urls: &str) -> Result<Arc<dyn orch_store::KvStore>, Error> {
    Err("this build has no etcd backend: run `cargo run --features etcd --example cluster -- --etcd URL`".into())
}

pub async fn run(args: &Args, started: Instant) -> Result<(), Error> {
    let state_dir = std::env::temp_dir().join(format!("orch-cluster-{}", std::process::id()));
    std::fs::create_dir_all(&state_dir)?;

    // The store and the API server.
    let registry = registry(args).await?;
    step(started, "store ready");
    let tls = TlsSource::SelfSigned { dir: state_dir.join("pki"), extra_names: vec![] }.load()?;
    let ca = tls.cert_pem.clone();
    let admin_token = orch_examples::random_token();
    let tokens = TokenFile::default()
        .with_token(admin_token.clone(), UserInfo { name: "admin".into(), groups: vec!["system:masters".into()] });
    let config = ServerConfig::default().auth(Arc::new(tokens), Arc::new(RolePolicy::default()));
    let api = ApiServer::new(registry.clone(), config)?.bind(args.listen, Some(tls)).await?;
    let kubeconfig = args.kubeconfig.clone().unwrap_or_else(|| state_dir.join("kubeconfig"));
    let yaml = orch_api::Kubeconfig::single("orch", &api.url(), Some(&admin_token), Some(&ca)).to_yaml();
    std::fs::write(&kubeconfig, yaml)?;
    step(started, &format!("API server at {} (kubeconfig: {})", api.url(), kubeconfig.display()));

    // The control plane and three nodes.
    let cp = ControlPlane::over(registry, ControlPlaneConfig::default()).await?;
    let store = cp.store();
    let mut agents = Vec::new();
    for i in 1..=3u8 {
        let runtime = ProcessRuntime::new(ProcessConfig::default().state_dir(state_dir.join(format!("node-{i}"))))?;
        let config = AgentConfig::new(format!("node-{i}")).node_ip(Ipv4Addr::new(127, 1, 0, i)).log_port(Some(0));
        agents.push(NodeAgent::new(config, store.clone(), Arc::new(runtime)).start().await?);
    }
    wait_for("3 nodes Ready", Duration::from_secs(10), || ready_nodes(store.clone(), 3)).await?;
    // One service proxy for the host, serving every node address on it.
    let node_ips = (1..=3u8).map(|i| std::net::IpAddr::V4(Ipv4Addr::new(127, 1, 0, i)));
    let proxy = ServiceProxy::new(ProxyConfig::default().node_addresses(node_ips)).spawn(store.clone());
    step(started, "scheduler, controllers, 3 node agents and the service proxy running; all nodes Ready");

    let outcome = demo(&store, started).await;
    if let Err(e) = &outcome {
        println!("demo step failed: {e}");
    }
    if outcome.is_ok() && !args.demo {
        println!("\nserving — try:");
        println!("  cargo run -p orch-api --bin orchctl -- --kubeconfig {} get pods -o wide", kubeconfig.display());
        println!("  kubectl --kubeconfig {} get deploy,svc", kubeconfig.display());
        println!("Ctrl-C stops the cluster.");
        let _ = tokio::signal::ctrl_c().await;
    }
    shutdown(&store, agents, started).await;
    drop(proxy);
    cp.stop().await;
    api.shutdown().await;
    let _ = std::fs::remove_dir_all(&state_dir);
    outcome
}

async fn ready_nodes(store: Arc<dyn ObjectStore>, want: usize) -> bool {
    let nodes: Api<orch_core::kinds::Node> = Api::all(store);
    nodes.list(&ListParams::default()).await.is_ok_and(|l| {
        l.items
            .iter()
            .filter(|n| orch_core::kinds::find_condition(&n.status.conditions, "Ready").is_some_and(|c| c.is_true()))
            .count()
            == want
    })
}

/// Ready pods of the demo: name → (node, pod IP).
async fn ready_pods(pods: &Api<Pod>) -> Vec<(String, String, String)> {
    orch_examples::ready_pods(pods, "app=hello")
        .await
        .into_iter()
        .map(|p| {
            (
                p.metadata.name.clone().unwrap_or_default(),
                p.spec.node_name.clone().unwrap_or_default(),
                p.status.pod_ip.clone().unwrap_or_default(),
            )
        })
        .collect()
}

async fn demo(store: &Arc<dyn ObjectStore>, started: Instant) -> Result<(), Error> {
    let program = std::env::current_exe()?.display().to_string();
    for (info, obj) in manifest::parse_checked(&KindRegistry::with_builtins(), &super::manifests::app(&program))? {
        store.create(&info.resource_type, obj, &WriteOptions::default()).await?;
    }
    step(started, "applied Deployment hello (3 replicas of a small HTTP server) and NodePort Service hello");
    let pods: Api<Pod> = Api::namespaced(store.clone(), "default");
    wait_for("3 ready replicas", Duration::from_secs(30), || {
        let pods = pods.clone();
        async move { ready_pods(&pods).await.len() == 3 }
    })
    .await?;
    step(started, "3 replicas ready:");
    for (name, node, ip) in ready_pods(&pods).await {
        println!("           {name:<24} on {node}  pod IP {ip}");
    }
    let svc = Api::<Service>::namespaced(store.clone(), "default").get("hello").await?;
    let node_port = svc.spec.ports.first().and_then(|p| p.node_port).ok_or("the Service has no NodePort")?;
    let cluster_ip = svc.spec.cluster_ip.clone().unwrap_or_default();
    step(started, &format!("Service hello: ClusterIP {cluster_ip}:80, NodePort {node_port} on every node address"));
    let targets = [format!("{cluster_ip}:80"), format!("127.1.0.1:{node_port}"), format!("127.1.0.2:{node_port}")];
    for (i, addr) in targets.iter().cycle().take(6).enumerate() {
        let answer = demo_server::get_when_serving(addr).await.map_err(|e| format!("request {i} to {addr}: {e}"))?;
        println!("           GET http://{addr}/ -> {answer}");
    }
    let victim = ready_pods(&pods).await.first().map(|p| p.0.clone()).ok_or("no pod to delete")?;
    pods.delete(&victim, &DeleteOptions::default()).await?;
    step(started, &format!("deleted pod {victim}"));
    wait_for("a replacement ready", Duration::from_secs(30), || {
        let (pods, victim) = (pods.clone(), victim.clone());
        async move {
            let ready = ready_pods(&pods).await;
            ready.len() == 3 && ready.iter().all(|p| p.0 != victim)
        }
    })
    .await?;
    step(started, "the ReplicaSet replaced it; 3 replicas ready again:");
    for (name, node, ip) in ready_pods(&pods).await {
        println!("           {name:<24} on {node}  pod IP {ip}");
    }
    let answer = demo_server::get_when_serving(&format!("127.1.0.1:{node_port}")).await?;
    println!("           GET http://127.1.0.1:{node_port}/ -> {answer}");
    step(started, "demo complete");
    Ok(())
}

/// Deletes the demo and waits for its processes to stop, so nothing outlives the cluster.
async fn shutdown(store: &Arc<dyn ObjectStore>, agents: Vec<AgentHandle>, started: Instant) {
    let deployments: Api<orch_core::kinds::Deployment> = Api::namespaced(store.clone(), "default");
    let _ = deployments.delete("hello", &DeleteOptions::default()).await;
    let pods: Api<Pod> = Api::namespaced(store.clone(), "default");
    let gone = wait_for("the demo's pods to stop", Duration::from_secs(20), || {
        let pods = pods.clone();
        async move { pods.list(&ListParams::default().labels("app=hello")).await.is_ok_and(|l| l.items.is_empty()) }
    })
    .await;
    if let Err(e) = gone {
        println!("warning: {e}");
    }
    for a in agents {
        a.stop().await;
    }
    step(started, "stopped");
}
