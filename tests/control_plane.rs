//! `ControlPlane`: store, built-in controllers and scheduler in one process, for tests.

use std::sync::Arc;
use std::time::Duration;

use orch_api::server::{ApiServer, RunningServer, ServerConfig};
use orch_controllers::controllers::deployment::DeploymentController;
use orch_controllers::controllers::endpoints::EndpointsController;
use orch_controllers::controllers::garbage_collector::GarbageCollector;
use orch_controllers::controllers::load_balancer::{LoadBalancerController, PoolProvider};
use orch_controllers::controllers::namespace::NamespaceController;
use orch_controllers::controllers::node_ipam::{NodeIpamConfig, NodeIpamController};
use orch_controllers::controllers::node_lifecycle::{NodeLifecycleConfig, NodeLifecycleController};
use orch_controllers::controllers::replica_set::ReplicaSetController;
use orch_controllers::leader::{LeaderElectionConfig, LeaderElector, TermEnd};
use orch_controllers::manager::ControllerManager;
use orch_controllers::{Controller, Informers, Latch, Runtime};
use orch_core::kinds::{Pod, ReplicaSet};
use orch_core::runtime::{SystemClock, TokioSpawn};
use orch_core::{ObjectStore, StoreError};
use orch_sched::{PluginRegistry, Scheduler, SchedulerConfig};
use orch_store::Registry;

/// A leader election candidate for lease `name`.
fn elector(
    store: &Arc<dyn ObjectStore>,
    name: &str,
    identity: &str,
    lease: std::time::Duration,
) -> Result<LeaderElector, HarnessError> {
    let config = LeaderElectionConfig::new(name, identity).timings(lease, lease * 2 / 3, lease / 6);
    LeaderElector::new(store.clone(), config, Runtime::tokio())
        .map_err(|e| HarnessError::Component { component: "leader election", message: e.to_string() })
}

/// Why the harness could not start.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The store refused something at start.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A component's configuration was refused.
    #[error("{component}: {message}")]
    Component {
        /// Which component.
        component: &'static str,
        /// Why.
        message: String,
    },
}

/// What the harness runs, built by value.
///
/// ```
/// use orch_tests::ControlPlaneConfig;
/// let cfg = ControlPlaneConfig::default().without_scheduler();
/// assert!(!cfg.scheduler && cfg.controllers);
/// ```
#[derive(Clone, Debug)]
pub struct ControlPlaneConfig {
    /// Run the built-in controllers (Deployment, ReplicaSet, Endpoints, garbage collector,
    /// Namespace, node IPAM, node lifecycle, LoadBalancer).
    pub controllers: bool,
    /// Run the default scheduler.
    pub scheduler: bool,
    /// Node lifecycle timings (short ones make node-failure tests quick).
    pub node_lifecycle: NodeLifecycleConfig,
    /// Run the controllers and the scheduler only while holding their leases (`orch-controller-manager`
    /// and `orch-scheduler` in `kube-system`), as this candidate identity with this lease duration,
    /// so several replicas can run and one leads.
    pub leader_election: Option<(String, std::time::Duration)>,
}

impl Default for ControlPlaneConfig {
    fn default() -> Self {
        ControlPlaneConfig {
            controllers: true,
            scheduler: true,
            node_lifecycle: NodeLifecycleConfig::default(),
            leader_election: None,
        }
    }
}

impl ControlPlaneConfig {
    /// Leaves the scheduler out (to test one of your own).
    pub fn without_scheduler(mut self) -> Self {
        self.scheduler = false;
        self
    }

    /// Leaves the built-in controllers out (to test yours alone).
    pub fn without_controllers(mut self) -> Self {
        self.controllers = false;
        self
    }

    /// Runs behind leader election as candidate `identity` with leases of `lease` (renewed within
    /// two thirds of it, retried every sixth).
    pub fn leader_election(mut self, identity: impl Into<String>, lease: std::time::Duration) -> Self {
        self.leader_election = Some((identity.into(), lease));
        self
    }

    /// Sets the node lifecycle timings.
    pub fn node_lifecycle(mut self, config: NodeLifecycleConfig) -> Self {
        self.node_lifecycle = config;
        self
    }
}

