//! `ProxyConfig`: node addresses, descriptor bound, affinity and data-path settings.

use std::net::IpAddr;
use std::time::Duration;

use super::DEFAULT_AFFINITY_TIMEOUT;

/// Settings of a [`ServiceProxy`](super::ServiceProxy) and its [`UserspaceBackend`](super::UserspaceBackend).
///
/// ```
/// use std::time::Duration;
/// use orch_node::proxy::ProxyConfig;
/// let cfg = ProxyConfig::default()
///     .node_address("127.1.0.1".parse().unwrap())
///     .max_fds(4096)
///     .udp_idle_timeout(Duration::from_secs(5));
/// assert_eq!(cfg.node_addresses.len(), 1);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyConfig {
    /// Local node addresses on which NodePorts are served (none by default).
    pub node_addresses: Vec<IpAddr>,
    /// Most file descriptors held for proxied traffic (a TCP connection takes 2, plus 2 per
    /// direction that moved to splice; a UDP flow 1). Connections beyond it are refused and
    /// counted. Default: three quarters of the process's soft `RLIMIT_NOFILE`.
    pub max_fds: usize,
    /// `ClientIP` affinity timeout when a Service sets none (10800 s, as Kubernetes).
    pub default_affinity_timeout: Duration,
    /// A UDP flow without traffic either way for this long ends (30 s).
    pub udp_idle_timeout: Duration,
    /// Limit on connecting to an endpoint before trying another (2 s).
    pub connect_timeout: Duration,
    /// Use splice(2) for bulk transfers (true); false copies through user space always.
    pub splice: bool,
    /// Pipe capacity asked for each spliced direction (1 MiB; the kernel may grant less).
    pub pipe_size: usize,
    /// Copy buffer per direction (16 KiB); a read that fills it switches the direction to splice.
    pub buffer_size: usize,
    /// Threads the data path runs on, each a single-threaded runtime with its own listener per
    /// frontend (default: the number of CPUs). 0 runs it on the caller's tokio runtime.
    pub workers: usize,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile).current.unwrap_or(1 << 20);
        let max_fds = usize::try_from(soft / 4 * 3).unwrap_or(usize::MAX).max(64);
        ProxyConfig {
            node_addresses: Vec::new(),
            max_fds,
            default_affinity_timeout: DEFAULT_AFFINITY_TIMEOUT,
            udp_idle_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(2),
            splice: true,
            pipe_size: 1 << 20,
            buffer_size: 16 * 1024,
            workers: std::thread::available_parallelism().map_or(1, usize::from),
        }
    }
}

impl ProxyConfig {
    /// Adds a node address whose NodePorts this proxy serves.
    pub fn node_address(mut self, ip: IpAddr) -> Self {
        self.node_addresses.push(ip);
        self
    }

    /// Replaces the node addresses.
    pub fn node_addresses(mut self, ips: impl IntoIterator<Item = IpAddr>) -> Self {
        self.node_addresses = ips.into_iter().collect();
        self
    }

    /// Sets the bound on file descriptors held for proxied traffic.
    pub fn max_fds(mut self, n: usize) -> Self {
        self.max_fds = n;
        self
    }

    /// Sets the default `ClientIP` affinity timeout.
    pub fn default_affinity_timeout(mut self, d: Duration) -> Self {
        self.default_affinity_timeout = d;
        self
    }

    /// Sets the UDP flow idle timeout.
    pub fn udp_idle_timeout(mut self, d: Duration) -> Self {
        self.udp_idle_timeout = d;
        self
    }

    /// Sets the endpoint connect timeout.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Turns splice(2) on or off.
    pub fn splice(mut self, on: bool) -> Self {
        self.splice = on;
        self
    }

    /// Sets the pipe capacity for spliced directions.
    pub fn pipe_size(mut self, bytes: usize) -> Self {
        self.pipe_size = bytes;
        self
    }

    /// Sets the number of data-path threads (0: the caller's runtime).
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n;
        self
    }

    /// Sets the copy buffer size per direction.
    pub fn buffer_size(mut self, bytes: usize) -> Self {
        self.buffer_size = bytes;
        self
    }
}
