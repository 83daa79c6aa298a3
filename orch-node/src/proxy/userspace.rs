//! `UserspaceBackend`: the `ProxyBackend` that forwards in this process, on tokio.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::Semaphore;
use tokio::task::AbortHandle;

use super::balancer::EndpointPool;
use super::pump::PumpConfig;
use super::tcp::{ConnShared, accept_loop};
use super::udp::serve_udp;
use super::{
    Protocol, ProxyBackend, ProxyConfig, ProxyError, ProxyMetrics, ServiceCounters, ServicePortKey, ServicePortRule,
};

/// Forwards every frontend through a tokio listener: TCP connections round-robin (or by client
/// IP) to the ready endpoints, bulk data by splice(2); UDP per client flow.
///
/// Must be programmed from inside a tokio runtime (its listeners are tasks of that runtime).
pub struct UserspaceBackend {
    shared: Arc<ConnShared>,
    metrics: Arc<ProxyMetrics>,
    udp_idle: Duration,
    served: Mutex<HashMap<ServicePortKey, Served>>,
}

struct Served {
    rule: ServicePortRule,
    pool: Arc<EndpointPool>,
    counters: ServiceCounters,
    listeners: HashMap<SocketAddr, AbortHandle>,
}

impl Drop for Served {
    fn drop(&mut self) {
        for h in self.listeners.values() {
            h.abort();
        }
        self.pool.close_all();
    }
}

impl UserspaceBackend {
    /// A backend with the data-path settings of `config`, counting into `metrics`.
    pub fn new(config: &ProxyConfig, metrics: Arc<ProxyMetrics>) -> Self {
        let shared = ConnShared {
            fds: Arc::new(Semaphore::new(config.max_fds.min(Semaphore::MAX_PERMITS))),
            pump: PumpConfig { splice: config.splice, pipe_size: config.pipe_size, buffer_size: config.buffer_size },
            connect_timeout: config.connect_timeout,
        };
        UserspaceBackend {
            shared: Arc::new(shared),
            metrics,
            udp_idle: config.udp_idle_timeout,
            served: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<ServicePortKey, Served>> {
        self.served.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Binds one frontend and starts its task.
    fn listen(&self, rt: &Handle, addr: SocketAddr, s: &Served) -> Result<AbortHandle, ProxyError> {
        let bind_err = |source| ProxyError::Bind { addr, source };
        let _guard = rt.enter();
        let (pool, counters, shared) = (s.pool.clone(), s.counters.clone(), self.shared.clone());
        match s.rule.key.protocol {
            Protocol::Tcp => {
                let std = std::net::TcpListener::bind(addr).map_err(bind_err)?;
                std.set_nonblocking(true).map_err(bind_err)?;
                let listener = tokio::net::TcpListener::from_std(std).map_err(bind_err)?;
                Ok(rt.spawn(accept_loop(listener, pool, counters, shared)).abort_handle())
            }
            Protocol::Udp => {
                let std = std::net::UdpSocket::bind(addr).map_err(bind_err)?;
                std.set_nonblocking(true).map_err(bind_err)?;
                let socket = tokio::net::UdpSocket::from_std(std).map_err(bind_err)?;
                Ok(rt.spawn(serve_udp(socket, pool, counters, shared, self.udp_idle)).abort_handle())
            }
        }
    }
}

impl ProxyBackend for UserspaceBackend {
    fn upsert(&self, rule: ServicePortRule) -> Result<(), ProxyError> {
        let rt = Handle::try_current().map_err(|_| ProxyError::NoRuntime)?;
        let mut served = self.lock();
        let s = served.entry(rule.key.clone()).or_insert_with(|| Served {
            counters: self.metrics.service(&rule.key),
            rule: rule.clone(),
            pool: Arc::new(EndpointPool::default()),
            listeners: HashMap::new(),
        });
        // Endpoints first, so a frontend bound below never sees the old set.
        s.pool.set(&rule.backends, rule.affinity);
        s.listeners.retain(|addr, h| {
            let keep = rule.frontends.contains(addr);
            if !keep {
                h.abort();
            }
            keep
        });
        s.rule = rule;
        let mut first_err = None;
        for addr in s.rule.frontends.clone() {
            if s.listeners.contains_key(&addr) {
                continue;
            }
            match self.listen(&rt, addr, s) {
                Ok(h) => {
                    s.listeners.insert(addr, h);
                }
                Err(e) => {
                    tracing::warn!(service = %s.rule.key, error = %e, "frontend not served");
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    fn remove(&self, key: &ServicePortKey) {
        if self.lock().remove(key).is_some() {
            self.metrics.forget(key);
        }
    }

    fn rules(&self) -> Vec<ServicePortRule> {
        let mut rules: Vec<_> = self.lock().values().map(|s| s.rule.clone()).collect();
        rules.sort_by(|a, b| a.key.cmp(&b.key));
        rules
    }
}
