//! `RegistryConfig`: limits and defaults of the object registry.

/// Settings of a [`Registry`](super::Registry); a plain struct with `Default` and by-value builders.
///
/// ```
/// use orch_store::registry::RegistryConfig;
/// let c = RegistryConfig::default().uid_seed(42).watch_buffer(128);
/// assert_eq!(c.bootstrap_namespaces, ["default", "kube-system", "kube-node-lease"]);
/// assert_eq!(c.max_object_bytes, 1_572_864);
/// ```
#[derive(Clone, Debug)]
pub struct RegistryConfig {
    /// Largest encoded object accepted, in bytes (etcd's default request limit, 1.5 MiB).
    pub max_object_bytes: usize,
    /// Seed of the uid and name generator; `None` seeds from the clock. Fix it for reproducible runs.
    pub uid_seed: Option<u64>,
    /// Namespaces created when the registry starts, if missing.
    pub bootstrap_namespaces: Vec<String>,
    /// Events buffered per watcher before a watcher that does not keep up is ended (it then
    /// resumes from its last resourceVersion).
    pub watch_buffer: usize,
    /// Decoded events kept per kind so new watchers can start from a recent resourceVersion
    /// without reading the store's history.
    pub watch_history: usize,
    /// Grace period of a pod deletion when neither the request nor the pod sets one, in seconds.
    pub default_pod_grace_seconds: i64,
    /// How many times an unconditional write (patch, status without resourceVersion, binding)
    /// is retried when it races another writer.
    pub max_write_retries: usize,
    /// Where Services' ClusterIPs and NodePorts come from.
    pub service_ranges: super::ServiceRanges,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            max_object_bytes: 1_572_864,
            uid_seed: None,
            bootstrap_namespaces: vec!["default".into(), "kube-system".into(), "kube-node-lease".into()],
            watch_buffer: 4096,
            watch_history: 10_000,
            default_pod_grace_seconds: 30,
            max_write_retries: 32,
            service_ranges: super::ServiceRanges::default(),
        }
    }
}

impl RegistryConfig {
    /// Sets the ClusterIP and NodePort ranges.
    pub fn service_ranges(mut self, ranges: super::ServiceRanges) -> Self {
        self.service_ranges = ranges;
        self
    }

    /// Sets the uid seed.
    pub fn uid_seed(mut self, seed: u64) -> Self {
        self.uid_seed = Some(seed);
        self
    }
    /// Sets the per-watcher buffer.
    pub fn watch_buffer(mut self, events: usize) -> Self {
        self.watch_buffer = events.max(1);
        self
    }
    /// Sets the decoded history kept per kind.
    pub fn watch_history(mut self, events: usize) -> Self {
        self.watch_history = events;
        self
    }
    /// Sets the largest object accepted.
    pub fn max_object_bytes(mut self, bytes: usize) -> Self {
        self.max_object_bytes = bytes;
        self
    }
    /// Sets the default pod grace period.
    pub fn default_pod_grace_seconds(mut self, seconds: i64) -> Self {
        self.default_pod_grace_seconds = seconds;
        self
    }
}
