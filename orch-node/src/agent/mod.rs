//! The node agent: registers its Node, heartbeats through its Lease, runs the pods bound to it
//! and reports their status.
//!
//! - **Node**: created (or taken over) with capacity, allocatable, addresses (`InternalIP` =
//!   [`AgentConfig::node_ip`], from 127.1.0.0/16 by default), `Ready` and the log endpoint's
//!   port in `status.daemonEndpoints.kubeletEndpoint.Port`. The Lease `kube-node-lease/<node>`
//!   is renewed every [`AgentConfig::heartbeat_interval`] (10 s; lease 40 s); the status is
//!   rewritten every [`AgentConfig::node_status_interval`], `Ready` following the runtime's health,
//!   and at the next heartbeat when someone else changed the `Ready` condition it reported.
//! - **Pods**: only those with `spec.nodeName=<node>` are listed and watched; the watch resumes
//!   after errors and relists after `Gone`. Each pod gets one worker task that starts init
//!   containers one by one to completion, then the containers in order; restarts them per
//!   `restartPolicy` with crash backoff ([`BackoffConfig`](crate::BackoffConfig): 10 s doubling
//!   to 300 s, reset after 10 min running; per pod through the `orch.io/backoff-*-seconds`
//!   annotations); runs startup, liveness and readiness probes; enforces
//!   `activeDeadlineSeconds`; and writes the pod's status only when it changed. On deletion it
//!   stops the containers within the grace period, removes them and confirms the deletion (a
//!   delete with grace period 0 and the pod's uid as precondition).
//! - **Addresses and environment**: every pod gets its own IP from the Node's `spec.podCIDR`
//!   (re-read every heartbeat), else from [`AgentConfig::fallback_pod_cidr`]; containers get
//!   the downward API (`valueFrom.fieldRef`), `$(VAR)` expansion in command and args, and
//!   `{NAME}_SERVICE_HOST` / `{NAME}_SERVICE_PORT` for the Services of the namespace.
//! - **Logs**: see [`log_path`] for the HTTP endpoint.
//! - **Restarts**: a new agent adopts the containers its runtime reports for its pods (keeping
//!   restart counts and pod IPs) and kills containers of pods that no longer exist; a pod that
//!   had finished is not run again. Stopping an agent leaves its containers running, and so
//!   does a crash ([`AgentHandle::abort`]).
//! - **Housekeeping**: every [`AgentConfig::housekeeping_interval`] (2 s) the pod loop stops
//!   and removes this node's containers whose pod it no longer has.

mod config;
mod env;
mod error;
mod ip;
mod logs;
mod node;
mod pods;
mod services;
mod slot;
mod status;
mod worker;

use std::net::SocketAddr;
use std::sync::Arc;

use orch_core::ObjectStore;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::AgentConfig;
pub use env::{container_env, expand, expand_command, field_value, service_env};
pub use error::AgentError;
pub use ip::{Ipv4Cidr, PodIpAllocator};
pub use logs::log_path;
pub use node::NODE_LEASE_NAMESPACE;

use crate::runtime::ContainerRuntime;

/// What every part of one agent shares.
pub(crate) struct Shared {
    pub config: AgentConfig,
    pub store: Arc<dyn ObjectStore>,
    pub runtime: Arc<dyn ContainerRuntime>,
    pub ips: PodIpAllocator,
    /// Whether `ips` uses the Node's own `spec.podCIDR` (not the fallback range yet), and
    /// when the Node was last read to learn it.
    pub cidr_learned: std::sync::Mutex<(bool, Option<std::time::Instant>)>,
    /// The running pod workers (so a crash can abort them too).
    pub worker_tasks: Arc<WorkerTasks>,
    /// The cluster's Services, for containers' environment.
    pub services: Arc<services::ServiceCache>,
}

/// The pod workers' tasks, by pod uid.
#[derive(Default)]
pub(crate) struct WorkerTasks(std::sync::Mutex<std::collections::HashMap<String, tokio::task::AbortHandle>>);

