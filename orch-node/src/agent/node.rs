//! Node registration and heartbeats: the Node object, its Ready condition and its Lease.

use std::sync::Arc;

use orch_core::kinds::{
    Condition, DaemonEndpoint, Lease, LeaseSpec, Node, NodeAddress, NodeDaemonEndpoints, NodeStatus, NodeSystemInfo,
};
use orch_core::{Api, ObjectMeta, ObjectStore, StoreError, Timestamp};

use super::{AgentConfig, Ipv4Cidr, Shared};

/// Namespace of node heartbeat leases.
pub const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";

/// The status a node agent reports for its node.
/// `runtime_problem` is `None` while the container runtime answers, else why it does not.
pub(crate) fn node_status(
    config: &AgentConfig,
    runtime: &str,
    log_port: Option<u16>,
    runtime_problem: Option<&str>,
    now: Timestamp,
) -> NodeStatus {
    let mut ready = Condition::new("Ready", runtime_problem.is_none());
    match runtime_problem {
        None => {
            ready.reason = Some("KubeletReady".into());
            ready.message = Some("orch node agent is posting ready status".into());
        }
        Some(why) => {
            ready.reason = Some("KubeletNotReady".into());
            ready.message = Some(format!("container runtime is down: {why}"));
        }
    }
    ready.last_heartbeat_time = Some(now);
    ready.last_transition_time = Some(now);
    NodeStatus {
        capacity: config.capacity.clone(),
        allocatable: config.allocatable.clone().unwrap_or_else(|| config.capacity.clone()),
        conditions: vec![ready],
        addresses: vec![
            NodeAddress { type_: "InternalIP".into(), address: config.node_ip.to_string() },
            NodeAddress { type_: "Hostname".into(), address: config.node_name.clone() },
        ],
        daemon_endpoints: log_port
            .map(|port| NodeDaemonEndpoints { kubelet_endpoint: Some(DaemonEndpoint { port: i32::from(port) }) }),
        node_info: Some(NodeSystemInfo {
            container_runtime_version: format!("{runtime}://{}", env!("CARGO_PKG_VERSION")),
            kubelet_version: format!("orch-node/{}", env!("CARGO_PKG_VERSION")),
            operating_system: std::env::consts::OS.into(),
            architecture: match std::env::consts::ARCH {
                "x86_64" => "amd64".into(),
                "aarch64" => "arm64".into(),
                other => other.into(),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Creates the Node (or takes over an existing one) and writes its status; returns the Node
/// as stored (its `spec.podCIDR` may already be assigned).
pub(crate) async fn register(
    store: &Arc<dyn ObjectStore>,
    config: &AgentConfig,
    runtime: &str,
    log_port: Option<u16>,
) -> Result<Node, StoreError> {
    let nodes: Api<Node> = Api::all(store.clone());
    let mut meta = ObjectMeta::named(&config.node_name);
    meta.labels = config.labels.clone();
    meta.labels.insert("kubernetes.io/hostname".into(), config.node_name.clone());
    meta.labels.insert("kubernetes.io/os".into(), std::env::consts::OS.into());
    let node = Node { metadata: meta, ..Default::default() };
    let mut stored = match nodes.create(&node).await {
        Ok(n) => n,
        Err(StoreError::AlreadyExists { .. }) => nodes.get(&config.node_name).await?,
        Err(e) => return Err(e),
    };
    stored.status = node_status(config, runtime, log_port, None, Timestamp::now());
    stored.metadata.resource_version = None;
    nodes.update_status(&stored).await
}

/// Renews (or creates) the node's Lease.
pub(crate) async fn renew_lease(store: &Arc<dyn ObjectStore>, config: &AgentConfig) -> Result<(), StoreError> {
    let leases: Api<Lease> = Api::namespaced(store.clone(), NODE_LEASE_NAMESPACE);
    let now = Timestamp::now();
    let spec = |acquire: Option<Timestamp>| LeaseSpec {
        holder_identity: Some(config.node_name.clone()),
        lease_duration_seconds: Some(config.lease_duration.as_secs().max(1) as i32),
        acquire_time: acquire.or(Some(now)),
        renew_time: Some(now),
        lease_transitions: None,
    };
    match leases.get_opt(&config.node_name).await? {
        Some(mut lease) => {
            lease.spec = spec(lease.spec.acquire_time);
            leases.update(&lease).await.map(|_| ())
        }
        None => {
            let lease = Lease { metadata: ObjectMeta::named(&config.node_name), spec: spec(None) };
            match leases.create(&lease).await {
                Ok(_) | Err(StoreError::AlreadyExists { .. }) => Ok(()),
                Err(e) => Err(e),
            }
        }
    }
}

/// Refreshes the Ready condition (and its heartbeat time); returns the Node as stored.
pub(crate) async fn refresh_status(
    store: &Arc<dyn ObjectStore>,
    config: &AgentConfig,
    runtime: &str,
    log_port: Option<u16>,
    runtime_problem: Option<&str>,
) -> Result<Node, StoreError> {
    let nodes: Api<Node> = Api::all(store.clone());
    let mut node = match nodes.get_opt(&config.node_name).await? {
        Some(n) => n,
        None => return register(store, config, runtime, log_port).await,
    };
    let now = Timestamp::now();
    let mut status = node_status(config, runtime, log_port, runtime_problem, now);
    // Keep the transition time of an unchanged Ready condition.
    if let Some(old) = orch_core::kinds::find_condition(&node.status.conditions, "Ready")
        && let Some(new) = status.conditions.iter_mut().find(|c| c.type_ == "Ready")
        && old.status == new.status
    {
        new.last_transition_time = old.last_transition_time;
    }
    node.status = status;
    node.metadata.resource_version = None;
    nodes.update_status(&node).await
}

/// The status of the Ready condition of `node` (`True`, `False`, `Unknown`), if it has one.
pub(crate) fn ready_status(node: &Node) -> Option<String> {
    orch_core::kinds::find_condition(&node.status.conditions, "Ready").map(|c| c.status.clone())
}

/// Reads the agent's own Node and switches pod IP allocation to its `spec.podCIDR` when the
/// node IPAM controller has assigned (or changed) it. Returns the Node as read.
pub(crate) async fn sync_pod_cidr(shared: &Shared) -> Result<Node, StoreError> {
    let nodes: Api<Node> = Api::all(shared.store.clone());
    let node = nodes.get(&shared.config.node_name).await?;
    if let Some(r) = node.spec.pod_cidr.as_deref().and_then(Ipv4Cidr::parse) {
        if r != shared.ips.range() {
            tracing::info!(node = %shared.config.node_name, range = %r, "pod range assigned");
            shared.ips.set_range(r);
        }
        shared.cidr_learned.lock().unwrap_or_else(|e| e.into_inner()).0 = true;
    }
    Ok(node)
}
