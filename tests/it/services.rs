//! Services end to end: a Deployment of real processes (the `orch-whoami` HTTP server, run by
//! three node agents with the ProcessRuntime) behind ClusterIP, NodePort and LoadBalancer
//! Services served by the service proxy; traffic follows readiness, deletion and replacement.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use orch_core::ObjectStore;
use orch_core::kinds::{Deployment, Endpoints, Pod};
use orch_core::store::{Api, DeleteOptions, ListParams};
use orch_node::proxy::{ProxyConfig, ServiceProxy};
use orch_node::runtime::{ProcessConfig, ProcessRuntime};
use orch_node::{AgentConfig, AgentHandle, NodeAgent};
use orch_tests::{ControlPlane, ControlPlaneConfig, wait_for};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::procs::ProcessGuard;

/// The pods listen on this port (distinct from other tests', which share the machine).
pub const PORT: u16 = 18_080;

pub fn deployment(replicas: i32) -> Deployment {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "whoami", "namespace": "default"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "whoami"}},
            "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {"metadata": {"labels": {"app": "whoami"}}, "spec": {
                "terminationGracePeriodSeconds": 1,
                "containers": [{"name": "web", "image": env!("CARGO_BIN_EXE_orch-whoami"),
                    "env": [{"name": "PORT", "value": PORT.to_string()},
                            {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                    "ports": [{"name": "http", "containerPort": PORT}],
                    "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 1, "failureThreshold": 1}}]}}}
    }))
    .expect("deployment manifest")
}

/// One HTTP GET to `addr`; the body, or the error.
pub async fn get(addr: &str, path: &str) -> Result<String, String> {
    let fut = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut out = String::new();
        s.read_to_string(&mut out).await.map_err(|e| e.to_string())?;
        out.split("\r\n\r\n").nth(1).map(|b| b.trim().to_string()).ok_or_else(|| format!("no body in {out:?}"))
    };
    tokio::time::timeout(Duration::from_secs(5), fut).await.map_err(|_| "timed out".to_string())?
}

/// Three agents with the process runtime on 127.1.7.1–3; their processes die with the guard.
pub async fn agents(store: Arc<dyn ObjectStore>, tag: &str) -> (Vec<AgentHandle>, ProcessGuard) {
    let guard = ProcessGuard::new(tag);
    let mut handles = Vec::new();
    for i in 1..=3u8 {
        let runtime =
            Arc::new(ProcessRuntime::new(ProcessConfig::default().state_dir(guard.0.join(format!("n{i}")))).unwrap());
        let config =
            AgentConfig::new(format!("{tag}-n{i}")).node_ip(std::net::Ipv4Addr::new(127, 1, 7, i)).log_port(Some(0));
        handles.push(NodeAgent::new(config, store.clone(), runtime).start().await.unwrap());
    }
    (handles, guard)
}

/// The ready endpoint addresses of a Service.
pub async fn ready_endpoints(store: &Arc<dyn ObjectStore>, name: &str) -> BTreeSet<String> {
    let eps: Api<Endpoints> = Api::namespaced(store.clone(), "default");
    eps.get(name)
        .await
        .map(|e| e.subsets.iter().flat_map(|s| s.addresses.iter().map(|a| a.ip.clone())).collect())
        .unwrap_or_default()
}

/// The replicas that answer `n` requests to `addr` (round-robin reaches each ready one).
async fn answering(addr: &str, n: usize) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for _ in 0..n {
        if let Ok(name) = get(addr, "/").await {
            names.insert(name);
        }
    }
    names
}

/// The pod names behind the ready endpoints of a Service in `default`.
pub async fn ready_names(store: &Arc<dyn ObjectStore>, service: &str) -> BTreeSet<String> {
    let eps: Api<Endpoints> = Api::namespaced(store.clone(), "default");
    eps.get(service)
        .await
        .map(|e| {
            e.subsets
                .iter()
                .flat_map(|s| s.addresses.iter().filter_map(|a| a.target_ref.as_ref().and_then(|r| r.name.clone())))
                .collect()
        })
        .unwrap_or_default()
}

