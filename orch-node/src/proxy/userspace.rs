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
use super::workers::{Workers, tcp_listener, udp_socket};
use super::{
    Protocol, ProxyBackend, ProxyConfig, ProxyError, ProxyMetrics, ServiceCounters, ServicePortKey, ServicePortRule,
};

/// Forwards every frontend through a tokio listener: TCP connections round-robin (or by client
/// IP) to the ready endpoints, bulk data by splice(2); UDP per client flow.
///
/// With [`ProxyConfig::workers`] > 0 it forwards on its own threads (one listener per worker
/// and frontend); with 0 it must be programmed from inside a tokio runtime and its listeners
/// are tasks of that runtime.
pub struct UserspaceBackend {
    workers: Option<Workers>,
    shared: Arc<ConnShared>,
    metrics: Arc<ProxyMetrics>,
    udp_idle: Duration,
    served: Mutex<HashMap<ServicePortKey, Served>>,
}

struct Served {
    rule: ServicePortRule,
    pool: Arc<EndpointPool>,
    counters: ServiceCounters,
    listeners: HashMap<SocketAddr, Vec<AbortHandle>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        for h in self.listeners.values().flatten() {
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
        let workers = match config.workers {
            0 => None,
            n => Workers::start(n)
                .inspect_err(|e| tracing::warn!(error = %e, "proxy workers not started; using the caller's runtime"))
                .ok(),
        };
        UserspaceBackend {
            workers,
            shared: Arc::new(shared),
            metrics,
            udp_idle: config.udp_idle_timeout,
            served: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<ServicePortKey, Served>> {
        self.served.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Binds one frontend (once per runtime) and starts its tasks.
    fn listen(&self, runtimes: &[Handle], addr: SocketAddr, s: &Served) -> Result<Vec<AbortHandle>, ProxyError> {
        let bind_err = |source| ProxyError::Bind { addr, source };
        let shared_port = runtimes.len() > 1;
        let mut tasks = Vec::with_capacity(runtimes.len());
        for rt in runtimes {
            let _guard = rt.enter();
            let (pool, counters, shared) = (s.pool.clone(), s.counters.clone(), self.shared.clone());
            let task = match s.rule.key.protocol {
                Protocol::Tcp => {
                    let listener =
                        tokio::net::TcpListener::from_std(tcp_listener(addr, shared_port).map_err(bind_err)?)
                            .map_err(bind_err)?;
                    rt.spawn(accept_loop(listener, pool, counters, shared))
                }
                Protocol::Udp => {
                    let socket = tokio::net::UdpSocket::from_std(udp_socket(addr, shared_port).map_err(bind_err)?)
                        .map_err(bind_err)?;
                    rt.spawn(serve_udp(socket, pool, counters, shared, self.udp_idle))
                }
            };
            tasks.push(task.abort_handle());
        }
        Ok(tasks)
    }
}

impl ProxyBackend for UserspaceBackend {
    fn upsert(&self, rule: ServicePortRule) -> Result<(), ProxyError> {
        let runtimes: Vec<Handle> = match &self.workers {
            Some(w) => w.handles().to_vec(),
            None => vec![Handle::try_current().map_err(|_| ProxyError::NoRuntime)?],
        };
        let mut served = self.lock();
        let s = served.entry(rule.key.clone()).or_insert_with(|| Served {
            counters: self.metrics.service(&rule.key),
            rule: rule.clone(),
            pool: Arc::new(EndpointPool::default()),
            listeners: HashMap::new(),
        });
        // Endpoints first, so a frontend bound below never sees the old set.
        s.pool.set(&rule.backends, rule.affinity);
        s.listeners.retain(|addr, tasks| {
            let keep = rule.frontends.contains(addr);
            if !keep {
                tasks.iter().for_each(AbortHandle::abort);
            }
            keep
        });
        s.rule = rule;
        let mut first_err = None;
        for addr in s.rule.frontends.clone() {
            if s.listeners.contains_key(&addr) {
                continue;
            }
            match self.listen(&runtimes, addr, s) {
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