/// An in-process control plane on the current tokio runtime.
///
/// ```
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use orch_core::{Api, ObjectMeta, kinds::{Container, Pod}};
/// let mut cp = orch_tests::ControlPlane::start(Default::default()).await?;
/// cp.add_fake_nodes(2).await?;
/// let pods: Api<Pod> = Api::namespaced(cp.store(), "default");
/// let mut pod = Pod { metadata: ObjectMeta::named("p"), ..Default::default() };
/// pod.spec.containers.push(Container { name: "c".into(), image: "app".into(), ..Default::default() });
/// pods.create(&pod).await?;
/// // The scheduler binds it to a fake node, whose agent runs it.
/// orch_tests::wait_for("the pod running", Duration::from_secs(10), || {
///     let pods = pods.clone();
///     async move { pods.get("p").await.is_ok_and(|p| p.status.phase.as_deref() == Some("Running")) }
/// })
/// .await?;
/// cp.stop().await;
/// # Ok(()) }
/// ```
pub struct ControlPlane {
    registry: Option<Registry>,
    store: Arc<dyn ObjectStore>,
    informers: Informers,
    scheduler: Option<Scheduler>,
    scheduler_task: Option<tokio::task::JoinHandle<()>>,
    stop: Latch,
    controllers: Option<tokio::task::JoinHandle<()>>,
    api: Option<RunningServer>,
    nodes: Vec<(String, orch_node::AgentHandle)>,
    fake_nodes_made: usize,
}

impl ControlPlane {
    /// Starts over a fresh in-memory registry.
    ///
    /// # Errors
    /// A component that refuses its configuration.
    pub async fn start(config: ControlPlaneConfig) -> Result<Self, HarnessError> {
        Self::over(Registry::in_memory().await?, config).await
    }

    /// Starts over `registry` (for example one on the durable store).
    ///
    /// # Errors
    /// A component that refuses its configuration.
    pub async fn over(registry: Registry, config: ControlPlaneConfig) -> Result<Self, HarnessError> {
        let mut cp = Self::components(Arc::new(registry.clone()), config)?;
        cp.registry = Some(registry);
        Ok(cp)
    }

    /// Runs the controllers and scheduler against any object store: for example the HTTP
    /// client of a remote API server, as out-of-process components do.
    ///
    /// # Errors
    /// A component that refuses its configuration.
    pub fn components(store: Arc<dyn ObjectStore>, config: ControlPlaneConfig) -> Result<Self, HarnessError> {
        let informers = Informers::new(store.clone(), Runtime::tokio());
        let stop = Latch::new();
        let controllers = if config.controllers {
            let component = |message: String| HarnessError::Component { component: "controllers", message };
            let ipam =
                NodeIpamController::new(&informers, NodeIpamConfig::default()).map_err(|e| component(e.to_string()))?;
            let lb = LoadBalancerController::new(&informers, Arc::new(PoolProvider::default_pool()));
            let manager = ControllerManager::new(informers.clone())
                .with(Controller::new(DeploymentController::new(&informers), &informers).owns::<ReplicaSet>())
                .with(Controller::new(ReplicaSetController::new(&informers), &informers).owns::<Pod>())
                .with(EndpointsController::controller(&informers))
                .with(GarbageCollector::with_builtin_kinds(&informers))
                .with(Controller::new(NamespaceController::new(&informers), &informers))
                .with(Controller::new(ipam, &informers))
                .with(NodeLifecycleController::controller(&informers, config.node_lifecycle.clone()))
                .with(Controller::new(lb, &informers));
            let manager = match &config.leader_election {
                Some((id, lease)) => manager.leader_election(elector(&store, "orch-controller-manager", id, *lease)?),
                None => manager,
            };
            let stop = stop.clone();
            Some(tokio::spawn(async move { manager.run(stop).await }))
        } else {
            None
        };
        let new_scheduler = {
            let store = store.clone();
            move || {
                Scheduler::new(
                    store.clone(),
                    Arc::new(SystemClock),
                    Arc::new(TokioSpawn::current()),
                    SchedulerConfig::default(),
                    PluginRegistry::with_defaults(),
                )
                .map_err(|e| HarnessError::Component { component: "scheduler", message: e.to_string() })
            }
        };
        let (mut scheduler, mut scheduler_task) = (None, None);
        match (&config.leader_election, config.scheduler) {
            (_, false) => {}
            (None, true) => {
                let s = new_scheduler()?;
                s.start();
                scheduler = Some(s);
            }
            (Some((id, lease)), true) => {
                new_scheduler()?;
                let elector = elector(&store, "orch-scheduler", id, *lease)?;
                let stop = stop.clone();
                // A scheduler per term: it schedules only while this candidate leads.
                scheduler_task = Some(tokio::spawn(async move {
                    while elector.acquire(&stop).await {
                        let Ok(s) = new_scheduler() else { return };
                        s.start();
                        let end = elector.hold(&stop).await;
                        s.stop();
                        if end == TermEnd::Stopped {
                            elector.release().await;
                            return;
                        }
                    }
                }));
            }
        }
        Ok(ControlPlane {
            registry: None,
            store,
            informers,
            scheduler,
            scheduler_task,
            stop,
            controllers,
            api: None,
            nodes: Vec::new(),
            fake_nodes_made: 0,
        })
    }