impl WorkerTasks {
    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, tokio::task::AbortHandle>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn insert(&self, uid: String, task: tokio::task::AbortHandle) {
        self.lock().insert(uid, task);
    }

    pub(crate) fn remove(&self, uid: &str) {
        self.lock().remove(uid);
    }

    /// Aborts every worker.
    fn abort_all(&self) {
        for (_, task) in self.lock().drain() {
            task.abort();
        }
    }
}

impl Shared {
    /// Before a pod gets its IP: while the agent still uses its fallback range, reads the Node
    /// (at most once a second) to learn the `spec.podCIDR` the IPAM controller assigned, so a
    /// pod admitted right after registration already gets an address from the node's own range.
    pub(crate) async fn learn_pod_cidr(&self) {
        {
            let mut state = self.cidr_learned.lock().unwrap_or_else(|e| e.into_inner());
            let recent = state.1.is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(1));
            if state.0 || recent {
                return;
            }
            state.1 = Some(std::time::Instant::now());
        }
        if let Err(e) = node::sync_pod_cidr(self).await {
            tracing::warn!(node = %self.config.node_name, error = %e, "reading the node failed");
        }
    }
}

/// A node agent (the kubelet of orch).
///
/// ```no_run
/// use std::sync::Arc;
/// use orch_node::agent::{AgentConfig, NodeAgent};
/// use orch_node::runtime::{ProcessConfig, ProcessRuntime};
/// # async fn demo(store: Arc<dyn orch_core::ObjectStore>) -> Result<(), Box<dyn std::error::Error>> {
/// let runtime = Arc::new(ProcessRuntime::new(ProcessConfig::default())?);
/// let agent = NodeAgent::new(AgentConfig::new("node-1"), store, runtime).start().await?;
/// // ... pods bound to node-1 now run as processes ...
/// agent.stop().await;
/// # Ok(()) }
/// ```
pub struct NodeAgent {
    config: AgentConfig,
    store: Arc<dyn ObjectStore>,
    runtime: Arc<dyn ContainerRuntime>,
}

/// A running agent; dropping it (or [`AgentHandle::stop`]) stops the agent's loops but leaves
/// its containers running, for the next agent on this node to adopt.
pub struct AgentHandle {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    workers: Arc<WorkerTasks>,
    log_addr: Option<SocketAddr>,
}

impl NodeAgent {
    /// An agent for `config.node_name`, talking to `store` and running pods on `runtime`.
    pub fn new(config: AgentConfig, store: Arc<dyn ObjectStore>, runtime: Arc<dyn ContainerRuntime>) -> Self {
        NodeAgent { config, store, runtime }
    }

    /// Registers the node, starts the log endpoint, the heartbeat and the pod loop.
    ///
    /// # Errors
    /// A bad fallback pod range, a log port that cannot be bound, or a failed registration.
    pub async fn start(self) -> Result<AgentHandle, AgentError> {
        let fallback_text = self.config.effective_fallback_pod_cidr();
        let fallback = Ipv4Cidr::parse(&fallback_text).ok_or_else(|| AgentError::Config {
            field: "fallback_pod_cidr",
            reason: format!("{fallback_text:?} is not an IPv4 CIDR"),
        })?;
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        let mut log_addr = None;
        if let Some(port) = self.config.log_port {
            let addr = SocketAddr::from((self.config.node_ip, port));
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| AgentError::Listen { addr: addr.to_string(), reason: e.to_string() })?;
            let bound = listener
                .local_addr()
                .map_err(|e| AgentError::Listen { addr: addr.to_string(), reason: e.to_string() })?;
            log_addr = Some(bound);
            let app = logs::router(self.runtime.clone(), self.config.node_name.clone());
            let mut stop_logs = stop_rx.clone();
            tasks.push(tokio::spawn(async move {
                let shutdown = async move {
                    let _ = stop_logs.wait_for(|s| *s).await;
                };
                if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
                    tracing::warn!(error = %e, "log endpoint stopped");
                }
            }));
        }
        let port = log_addr.map(|a| a.port());
        let rt_name = self.runtime.name().to_owned();
        let node = node::register(&self.store, &self.config, &rt_name, port).await?;
        let assigned = node.spec.pod_cidr.as_deref().and_then(Ipv4Cidr::parse);
        let workers = Arc::new(WorkerTasks::default());
        let shared = Arc::new(Shared {
            config: self.config,
            store: self.store,
            runtime: self.runtime,
            ips: PodIpAllocator::new(assigned.unwrap_or(fallback)),
            cidr_learned: std::sync::Mutex::new((assigned.is_some(), None)),
            worker_tasks: workers.clone(),
            services: Default::default(),
        });
        node::renew_lease(&shared.store, &shared.config).await?;
        let reported = node::ready_status(&node);
        tasks.push(tokio::spawn(heartbeat(shared.clone(), stop_rx.clone(), port, rt_name, reported)));
        let services = shared.services.clone().run(shared.store.clone(), stop_rx.clone(), shared.config.retry_interval);
        tasks.push(tokio::spawn(services));
        tasks.push(tokio::spawn(pods::run(shared, stop_rx)));
        Ok(AgentHandle { stop, tasks, workers, log_addr })
    }
}

