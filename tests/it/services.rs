//! Services end to end: a Deployment of real processes (the `orch-whoami` HTTP server, run by
//! three node agents with the ProcessRuntime) behind a ClusterIP Service; the Endpoints follow
//! readiness, deletion and replacement.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use orch_core::ObjectStore;
use orch_core::kinds::{Deployment, Endpoints, Pod};
use orch_core::store::{Api, DeleteOptions, ListParams};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_follow_readiness_deletion_and_replacement_of_real_processes() {
    let cp = ControlPlane::start(ControlPlaneConfig::default()).await.unwrap();
    let store = cp.store();
    let (agents, _processes) = agents(store.clone(), "svc").await;
    let svc: orch_core::kinds::Service = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "whoami", "namespace": "default"},
        "spec": {"selector": {"app": "whoami"}, "ports": [{"port": 80, "targetPort": "http"}]}}))
    .unwrap();
    let svc = Api::namespaced(store.clone(), "default").create(&svc).await.unwrap();
    assert!(svc.spec.cluster_ip.as_deref().is_some_and(|ip| ip.starts_with("127.")), "a ClusterIP was allocated");
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
        let eps: Api<Endpoints> = Api::namespaced(store.clone(), "default");
        eprintln!("endpoints: {:?}", eps.get("whoami").await.map(|e| serde_json::to_string(&e).unwrap()));
        panic!("{e}");
    }
    let eps = ready_endpoints(&store, "whoami").await;
    let mut names = BTreeSet::new();
    for ip in &eps {
        names.insert(get(&format!("{ip}:{PORT}"), "/").await.unwrap());
    }
    assert_eq!(names.len(), 3, "each endpoint is a different replica: {names:?}");

    // A replica that turns not-ready leaves the endpoints; it comes back when ready again.
    let first = eps.iter().next().unwrap().clone();
    get(&format!("{first}:{PORT}"), "/unready").await.unwrap();
    wait_for("the unready replica out of the endpoints", Duration::from_secs(20), || {
        let (store, first) = (store.clone(), first.clone());
        async move { !ready_endpoints(&store, "whoami").await.contains(&first) }
    })
    .await
    .unwrap();
    get(&format!("{first}:{PORT}"), "/ready").await.unwrap();

    // A deleted replica is replaced; the endpoints end with three ready again, without it.
    let pods: Api<Pod> = Api::namespaced(store.clone(), "default");
    let victim = pods
        .list(&ListParams::default().labels("app=whoami"))
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|p| p.status.pod_ip.as_deref() == Some(first.as_str()))
        .expect("the pod behind the first endpoint");
    pods.delete(victim.metadata.name.as_deref().unwrap(), &DeleteOptions::default()).await.unwrap();
    wait_for("3 ready endpoints after the replacement", Duration::from_secs(30), || {
        let store = store.clone();
        async move { ready_endpoints(&store, "whoami").await.len() == 3 }
    })
    .await
    .unwrap();

    // Deleting the Deployment stops its processes (the agents see the pods go).
    Api::<Deployment>::namespaced(store.clone(), "default").delete("whoami", &Default::default()).await.unwrap();
    wait_for("every replica gone", Duration::from_secs(30), || {
        let pods = pods.clone();
        async move { pods.list(&ListParams::default().labels("app=whoami")).await.is_ok_and(|l| l.items.is_empty()) }
    })
    .await
    .unwrap();
    for a in agents {
        a.stop().await;
    }
    cp.stop().await;
}