fn service(name: &str, type_: &str) -> orch_core::kinds::Service {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"},
        "spec": {"type": type_, "selector": {"app": "whoami"}, "ports": [{"port": 80, "targetPort": "http"}]}}))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_route_to_ready_replicas_only_through_cluster_ip_node_port_and_load_balancer() {
    let _turn = crate::procs::network_turn().await;
    let cp = ControlPlane::start(ControlPlaneConfig::default()).await.unwrap();
    let store = cp.store();
    let (agents, _processes) = agents(store.clone(), "svc").await;
    let node_ips = (1..=3u8).map(|i| std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 1, 7, i)));
    let proxy = ServiceProxy::new(ProxyConfig::default().node_addresses(node_ips)).spawn(store.clone());
    let services: Api<orch_core::kinds::Service> = Api::namespaced(store.clone(), "default");
    let cluster_ip = services.create(&service("whoami", "ClusterIP")).await.unwrap().spec.cluster_ip.unwrap();
    let node_port = services.create(&service("whoami-np", "NodePort")).await.unwrap().spec.ports[0].node_port.unwrap();
    services.create(&service("whoami-lb", "LoadBalancer")).await.unwrap();
    Api::<Deployment>::namespaced(store.clone(), "default").create(&deployment(3)).await.unwrap();

    if let Err(e) = wait_for("3 ready endpoints", Duration::from_secs(30), || {
        let store = store.clone();
        async move { ready_endpoints(&store, "whoami").await.len() == 3 }
    })
    .await
    {
        let pods = Api::<Pod>::namespaced(store.clone(), "default").list(&Default::default()).await.unwrap();
        for p in pods.items {
            eprintln!(
                "{} node={:?} status={}",
                p.metadata.name_str(),
                p.spec.node_name,
                serde_json::to_string(&p.status).unwrap()
            );
        }
        panic!("{e}");
    }
    let replicas = ready_names(&store, "whoami").await;
    let lb_ingress = |svc: orch_core::kinds::Service| {
        svc.status.and_then(|st| st.load_balancer).and_then(|lb| lb.ingress.first().and_then(|i| i.ip.clone()))
    };
    wait_for("a LoadBalancer ingress address", Duration::from_secs(10), || {
        let services = services.clone();
        async move { services.get("whoami-lb").await.ok().and_then(lb_ingress).is_some() }
    })
    .await
    .unwrap();
    let lb_ip = lb_ingress(services.get("whoami-lb").await.unwrap()).unwrap();
    let frontends = [
        format!("{cluster_ip}:80"),
        format!("127.1.7.1:{node_port}"),
        format!("127.1.7.3:{node_port}"),
        format!("{lb_ip}:80"),
    ];
    for addr in &frontends {
        let seen = answering(addr, 6).await;
        assert_eq!(seen, replicas, "requests through {addr} reach every replica");
    }

    // A replica that turns not-ready stops receiving traffic.
    let eps = ready_endpoints(&store, "whoami").await;
    let first_ip = eps.iter().next().unwrap().clone();
    let unready = get(&format!("{first_ip}:{PORT}"), "/").await.unwrap();
    get(&format!("{first_ip}:{PORT}"), "/unready").await.unwrap();
    wait_for("the unready replica out of the endpoints", Duration::from_secs(20), || {
        let (store, unready) = (store.clone(), unready.clone());
        async move { !ready_names(&store, "whoami").await.contains(&unready) }
    })
    .await
    .unwrap();
    let ready = ready_names(&store, "whoami").await;
    assert_eq!(ready.len(), 2);
    for addr in &frontends {
        let seen = wait_answering(addr, &ready).await;
        assert_eq!(seen, ready, "through {addr}: only the two ready replicas answer");
    }
    get(&format!("{first_ip}:{PORT}"), "/ready").await.unwrap();
    wait_for("3 ready again", Duration::from_secs(20), || {
        let store = store.clone();
        async move { ready_names(&store, "whoami").await.len() == 3 }
    })
    .await
    .unwrap();

    // A deleted replica stops receiving traffic; its replacement starts receiving it.
    let pods: Api<Pod> = Api::namespaced(store.clone(), "default");
    let victim = ready_names(&store, "whoami").await.into_iter().next().unwrap();
    pods.delete(&victim, &DeleteOptions::default()).await.unwrap();
    wait_for("a replacement ready", Duration::from_secs(30), || {
        let (store, victim) = (store.clone(), victim.clone());
        async move {
            let names = ready_names(&store, "whoami").await;
            names.len() == 3 && !names.contains(&victim)
        }
    })
    .await
    .unwrap();
    let now = ready_names(&store, "whoami").await;
    for addr in &frontends {
        let seen = wait_answering(addr, &now).await;
        assert_eq!(seen, now, "through {addr}: the replacement answers, the deleted replica does not");
    }

    teardown(cp, agents, proxy).await;
}

/// Deletes the Deployment and waits for its processes to stop (the agents see the pods go),
/// then stops the proxy, the agents and the control plane.
pub async fn teardown(cp: ControlPlane, agents: Vec<AgentHandle>, proxy: orch_node::proxy::ProxyHandle) {
    let store = cp.store();
    Api::<Deployment>::namespaced(store.clone(), "default").delete("whoami", &Default::default()).await.unwrap();
    let pods: Api<Pod> = Api::namespaced(store, "default");
    wait_for("every replica gone", Duration::from_secs(30), || {
        let pods = pods.clone();
        async move { pods.list(&ListParams::default().labels("app=whoami")).await.is_ok_and(|l| l.items.is_empty()) }
    })
    .await
    .unwrap();
    drop(proxy);
    for a in agents {
        a.stop().await;
    }
    cp.stop().await;
}

/// Who answers through `addr` once the proxy has caught up with the endpoints: polled until
/// exactly `want` answer (a change takes effect within one event, but the proxy learns the
/// Endpoints a moment after the pods' status changes), or five seconds have passed.
async fn wait_answering(addr: &str, want: &BTreeSet<String>) -> BTreeSet<String> {
    let mut seen = answering(addr, 6).await;
    for _ in 0..50 {
        if &seen == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        seen = answering(addr, 6).await;
    }
    seen
}