/// Renews the lease and re-reads the Node (to learn a newly assigned pod range) every
/// heartbeat interval, and rewrites the Node status every node status interval, or at once when
/// someone else changed the Ready condition this agent reported (the node lifecycle controller
/// marks a node `Unknown` while its lease looks stale, which can happen just as a new agent
/// registers: the agent reports again, as the kubelet does when its status differs).
async fn heartbeat(
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    port: Option<u16>,
    rt_name: String,
    mut reported: Option<String>,
) {
    let cfg = &shared.config;
    let mut last_status = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(cfg.heartbeat_interval) => {}
            _ = stop.changed() => return,
        }
        if let Err(e) = node::renew_lease(&shared.store, cfg).await {
            tracing::warn!(node = %cfg.node_name, error = %e, "renewing the node lease failed");
        }
        let drifted = match node::sync_pod_cidr(&shared).await {
            Ok(stored) => node::ready_status(&stored) != reported,
            Err(e) => {
                tracing::warn!(node = %cfg.node_name, error = %e, "reading the node failed");
                false
            }
        };
        if drifted || last_status.elapsed() >= cfg.node_status_interval {
            last_status = tokio::time::Instant::now();
            let filter = crate::runtime::ListFilter { node_name: Some(cfg.node_name.clone()), pod_uid: None };
            let problem = shared.runtime.list(&filter).await.err().map(|e| e.to_string());
            match node::refresh_status(&shared.store, cfg, &rt_name, port, problem.as_deref()).await {
                Ok(stored) => reported = node::ready_status(&stored),
                Err(e) => tracing::warn!(node = %cfg.node_name, error = %e, "updating the node status failed"),
            }
        }
    }
}

impl AgentHandle {
    /// Where the log endpoint listens, if it does.
    pub fn log_address(&self) -> Option<SocketAddr> {
        self.log_addr
    }

    /// Stops the agent's loops (containers keep running) and waits for them to end.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
    }

    /// Kills the agent as a crash would: its loops and pod workers are aborted where they are,
    /// nothing is cleaned up or written (the Lease is simply no longer renewed) and the
    /// containers keep running, for the node lifecycle controller to notice and the next
    /// agent on this node to adopt or kill. Returns once the agent's loops have ended; a pod
    /// worker that is running at that moment stops at its next await point.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use orch_node::{AgentConfig, NodeAgent, runtime::FakeRuntime};
    /// let store: Arc<dyn orch_core::ObjectStore> = Arc::new(orch_store::Registry::in_memory().await?);
    /// let runtime = Arc::new(FakeRuntime::new(Default::default()));
    /// let agent = NodeAgent::new(AgentConfig::new("n1").log_port(None), store, runtime).start().await?;
    /// agent.abort().await;
    /// # Ok(()) }
    /// ```
    pub async fn abort(mut self) {
        for t in &self.tasks {
            t.abort();
        }
        // Once the pod loop has ended it spawns no more workers; then abort those it spawned.
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        self.workers.abort_all();
    }
}

impl Drop for AgentHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
