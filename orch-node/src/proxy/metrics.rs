//! `ProxyMetrics`: active connections, bytes and errors per service port, in Prometheus form.

use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::ServicePortKey;

/// Labels of every per-service series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceLabels {
    namespace: String,
    service: String,
    port: String,
    protocol: String,
}

impl From<&ServicePortKey> for ServiceLabels {
    fn from(k: &ServicePortKey) -> Self {
        ServiceLabels {
            namespace: k.namespace.clone(),
            service: k.name.clone(),
            port: k.port.clone(),
            protocol: k.protocol.as_str().to_owned(),
        }
    }
}

/// The proxy's metrics registry (`orch_proxy_*`).
///
/// ```
/// use orch_node::proxy::{ProxyMetrics, ServicePortKey, Protocol};
/// let m = ProxyMetrics::default();
/// let c = m.service(&ServicePortKey::new("default", "web", "", Protocol::Tcp));
/// c.bytes_in.inc_by(10);
/// assert!(m.encode().contains("orch_proxy_bytes_in_total{namespace=\"default\",service=\"web\""));
/// ```
pub struct ProxyMetrics {
    registry: Mutex<Registry>,
    active: Family<ServiceLabels, Gauge>,
    bytes_in: Family<ServiceLabels, Counter>,
    bytes_out: Family<ServiceLabels, Counter>,
    spliced: Family<ServiceLabels, Counter>,
    errors: Family<ServiceLabels, Counter>,
    refused: Family<ServiceLabels, Counter>,
    sync_errors: Counter,
}

/// Handles on the series of one service port (cheap clones of shared atomics).
#[derive(Clone, Debug, Default)]
pub struct ServiceCounters {
    /// Connections (TCP) or flows (UDP) open now.
    pub active: Gauge,
    /// Bytes from clients to endpoints.
    pub bytes_in: Counter,
    /// Bytes from endpoints to clients.
    pub bytes_out: Counter,
    /// Bytes of either direction moved by splice(2), without copying through user space.
    pub spliced: Counter,
    /// Failed connects to endpoints, resets and other I/O errors.
    pub errors: Counter,
    /// Connections refused: no ready endpoint, or the file-descriptor bound reached.
    pub refused: Counter,
}

impl Default for ProxyMetrics {
    fn default() -> Self {
        let m = ProxyMetrics {
            registry: Mutex::new(Registry::default()),
            active: Family::default(),
            bytes_in: Family::default(),
            bytes_out: Family::default(),
            spliced: Family::default(),
            errors: Family::default(),
            refused: Family::default(),
            sync_errors: Counter::default(),
        };
        {
            let mut r = m.lock();
            r.register("orch_proxy_active_connections", "Open proxied connections", m.active.clone());
            r.register("orch_proxy_bytes_in", "Bytes from clients to endpoints", m.bytes_in.clone());
            r.register("orch_proxy_bytes_out", "Bytes from endpoints to clients", m.bytes_out.clone());
            r.register("orch_proxy_spliced_bytes", "Bytes moved by splice(2)", m.spliced.clone());
            r.register("orch_proxy_errors", "Endpoint connect failures and I/O errors", m.errors.clone());
            r.register("orch_proxy_refused", "Connections refused (no endpoint, fd bound)", m.refused.clone());
            r.register("orch_proxy_sync_errors", "Rules the data path could not apply", m.sync_errors.clone());
        }
        m
    }
}

impl ProxyMetrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The series of one service port (created on first use).
    pub fn service(&self, key: &ServicePortKey) -> ServiceCounters {
        let l = ServiceLabels::from(key);
        ServiceCounters {
            active: self.active.get_or_create(&l).clone(),
            bytes_in: self.bytes_in.get_or_create(&l).clone(),
            bytes_out: self.bytes_out.get_or_create(&l).clone(),
            spliced: self.spliced.get_or_create(&l).clone(),
            errors: self.errors.get_or_create(&l).clone(),
            refused: self.refused.get_or_create(&l).clone(),
        }
    }

    /// Drops the series of a service port that is no longer served.
    pub fn forget(&self, key: &ServicePortKey) {
        let l = ServiceLabels::from(key);
        for f in [&self.bytes_in, &self.bytes_out, &self.spliced, &self.errors, &self.refused] {
            f.remove(&l);
        }
        self.active.remove(&l);
    }

    /// Counts a rule the data path failed to apply.
    pub fn sync_error(&self) {
        self.sync_errors.inc();
    }

    /// All series in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.lock()).is_err() {
            out.clear();
        }
        out
    }
}
