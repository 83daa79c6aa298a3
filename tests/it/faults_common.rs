//! What the fault tests share: how many trials, node agents over inspectable fake runtimes,
//! and the audit of pods against what the runtimes really run.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use orch_core::ObjectStore;
use orch_core::kinds::{Deployment, Pod};
use orch_core::store::{Api, ListParams};
use orch_node::runtime::{ContainerInfo, ContainerRunState, ContainerRuntime, FakeRuntime};
use orch_node::{AgentConfig, AgentHandle, NodeAgent};

/// How many trials a fault test runs: `ORCH_FAULT_TRIALS` when set (a full run), else `default`.
pub fn trials(default: usize) -> usize {
    std::env::var("ORCH_FAULT_TRIALS").ok().and_then(|v| v.parse().ok()).filter(|n| *n > 0).unwrap_or(default)
}

/// A Deployment `name` of `replicas` pods labelled `app=<name>`, one container each.
pub fn deployment(name: &str, replicas: i32) -> Deployment {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "app", "ports": [{"containerPort": 80}]}]}}}
    }))
    .unwrap()
}

/// One node: a real `NodeAgent` over a `FakeRuntime` the test keeps, so the containers outlive
/// the agent and the test can see what really runs.
pub struct FaultNode {
    /// The node's name.
    pub name: String,
    /// Its runtime (shared by every agent this node gets).
    pub runtime: Arc<FakeRuntime>,
    /// The running agent, if any (dropping it stops it).
    pub agent: Option<AgentHandle>,
    index: u8,
}

impl FaultNode {
    /// A node with a fresh runtime and no agent yet.
    pub fn new(prefix: &str, index: u8) -> Self {
        FaultNode {
            name: format!("{prefix}-{index}"),
            runtime: Arc::new(FakeRuntime::new(Default::default())),
            agent: None,
            index,
        }
    }

    /// Starts an agent for this node on its runtime (frequent heartbeats and housekeeping).
    pub async fn start_agent(&mut self, store: &Arc<dyn ObjectStore>) {
        let config = AgentConfig::new(&self.name)
            .node_ip(std::net::Ipv4Addr::new(127, 1, 210, self.index + 1))
            .log_port(None)
            .heartbeat_interval(Duration::from_millis(300))
            .housekeeping_interval(Duration::from_millis(500))
            .retry_interval(Duration::from_millis(200));
        let agent = NodeAgent::new(config, store.clone(), self.runtime.clone()).start().await.unwrap();
        self.agent = Some(agent);
    }

    /// The containers of its runtime that are running.
    pub async fn running_containers(&self) -> Vec<ContainerInfo> {
        let all = self.runtime.list(&Default::default()).await.unwrap();
        all.into_iter().filter(|c| c.state == ContainerRunState::Running).collect()
    }
}

/// The pods of `app` in `default` (all of them, terminating ones included).
pub async fn app_pods(store: &Arc<dyn ObjectStore>, app: &str) -> Option<Vec<Pod>> {
    let pods: Api<Pod> = Api::namespaced(store.clone(), "default");
    pods.list(&ListParams::default().labels(format!("app={app}"))).await.ok().map(|l| l.items)
}

/// Live (not terminating) pods.
pub fn live(pods: &[Pod]) -> Vec<&Pod> {
    pods.iter().filter(|p| !p.metadata.is_deleting()).collect()
}

/// The pods against the runtimes, at one moment.
#[derive(Debug, Default)]
pub struct Audit {
    /// Pods looked at.
    pub pods_checked: usize,
    /// (pod uid, container) pairs running more than once, on one node or across nodes.
    pub duplicates: Vec<String>,
    /// Running pods without exactly one running container on their own node.
    pub missing: Vec<String>,
    /// Running containers whose pod is not a live pod of that node.
    pub strays: Vec<String>,
}

impl Audit {
    /// Whether pods and runtimes agree exactly.
    pub fn clean(&self) -> bool {
        self.duplicates.is_empty() && self.missing.is_empty() && self.strays.is_empty()
    }
}

/// Compares `pods` (every pod of the cluster that may have containers) with what the runtimes
/// of `nodes` run.
pub async fn audit(pods: &[Pod], nodes: &[FaultNode]) -> Audit {
    let mut running: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for node in nodes {
        for c in node.running_containers().await {
            running.entry((c.pod.uid.clone(), c.name.clone())).or_default().push(node.name.clone());
        }
    }
    let mut a = Audit { pods_checked: pods.len(), ..Default::default() };
    for ((uid, name), on) in &running {
        if on.len() > 1 {
            a.duplicates.push(format!("{uid}/{name} on {on:?}"));
        }
    }
    let live_here: BTreeSet<(String, String)> =
        live(pods).iter().filter_map(|p| Some((p.metadata.uid.clone()?, p.spec.node_name.clone()?))).collect();
    for ((uid, name), on) in &running {
        for node in on {
            if !live_here.contains(&(uid.clone(), node.clone())) {
                a.strays.push(format!("{uid}/{name} on {node}"));
            }
        }
    }
    for p in live(pods).into_iter().filter(|p| p.status.phase.as_deref() == Some("Running")) {
        let (Some(uid), Some(node)) = (p.metadata.uid.clone(), p.spec.node_name.clone()) else { continue };
        for c in &p.spec.containers {
            let on = running.get(&(uid.clone(), c.name.clone())).cloned().unwrap_or_default();
            if on != vec![node.clone()] {
                a.missing.push(format!("{}/{} of node {node} runs on {on:?}", p.metadata.name_str(), c.name));
            }
        }
    }
    a
}

/// Removes a directory when dropped (also when the test panics).
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    /// A fresh directory under the system temp dir.
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("orch-tests-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
