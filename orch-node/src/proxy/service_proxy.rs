//! `ServiceProxy`: watches Services and Endpoints through the store contract and drives a backend.

use std::sync::Arc;

use orch_core::Resource;
use orch_core::kinds::{Endpoints, Service};
use orch_core::store::ObjectStore;
use tokio::task::JoinHandle;

use super::sync::RuleSync;
use super::watcher::{Change, KindWatch};
use super::{ProxyBackend, ProxyConfig, ProxyMetrics, RuleContext, UserspaceBackend};

/// The service proxy of a host (kube-proxy): one per host, serving ClusterIPs, the NodePorts of
/// its node addresses and load-balancer ingress addresses.
///
/// ```no_run
/// use std::sync::Arc;
/// use orch_core::store::ObjectStore;
/// use orch_node::proxy::{ProxyConfig, ServiceProxy};
///
/// async fn run(store: Arc<dyn ObjectStore>) {
///     let proxy = ServiceProxy::new(ProxyConfig::default().node_address("127.1.0.1".parse().unwrap()));
///     let handle = proxy.spawn(store);
///     // ... serve until shutdown; dropping the handle stops the proxy and closes its frontends.
///     println!("{}", handle.proxy().metrics_text());
/// }
/// ```
#[derive(Clone)]
pub struct ServiceProxy {
    config: ProxyConfig,
    backend: Arc<dyn ProxyBackend>,
    metrics: Arc<ProxyMetrics>,
}

impl ServiceProxy {
    /// A proxy forwarding in this process ([`UserspaceBackend`]).
    pub fn new(config: ProxyConfig) -> Self {
        let metrics = Arc::new(ProxyMetrics::default());
        let backend = Arc::new(UserspaceBackend::new(&config, metrics.clone()));
        ServiceProxy { config, backend, metrics }
    }

    /// A proxy driving another data path.
    pub fn with_backend(config: ProxyConfig, backend: Arc<dyn ProxyBackend>) -> Self {
        ServiceProxy { config, backend, metrics: Arc::new(ProxyMetrics::default()) }
    }

    /// The data path this proxy programs.
    pub fn backend(&self) -> &Arc<dyn ProxyBackend> {
        &self.backend
    }

    /// The metrics (per service port: active connections, bytes in and out, errors, refusals).
    pub fn metrics(&self) -> &Arc<ProxyMetrics> {
        &self.metrics
    }

    /// The metrics in the Prometheus text format.
    pub fn metrics_text(&self) -> String {
        self.metrics.encode()
    }

    /// Watches Services and Endpoints in all namespaces and keeps the backend in step, forever:
    /// store errors are retried with backoff, a compacted watch relists.
    pub async fn run(&self, store: Arc<dyn ObjectStore>) {
        let mut sync = RuleSync::new(RuleContext {
            node_addresses: self.config.node_addresses.clone(),
            default_affinity_timeout: self.config.default_affinity_timeout,
        });
        let mut services = KindWatch::new(store.clone(), Service::resource_type());
        let mut endpoints = KindWatch::new(store, Endpoints::resource_type());
        loop {
            let (kind, change) = tokio::select! {
                c = services.next() => (Service::KIND, c),
                c = endpoints.next() => (Endpoints::KIND, c),
            };
            let (b, m) = (self.backend.as_ref(), self.metrics.as_ref());
            match change {
                Change::Reset(items) => sync.reset(kind, &items, b, m),
                Change::Upsert(o) => sync.object(kind, &o, true, b, m),
                Change::Delete(o) => sync.object(kind, &o, false, b, m),
            }
        }
    }

    /// Runs the proxy as a task of the current tokio runtime.
    pub fn spawn(&self, store: Arc<dyn ObjectStore>) -> ProxyHandle {
        let proxy = self.clone();
        let task = tokio::spawn(async move { proxy.run(store).await });
        ProxyHandle { proxy: self.clone(), task }
    }
}

/// A running [`ServiceProxy`]; dropping it stops the proxy and removes every rule it applied.
pub struct ProxyHandle {
    proxy: ServiceProxy,
    task: JoinHandle<()>,
}

impl ProxyHandle {
    /// The proxy (metrics, backend).
    pub fn proxy(&self) -> &ServiceProxy {
        &self.proxy
    }
}

impl Drop for ProxyHandle {
    fn drop(&mut self) {
        self.task.abort();
        for r in self.proxy.backend.rules() {
            self.proxy.backend.remove(&r.key);
        }
    }
}
