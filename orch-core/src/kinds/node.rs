//! `Node` (core/v1): a machine that runs pods, with capacity, taints, addresses and conditions.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Condition;
use crate::{ObjectMeta, Quantity, Timestamp};

/// A worker machine, registered and kept alive by its node agent.
///
/// ```
/// use orch_core::kinds::{Node, Taint};
/// let node: Node = serde_json::from_value(serde_json::json!({
///     "metadata": {"name": "n1"},
///     "spec": {"taints": [{"key": "gpu", "value": "true", "effect": "NoSchedule"}]},
///     "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}
/// })).unwrap();
/// assert_eq!(node.spec.taints[0], Taint { key: "gpu".into(), value: Some("true".into()), effect: "NoSchedule".into(), time_added: None });
/// assert_eq!(node.status.allocatable["memory"].0, "8Gi");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    /// Standard metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Desired state.
    #[serde(default)]
    pub spec: NodeSpec,
    /// Observed state, reported by the node agent.
    #[serde(default)]
    pub status: NodeStatus,
}

/// Desired state of a node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeSpec {
    /// The pod IP range assigned to this node (e.g. `127.64.3.0/24`).
    #[serde(default, rename = "podCIDR", skip_serializing_if = "Option::is_none")]
    pub pod_cidr: Option<String>,
    /// All pod IP ranges of this node.
    #[serde(default, rename = "podCIDRs", skip_serializing_if = "Vec::is_empty")]
    pub pod_cidrs: Vec<String>,
    /// Provider-specific identity of the machine.
    #[serde(default, rename = "providerID", skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
    /// When true, no new pods are scheduled here (cordon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unschedulable: Option<bool>,
    /// Taints that repel pods without matching tolerations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<Taint>,
}

/// A taint: pods that do not tolerate it are not scheduled (`NoSchedule`), are less preferred
/// (`PreferNoSchedule`), or are evicted (`NoExecute`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Taint {
    /// Taint key.
    pub key: String,
    /// Taint value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    pub effect: String,
    /// When a `NoExecute` taint was added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_added: Option<Timestamp>,
}

/// Observed state of a node.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeStatus {
    /// Total resources of the node (`cpu`, `memory`, `pods`, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub capacity: BTreeMap<String, Quantity>,
    /// Resources available to pods.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub allocatable: BTreeMap<String, Quantity>,
    /// Conditions such as `Ready`, `MemoryPressure`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Addresses of the node (`InternalIP`, `Hostname`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<NodeAddress>,
    /// Endpoints of daemons on the node (the agent's port).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daemon_endpoints: Option<NodeDaemonEndpoints>,
    /// Facts about the node's software.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_info: Option<NodeSystemInfo>,
    /// Images present on the node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<ContainerImage>,
    /// Lifecycle phase (deprecated in Kubernetes; kept for compatibility).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
}

/// One address of a node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeAddress {
    /// `InternalIP`, `ExternalIP`, `Hostname`, ...
    #[serde(rename = "type")]
    pub type_: String,
    /// The address.
    pub address: String,
}

/// Ports of daemons running on the node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeDaemonEndpoints {
    /// The node agent's endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubelet_endpoint: Option<DaemonEndpoint>,
}

/// A daemon's port.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DaemonEndpoint {
    /// Port number.
    #[serde(rename = "Port")]
    pub port: i32,
}

/// Facts about a node's software.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeSystemInfo {
    /// Machine identity.
    #[serde(default, rename = "machineID")]
    pub machine_id: String,
    /// Kernel version.
    #[serde(default)]
    pub kernel_version: String,
    /// Operating system image.
    #[serde(default)]
    pub os_image: String,
    /// Container runtime name and version.
    #[serde(default)]
    pub container_runtime_version: String,
    /// Node agent version.
    #[serde(default)]
    pub kubelet_version: String,
    /// Operating system (`linux`).
    #[serde(default)]
    pub operating_system: String,
    /// CPU architecture (`amd64`).
    #[serde(default)]
    pub architecture: String,
}

/// An image present on a node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerImage {
    /// Names (tags and digests) of the image.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<i64>,
}

crate::resource!(
    Node,
    group = "",
    version = "v1",
    plural = "nodes",
    scope = Cluster,
    validate = crate::validation::kinds::validate_node
);
