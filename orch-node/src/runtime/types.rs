//! What a container runtime is asked to run and what it reports back.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::BoxStream;
use orch_core::Timestamp;

use super::RuntimeError;

/// Label naming the pod's namespace on every container a runtime creates.
pub const LABEL_POD_NAMESPACE: &str = "orch.io/pod-namespace";
/// Label naming the pod.
pub const LABEL_POD_NAME: &str = "orch.io/pod-name";
/// Label carrying the pod's uid (what ties a container to exactly one pod object).
pub const LABEL_POD_UID: &str = "orch.io/pod-uid";
/// Label naming the container within its pod.
pub const LABEL_CONTAINER_NAME: &str = "orch.io/container-name";
/// Label naming the node whose agent created the container.
pub const LABEL_NODE_NAME: &str = "orch.io/node-name";

/// A runtime's identity of one container (one attempt of one container of one pod).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContainerId(pub String);

impl std::fmt::Display for ContainerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The pod a container belongs to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PodRef {
    /// Namespace of the pod.
    pub namespace: String,
    /// Name of the pod.
    pub name: String,
    /// Uid of the pod.
    pub uid: String,
}

/// Resource limits of one container, already converted to plain numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ContainerLimits {
    /// Memory limit in bytes.
    pub memory_bytes: Option<u64>,
    /// CPU limit in millicores.
    pub cpu_millis: Option<u64>,
}

/// Everything a runtime needs to create one container.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContainerConfig {
    /// The pod it belongs to.
    pub pod: PodRef,
    /// Node whose agent creates it.
    pub node_name: String,
    /// Container name within the pod.
    pub name: String,
    /// Attempt number (0 for the first start, then one more per restart).
    pub attempt: u32,
    /// Image (for the process runtime: a program path or a name on PATH).
    pub image: String,
    /// Entrypoint override (already `$(VAR)`-expanded).
    pub command: Vec<String>,
    /// Arguments (already `$(VAR)`-expanded).
    pub args: Vec<String>,
    /// Environment, in order.
    pub env: Vec<(String, String)>,
    /// Working directory.
    pub working_dir: Option<String>,
    /// The pod's IP address (the container's network identity).
    pub pod_ip: Option<String>,
    /// Hostname of the pod.
    pub hostname: Option<String>,
    /// Limits.
    pub limits: ContainerLimits,
    /// Extra labels; the runtime adds the `orch.io/*` labels itself.
    pub labels: BTreeMap<String, String>,
}

impl ContainerConfig {
    /// The labels a runtime stores with the container: the extra labels plus the `orch.io/*` ones.
    pub fn all_labels(&self) -> BTreeMap<String, String> {
        let mut labels = self.labels.clone();
        labels.insert(LABEL_POD_NAMESPACE.into(), self.pod.namespace.clone());
        labels.insert(LABEL_POD_NAME.into(), self.pod.name.clone());
        labels.insert(LABEL_POD_UID.into(), self.pod.uid.clone());
        labels.insert(LABEL_CONTAINER_NAME.into(), self.name.clone());
        labels.insert(LABEL_NODE_NAME.into(), self.node_name.clone());
        labels
    }
}

/// How a container ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExitInfo {
    /// Exit code (128 + signal when a signal ended it, as shells report).
    pub exit_code: i32,
    /// The signal that ended it, if any.
    pub signal: Option<i32>,
    /// Why, when the runtime knows more than the code (`OOMKilled`, `Unknown`).
    pub reason: Option<String>,
    /// When it exited.
    pub finished_at: Option<Timestamp>,
}

/// The state of one container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContainerRunState {
    /// Created, not started.
    Created,
    /// Running.
    Running,
    /// Exited.
    Exited(ExitInfo),
}

/// What a runtime reports about one container.
#[derive(Clone, Debug, PartialEq)]
pub struct ContainerInfo {
    /// Its id.
    pub id: ContainerId,
    /// The pod it belongs to.
    pub pod: PodRef,
    /// Container name within the pod.
    pub name: String,
    /// Attempt number.
    pub attempt: u32,
    /// Image it runs.
    pub image: String,
    /// Current state.
    pub state: ContainerRunState,
    /// When it started, once started.
    pub started_at: Option<Timestamp>,
    /// Operating-system process id, where there is one.
    pub pid: Option<i32>,
}

/// Which containers [`ContainerRuntime::list`](super::ContainerRuntime::list) returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only containers of the pod with this uid.
    pub pod_uid: Option<String>,
    /// Only containers created by the agent of this node.
    pub node_name: Option<String>,
}

impl ListFilter {
    /// Whether a container with these labels passes the filter.
    pub fn matches(&self, pod_uid: &str, node_name: &str) -> bool {
        self.pod_uid.as_deref().is_none_or(|u| u == pod_uid) && self.node_name.as_deref().is_none_or(|n| n == node_name)
    }
}

/// What part of a container's log to read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// Keep streaming new output until the container exits.
    pub follow: bool,
    /// Start with only the last N lines.
    pub tail_lines: Option<usize>,
}

/// A stream of log bytes.
pub type LogStream = BoxStream<'static, Result<Bytes, RuntimeError>>;

/// The outcome of a command run in a container.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecResult {
    /// Exit code (`-1` when it timed out).
    pub exit_code: i32,
    /// Standard output and error, interleaved.
    pub output: Vec<u8>,
    /// Whether it was killed for running over its timeout.
    pub timed_out: bool,
}

/// How long a graceful stop waits before force-killing.
pub fn grace_from_seconds(seconds: i64) -> Duration {
    Duration::from_secs(seconds.max(0) as u64)
}
