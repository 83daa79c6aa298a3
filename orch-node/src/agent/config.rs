//! `AgentConfig`: everything a node agent is told about its node and its timing.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use orch_core::Quantity;

use crate::backoff::BackoffConfig;

/// Configuration of a [`NodeAgent`](super::NodeAgent). Defaults follow Kubernetes where it has
/// them; every field has a by-value setter.
///
/// ```
/// use std::time::Duration;
/// use orch_node::agent::AgentConfig;
/// let c = AgentConfig::new("node-7").node_ip([127, 1, 0, 7].into()).heartbeat_interval(Duration::from_secs(1));
/// assert_eq!(c.node_name, "node-7");
/// assert_eq!(c.lease_duration, Duration::from_secs(40));
/// assert_eq!(c.effective_fallback_pod_cidr(), "127.96.7.0/24");
/// ```
#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// The node's name.
    pub node_name: String,
    /// The node's address (default 127.1.0.1; the address plan gives nodes 127.1.0.0/16).
    pub node_ip: Ipv4Addr,
    /// Pod range used until the node IPAM controller assigns `spec.podCIDR`. `None` (the
    /// default) derives one from the node address, so agents sharing a machine never collide:
    /// node `127.1.a.b` uses `127.(96 + a % 32).b.0/24`, in the upper half of the pod ranges,
    /// which the IPAM controller (allocating from 127.64.0.0 upwards) reaches last.
    pub fallback_pod_cidr: Option<String>,
    /// Labels of the Node (besides `kubernetes.io/hostname`).
    pub labels: BTreeMap<String, String>,
    /// Capacity reported (and allocatable, unless set apart).
    pub capacity: BTreeMap<String, Quantity>,
    /// Allocatable resources; `None` = the capacity.
    pub allocatable: Option<BTreeMap<String, Quantity>>,
    /// How long a lease renewal keeps the node alive (default 40 s).
    pub lease_duration: Duration,
    /// How often the lease is renewed (default 10 s).
    pub heartbeat_interval: Duration,
    /// How often the Node's status (heartbeat time of its conditions) is rewritten (default 60 s).
    pub node_status_interval: Duration,
    /// Crash-loop backoff (per pod overridable by annotations).
    pub backoff: BackoffConfig,
    /// Port of the log endpoint on the node address; `Some(0)` picks a free one, `None`
    /// serves none (default 10250).
    pub log_port: Option<u16>,
    /// Wait before re-establishing a failed watch.
    pub retry_interval: Duration,
    /// How often the pod loop does housekeeping: containers of this node whose pod it no
    /// longer has (no worker and not awaiting adoption) are stopped and removed, as the
    /// kubelet's housekeeping does (2 s).
    pub housekeeping_interval: Duration,
}

impl AgentConfig {
    /// Defaults for a node of this name.
    pub fn new(node_name: impl Into<String>) -> Self {
        let capacity = [("cpu", "4"), ("memory", "8Gi"), ("pods", "110")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Quantity::new(v)))
            .collect();
        AgentConfig {
            node_name: node_name.into(),
            node_ip: Ipv4Addr::new(127, 1, 0, 1),
            fallback_pod_cidr: None,
            labels: BTreeMap::new(),
            capacity,
            allocatable: None,
            lease_duration: Duration::from_secs(40),
            heartbeat_interval: Duration::from_secs(10),
            node_status_interval: Duration::from_secs(60),
            backoff: BackoffConfig::default(),
            log_port: Some(10250),
            retry_interval: Duration::from_secs(1),
            housekeeping_interval: Duration::from_secs(2),
        }
    }

    /// Sets the node address.
    pub fn node_ip(mut self, ip: Ipv4Addr) -> Self {
        self.node_ip = ip;
        self
    }

    /// Sets the fallback pod range.
    pub fn fallback_pod_cidr(mut self, cidr: impl Into<String>) -> Self {
        self.fallback_pod_cidr = Some(cidr.into());
        self
    }

    /// The fallback pod range: the configured one, else the one derived from the node address.
    pub fn effective_fallback_pod_cidr(&self) -> String {
        self.fallback_pod_cidr.clone().unwrap_or_else(|| {
            let [_, _, a, b] = self.node_ip.octets();
            format!("127.{}.{b}.0/24", 96 + a % 32)
        })
    }

    /// Adds a node label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Sets one capacity entry (`cpu`, `memory`, `pods`, ...).
    pub fn capacity(mut self, resource: impl Into<String>, quantity: impl Into<String>) -> Self {
        self.capacity.insert(resource.into(), Quantity::new(quantity));
        self
    }

    /// Sets the lease duration.
    pub fn lease_duration(mut self, d: Duration) -> Self {
        self.lease_duration = d;
        self
    }

    /// Sets the lease renewal interval.
    pub fn heartbeat_interval(mut self, d: Duration) -> Self {
        self.heartbeat_interval = d;
        self
    }

    /// Sets the node status interval.
    pub fn node_status_interval(mut self, d: Duration) -> Self {
        self.node_status_interval = d;
        self
    }

    /// Sets the crash-loop backoff.
    pub fn backoff(mut self, backoff: BackoffConfig) -> Self {
        self.backoff = backoff;
        self
    }

    /// Sets the log endpoint port (`Some(0)`: any free port; `None`: no endpoint).
    pub fn log_port(mut self, port: Option<u16>) -> Self {
        self.log_port = port;
        self
    }

    /// Sets the watch retry interval.
    pub fn retry_interval(mut self, d: Duration) -> Self {
        self.retry_interval = d;
        self
    }

    /// Sets the housekeeping interval.
    pub fn housekeeping_interval(mut self, d: Duration) -> Self {
        self.housekeeping_interval = d;
        self
    }
}