    /// The object store every component uses.
    pub fn store(&self) -> Arc<dyn ObjectStore> {
        self.store.clone()
    }

    /// The registry under it (`None` for components over a remote store).
    pub fn registry(&self) -> Option<&Registry> {
        self.registry.as_ref()
    }

    /// The shared caches of the controllers (add your own controller over them).
    pub fn informers(&self) -> &Informers {
        &self.informers
    }

    /// Serves the API on a free loopback port (auth off) and returns its URL.
    ///
    /// # Errors
    /// The port cannot be bound.
    pub async fn serve_api(&mut self) -> Result<String, HarnessError> {
        let component = |message: String| HarnessError::Component { component: "api server", message };
        let registry = self.registry.clone().ok_or_else(|| component("no local registry to serve".into()))?;
        let server = ApiServer::new(registry, ServerConfig::default()).map_err(|e| component(e.to_string()))?;
        let addr = "127.0.0.1:0".parse().map_err(|e: std::net::AddrParseError| component(e.to_string()))?;
        let running = server.bind(addr, None).await.map_err(|e| component(e.to_string()))?;
        let url = running.url();
        self.api = Some(running);
        Ok(url)
    }

    /// Starts `count` simulated nodes: real node agents (`fake-0`, `fake-1`, ...) with the
    /// `FakeRuntime`, whose containers start, turn ready and run without any process. Returns
    /// the names of the nodes.
    ///
    /// # Errors
    /// An agent that cannot register its node.
    pub async fn add_fake_nodes(&mut self, count: usize) -> Result<Vec<String>, HarnessError> {
        let mut names = Vec::with_capacity(count);
        for _ in 0..count {
            let name = format!("fake-{}", self.fake_nodes_made);
            self.fake_nodes_made += 1;
            // Frequent heartbeats, so short node lifecycle timings work in tests.
            let config =
                orch_node::AgentConfig::new(&name).log_port(None).heartbeat_interval(Duration::from_millis(300));
            let runtime = Arc::new(orch_node::runtime::FakeRuntime::new(Default::default()));
            let agent = orch_node::NodeAgent::new(config, self.store.clone(), runtime)
                .start()
                .await
                .map_err(|e| HarnessError::Component { component: "fake node", message: e.to_string() })?;
            self.nodes.push((name.clone(), agent));
            names.push(name);
        }
        Ok(names)
    }

    /// Stops the agent of fake node `name`, as if its machine died: its Lease is no longer
    /// renewed and its pods are no longer looked after. Returns whether there was such a node.
    pub async fn kill_fake_node(&mut self, name: &str) -> bool {
        match self.nodes.iter().position(|(n, _)| n == name) {
            Some(i) => {
                self.nodes.remove(i).1.stop().await;
                true
            }
            None => false,
        }
    }

    /// Stops everything it started.
    pub async fn stop(mut self) {
        for (_, node) in self.nodes.drain(..) {
            node.stop().await;
        }
        if let Some(s) = self.scheduler.take() {
            s.stop();
        }
        self.stop.set();
        if let Some(c) = self.controllers.take() {
            let _ = c.await;
        }
        if let Some(t) = self.scheduler_task.take() {
            let _ = t.await;
        }
        if let Some(api) = self.api.take() {
            api.shutdown().await;
        }
    }
}
