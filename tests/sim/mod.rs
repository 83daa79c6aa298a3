//! A whole cluster simulated deterministically from a seed.
//!
//! [`Simulation`] puts the real store (the `Registry` over `MemKv`), the real controllers and the
//! real scheduler on one [`ManualClock`] and one single-threaded [`DeterministicExecutor`], with
//! a fleet of simulated nodes ([`SimFleet`]), simulated users ([`WorkloadConfig`]) and injected
//! faults ([`FaultConfig`]): node loss and return, store restarts, dropped watches, slow and
//! failing binds, clock jumps. Every random choice comes from the seed, so the same seed gives the
//! same history byte for byte; [`SimReport::digest`] is a hash of every change the store made and
//! every fault injected, for tests to compare.
//!
//! After every step (time moves to the next timer, at least [`SimConfig::step`]), the
//! [`invariants`] are checked against the store's contents; [`SimReport::violations`] lists what
//! broke, and [`SimReport::replay`] says how to run the same seed again.
//!
//! ```
//! use std::time::Duration;
//! use orch_tests::sim::{SimConfig, Simulation};
//! let config = SimConfig::new(7).nodes(20).deployments(2, (3, 10)).duration(Duration::from_secs(120));
//! let report = Simulation::new(config).unwrap().run();
//! assert!(report.violations.is_empty(), "{report}");
//! let again = Simulation::new(SimConfig::new(7).nodes(20).deployments(2, (3, 10)).duration(Duration::from_secs(120)))
//!     .unwrap()
//!     .run();
//! assert_eq!(report.digest, again.digest);
//! ```

mod faults;
mod fleet;
pub mod invariants;
mod log;
mod rng;
mod workload;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::FutureExt;
use orch_controllers::controllers::deployment::DeploymentController;
use orch_controllers::controllers::endpoints::EndpointsController;
use orch_controllers::controllers::garbage_collector::GarbageCollector;
use orch_controllers::controllers::namespace::NamespaceController;
use orch_controllers::controllers::node_lifecycle::{NodeLifecycleConfig, NodeLifecycleController};
use orch_controllers::controllers::replica_set::ReplicaSetController;
use orch_controllers::manager::ControllerManager;
use orch_controllers::{Controller, Informers, Latch, Runtime};
use orch_core::kinds::{Pod, ReplicaSet};
use orch_core::runtime::{Clock, DeterministicExecutor, ManualClock, Spawn};
use orch_core::{ObjectStore, StoreError, Timestamp};
use orch_sched::{PluginRegistry, Scheduler, SchedulerConfig};
use orch_store::kv::KvStore;
use orch_store::{MemKv, MemKvConfig, Registry, RegistryConfig};

pub use faults::{BindFaults, FaultLayer, FaultStore};
pub use fleet::{FleetConfig, FleetStats, SimFleet, node_name};
pub use invariants::{CheckContext, GroundTruth, Invariant, Violation};
pub use log::{ClusterView, Digest, EventLog, StepChanges};
pub use rng::SimRng;
pub use workload::WorkloadConfig;

/// Which faults are injected, and how often.
#[derive(Clone, Debug)]
pub struct FaultConfig {
    /// Time between faults: a random time in this range (`None`: no faults).
    pub interval: Option<(Duration, Duration)>,
    /// How long a lost node stays away: a random time in this range.
    pub node_loss: (Duration, Duration),
    /// How long the store stays down on a restart.
    pub store_outage: (Duration, Duration),
    /// How long slow or failing binds last.
    pub bind_trouble: (Duration, Duration),
    /// How far the clock can jump forward at once.
    pub clock_jump: (Duration, Duration),
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            interval: Some((Duration::from_secs(10), Duration::from_secs(60))),
            node_loss: (Duration::from_secs(20), Duration::from_secs(600)),
            store_outage: (Duration::from_secs(1), Duration::from_secs(15)),
            bind_trouble: (Duration::from_secs(20), Duration::from_secs(120)),
            clock_jump: (Duration::from_secs(2), Duration::from_secs(30)),
        }
    }
}

/// Everything a simulation is made of; the seed decides the rest.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The seed of every random choice.
    pub seed: u64,
    /// Simulated time to run.
    pub duration: Duration,
    /// The smallest step of time between checks.
    pub step: Duration,
    /// The nodes.
    pub fleet: FleetConfig,
    /// The users.
    pub workload: WorkloadConfig,
    /// The faults.
    pub faults: FaultConfig,
    /// Timings of the node lifecycle controller.
    pub node_lifecycle: NodeLifecycleConfig,
    /// How long a liveness invariant may lag (endpoints, replacements).
    pub liveness_bound: Duration,
    /// Whether the node lifecycle controller runs (turn it off to see the invariants catch
    /// pods nobody evicts).
    pub node_lifecycle_controller: bool,
}

impl SimConfig {
    /// 1,000 nodes, 8 Deployments, faults every 10–60 s, 10 simulated minutes.
    pub fn new(seed: u64) -> Self {
        SimConfig {
            seed,
            duration: Duration::from_secs(600),
            step: Duration::from_millis(100),
            fleet: FleetConfig::default(),
            workload: WorkloadConfig::default(),
            faults: FaultConfig::default(),
            node_lifecycle: NodeLifecycleConfig::default(),
            liveness_bound: Duration::from_secs(60),
            node_lifecycle_controller: true,
        }
    }

    /// Sets the number of nodes.
    pub fn nodes(mut self, n: usize) -> Self {
        self.fleet.nodes = n;
        self
    }

    /// Sets the number of Deployments and their range of replicas.
    pub fn deployments(mut self, n: usize, replicas: (u32, u32)) -> Self {
        self.workload.deployments = n;
        self.workload.replicas = replicas;
        self
    }

    /// Sets the simulated time to run.
    pub fn duration(mut self, d: Duration) -> Self {
        self.duration = d;
        self
    }

    /// Turns fault injection off.
    pub fn without_faults(mut self) -> Self {
        self.faults.interval = None;
        self
    }
}

/// What a simulation did and found.
#[derive(Clone, Debug)]
pub struct SimReport {
    /// The seed.
    pub seed: u64,
    /// Hash of every store change and every injected fault, in order.
    pub digest: String,
    /// Steps taken (each followed by the invariant checks).
    pub steps: u64,
    /// Task polls of the busiest step (a step that reaches [`LIVELOCK_POLLS`] ends the run).
    pub busiest_step_polls: usize,
    /// Simulated time covered.
    pub simulated: Duration,
    /// Store changes seen.
    pub events: u64,
    /// Faults injected, by kind.
    pub faults: BTreeMap<&'static str, u64>,
    /// Broken invariants (the first 100).
    pub violations: Vec<Violation>,
    /// How many invariant checks failed in all.
    pub violations_total: usize,
    /// Pods in the store at the end, and how many of them are Running and Ready.
    pub pods: (usize, usize),
    /// What the simulated nodes did.
    pub fleet: FleetStats,
    /// Why the simulation could not go on, if it could not.
    pub error: Option<String>,
}

impl SimReport {
    /// The command that runs this seed again.
    pub fn replay(&self) -> String {
        format!("SIM_SEED={} cargo test -p orch-tests --test it sim::replay_seed -- --ignored --nocapture", self.seed)
    }

    /// Whether it ran to the end with every invariant holding.
    pub fn passed(&self) -> bool {
        self.violations.is_empty() && self.error.is_none()
    }
}

impl std::fmt::Display for SimReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let faults: u64 = self.faults.values().sum();
        writeln!(
            f,
            "seed {} digest {}: {:?} simulated in {} steps (busiest {} polls), {} store events, {} faults {:?}, pods {} ({} ready), {} violations",
            self.seed,
            self.digest,
            self.simulated,
            self.steps,
            self.busiest_step_polls,
            self.events,
            faults,
            self.faults,
            self.pods.0,
            self.pods.1,
            self.violations_total
        )?;
        if let Some(e) = &self.error {
            writeln!(f, "error: {e}")?;
        }
        for v in self.violations.iter().take(20) {
            writeln!(f, "  {v}")?;
        }
        if !self.passed() {
            writeln!(f, "replay with: {}", self.replay())?;
        }
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Task polls after which one step (the clock standing still) counts as a livelock: the
/// busiest steps of the 1,000-node soak take about ten thousand.
pub const LIVELOCK_POLLS: usize = 200_000;

/// A simulated cluster; see the module documentation.
pub struct Simulation {
    config: SimConfig,
    exec: DeterministicExecutor,
    clock: ManualClock,
    faults: Arc<FaultStore>,
    fleet: SimFleet,
    log: EventLog,
    invariants: Vec<Box<dyn Invariant>>,
    truth: Arc<Mutex<GroundTruth>>,
    journal: Arc<Mutex<Vec<String>>>,
    fault_counts: Arc<Mutex<BTreeMap<&'static str, u64>>>,
    started: Option<Timestamp>,
    steps: u64,
    busiest_step_polls: usize,
    violations: Vec<Violation>,
    violation_count: usize,
    /// Why the simulation cannot be trusted (a refused workload manifest, a broken feed).
    error: Option<String>,
    stop: Latch,
}

impl Simulation {
    /// Builds the cluster (nothing runs until [`run`](Self::run) or [`run_for`](Self::run_for)).
    ///
    /// # Errors
    /// When a component refuses its configuration.
    pub fn new(config: SimConfig) -> Result<Self, StoreError> {
        let exec = DeterministicExecutor::new();
        let clock = ManualClock::new();
        let dyn_clock: Arc<dyn Clock> = Arc::new(clock.clone());
        let spawn: Arc<dyn Spawn> = Arc::new(exec.clone());
        let mut rng = SimRng::new(config.seed);
        let kv_config = MemKvConfig::default().watch_buffer_events(1 << 24);
        let kv = Arc::new(MemKv::with_runtime(kv_config, dyn_clock.clone(), spawn.clone()));
        let log = exec
            .try_block_on(EventLog::follow(&*kv))
            .ok_or_else(|| StoreError::internal("the change feed did not open"))?
            .map_err(|e| StoreError::internal(e.to_string()))?;
        let kv_dyn: Arc<dyn KvStore> = kv.clone();
        let registry = exec
            .try_block_on(
                Registry::builder(kv_dyn, dyn_clock.clone(), spawn.clone())
                    .config(RegistryConfig::default().uid_seed(config.seed))
                    .build(),
            )
            .ok_or_else(|| StoreError::internal("the registry did not start"))??;
        let faults = Arc::new(FaultStore::new(Arc::new(registry), FaultLayer::new(dyn_clock.clone(), rng.fork())));
        let fleet = SimFleet::new(faults.clone(), dyn_clock.clone(), spawn.clone(), config.fleet.clone(), rng.fork());
        let truth = GroundTruth {
            node_grace: config.node_lifecycle.grace_period,
            default_toleration: config.node_lifecycle.default_toleration,
            ..Default::default()
        };
        let mut sim = Simulation {
            invariants: invariants::all(config.liveness_bound),
            config,
            exec,
            clock,
            faults,
            fleet,
            log,
            truth: Arc::new(Mutex::new(truth)),
            journal: Arc::default(),
            fault_counts: Arc::default(),
            started: None,
            steps: 0,
            busiest_step_polls: 0,
            violations: Vec::new(),
            violation_count: 0,
            error: None,
            stop: Latch::new(),
        };
        sim.start(rng, kv)?;
        Ok(sim)
    }

    /// Adds an invariant of your own, checked after every step with the built-in ones.
    pub fn with_invariant(mut self, invariant: Box<dyn Invariant>) -> Self {
        self.invariants.push(invariant);
        self
    }

    fn start(&mut self, mut rng: SimRng, kv: Arc<MemKv>) -> Result<(), StoreError> {
        let clock: Arc<dyn Clock> = Arc::new(self.clock.clone());
        let spawn: Arc<dyn Spawn> = Arc::new(self.exec.clone());
        let store: Arc<dyn ObjectStore> = self.faults.clone();
        let rt = Runtime::new(clock.clone(), spawn.clone());
        let informers = Informers::new(store.clone(), rt.clone());
        let mut manager = ControllerManager::new(informers.clone())
            .with(Controller::new(DeploymentController::new(&informers), &informers).owns::<ReplicaSet>())
            .with(Controller::new(ReplicaSetController::new(&informers), &informers).owns::<Pod>())
            .with(EndpointsController::controller(&informers))
            .with(GarbageCollector::with_builtin_kinds(&informers))
            .with(Controller::new(NamespaceController::new(&informers), &informers));
        if self.config.node_lifecycle_controller {
            manager = manager.with(NodeLifecycleController::controller(&informers, self.config.node_lifecycle.clone()));
        }
        let stop = self.stop.clone();
        rt.spawn("controllers", async move { manager.run(stop).await });
        let sched_config = SchedulerConfig::default().parallelism(1).seed(self.config.seed);
        let scheduler =
            Scheduler::new(store.clone(), clock.clone(), spawn.clone(), sched_config, PluginRegistry::with_defaults())
                .map_err(|e| StoreError::internal(format!("scheduler: {e}")))?;
        scheduler.start();
        self.fleet.start();
        let workload =
            workload::run(store, clock.clone(), self.config.workload.clone(), rng.fork(), self.journal.clone());
        rt.spawn("workload", workload);
        if let Some(interval) = self.config.faults.interval {
            let injector = Injector {
                config: self.config.faults.clone(),
                interval,
                clock: self.clock.clone(),
                spawn,
                kv,
                faults: self.faults.clone(),
                fleet: self.fleet.clone(),
                truth: self.truth.clone(),
                journal: self.journal.clone(),
                counts: self.fault_counts.clone(),
            };
            let fault_rng = rng.fork();
            rt.spawn("faults", async move { injector.run(fault_rng).await });
        }
        Ok(())
    }

    /// The store as the components see it (faults included).
    pub fn store(&self) -> Arc<dyn ObjectStore> {
        self.faults.clone()
    }

    /// The simulated nodes.
    pub fn fleet(&self) -> &SimFleet {
        &self.fleet
    }

    /// Cuts `node` off from the store now, and brings it back after `away` (never when `None`).
    /// Returns false for an unknown or already lost node.
    pub fn lose_node(&self, node: &str, away: Option<Duration>) -> bool {
        lose_node(&self.fleet, &self.truth, &self.journal, &self.clock, &*self.spawn(), node, away)
    }

    fn spawn(&self) -> Arc<dyn Spawn> {
        Arc::new(self.exec.clone())
    }

    /// The cluster as of the last step.
    pub fn view(&self) -> &ClusterView {
        self.log.view()
    }

    /// Simulated now.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Runs `fut` on the simulation's executor, time standing still (`None` if it stalls).
    pub fn block_on<F: std::future::Future>(&self, fut: F) -> Option<F::Output> {
        self.exec.try_block_on(fut)
    }

    /// Runs one step: every task that can run, then the invariant checks.
    fn step(&mut self) {
        let polls = self.exec.run_at_most(LIVELOCK_POLLS);
        self.busiest_step_polls = self.busiest_step_polls.max(polls);
        if polls == LIVELOCK_POLLS && self.exec.has_ready() && self.error.is_none() {
            // A short second run names the tasks that keep each other busy.
            self.exec.take_poll_counts();
            self.exec.run_at_most(10_000);
            let busiest: Vec<String> =
                self.exec.take_poll_counts().into_iter().take(5).map(|(name, n)| format!("{name} ({n})")).collect();
            self.error = Some(format!(
                "livelock: tasks were still waking each other after {polls} polls with the clock standing still; \
                 the busiest of the next 10,000 polls: {}",
                busiest.join(", ")
            ));
        }
        let changes = self.log.drain();
        for line in std::mem::take(&mut *lock(&self.journal)) {
            if line.contains(" refused: ") {
                self.error.get_or_insert_with(|| format!("the workload was refused: {line}"));
            }
            self.log.note(&line);
        }
        let truth = lock(&self.truth).clone();
        let now = self.clock.now();
        let ctx = CheckContext { now, view: self.log.view(), changes: &changes, truth: &truth };
        for inv in &mut self.invariants {
            for message in inv.check(&ctx) {
                self.violation_count += 1;
                if self.violations.len() < 100 {
                    self.violations.push(Violation { invariant: inv.name().to_owned(), at: now, message });
                }
            }
        }
        self.steps += 1;
    }

    /// Runs for `d` of simulated time, step by step.
    pub fn run_for(&mut self, d: Duration) {
        let start = self.clock.now();
        self.started.get_or_insert(start);
        let end = start + d;
        self.step();
        while self.clock.now() < end && self.log.error().is_none() && self.error.is_none() {
            let min = self.clock.now() + self.config.step;
            let next = self.clock.next_deadline().unwrap_or(end).max(min).min(end);
            self.clock.set(next);
            self.step();
        }
    }

    /// Runs for the configured duration and reports.
    pub fn run(mut self) -> SimReport {
        self.run_for(self.config.duration);
        self.report()
    }

    /// What happened so far.
    pub fn report(&self) -> SimReport {
        let view = self.log.view();
        let ready = view.pods.values().filter(|p| p.is_ready() && p.status.phase.as_deref() == Some("Running")).count();
        let simulated = self.started.map_or(Duration::ZERO, |s| self.clock.now().saturating_duration_since(s));
        SimReport {
            seed: self.config.seed,
            digest: self.log.digest().hex(),
            steps: self.steps,
            busiest_step_polls: self.busiest_step_polls,
            simulated,
            events: self.log.events(),
            faults: lock(&self.fault_counts).clone(),
            violations: self.violations.clone(),
            violations_total: self.violation_count,
            pods: (view.pods.len(), ready),
            fleet: self.fleet.stats(),
            error: self.error.clone().or_else(|| self.log.error().map(str::to_owned)),
        }
    }
}

impl Drop for Simulation {
    fn drop(&mut self) {
        self.stop.set();
    }
}

/// The fault injector: a task that picks a fault at random intervals and undoes it later.
struct Injector {
    config: FaultConfig,
    interval: (Duration, Duration),
    clock: ManualClock,
    spawn: Arc<dyn Spawn>,
    kv: Arc<MemKv>,
    faults: Arc<FaultStore>,
    fleet: SimFleet,
    truth: Arc<Mutex<GroundTruth>>,
    journal: Arc<Mutex<Vec<String>>>,
    counts: Arc<Mutex<BTreeMap<&'static str, u64>>>,
}

/// Cuts `node` off (fleet and ground truth alike) and schedules its return.
fn lose_node(
    fleet: &SimFleet,
    truth: &Arc<Mutex<GroundTruth>>,
    journal: &Arc<Mutex<Vec<String>>>,
    clock: &ManualClock,
    spawn: &dyn Spawn,
    node: &str,
    away: Option<Duration>,
) -> bool {
    if !fleet.lose(node) {
        return false;
    }
    lock(truth).lost_nodes.insert(node.to_owned(), clock.now());
    lock(journal).push(format!("{} fault node-loss: {node} for {away:?}", clock.now()));
    let Some(away) = away else { return true };
    let (fleet, truth, journal, clock, node) =
        (fleet.clone(), truth.clone(), journal.clone(), clock.clone(), node.to_owned());
    spawn.spawn_boxed(
        "node-return",
        async move {
            clock.sleep(away).await;
            lock(&truth).lost_nodes.remove(&node);
            fleet.restore(&node);
            lock(&journal).push(format!("{} node {node} returns", clock.now()));
        }
        .boxed(),
    );
    true
}

fn pick(rng: &mut SimRng, range: (Duration, Duration)) -> Duration {
    range.0 + Duration::from_millis(rng.below(range.1.saturating_sub(range.0).as_millis() as u64 + 1))
}

impl Injector {
    fn record(&self, kind: &'static str, line: String) {
        *lock(&self.counts).entry(kind).or_default() += 1;
        lock(&self.journal).push(format!("{} fault {kind}: {line}", self.clock.now()));
    }

    /// Runs `undo` after `after`, on the executor.
    fn later(&self, after: Duration, undo: impl FnOnce() + Send + 'static) {
        let clock = self.clock.clone();
        self.spawn.spawn_boxed(
            "undo-fault",
            async move {
                clock.sleep(after).await;
                undo();
            }
            .boxed(),
        );
    }

    async fn run(self, mut rng: SimRng) {
        let nodes = self.fleet.node_names();
        // Give the cluster a minute to come up before the first fault.
        self.clock.sleep(Duration::from_secs(60)).await;
        loop {
            self.clock.sleep(pick(&mut rng, self.interval)).await;
            match rng.below(6) {
                0 if !nodes.is_empty() => {
                    let node = &nodes[rng.below(nodes.len() as u64) as usize];
                    let away = pick(&mut rng, self.config.node_loss);
                    let (fleet, truth, journal) = (&self.fleet, &self.truth, &self.journal);
                    if lose_node(fleet, truth, journal, &self.clock, &*self.spawn, node, Some(away)) {
                        *lock(&self.counts).entry("node-loss").or_default() += 1;
                    }
                }
                1 => {
                    let outage = pick(&mut rng, self.config.store_outage);
                    self.record("store-restart", format!("down for {outage:?}"));
                    self.faults.layer().set_down(true);
                    lock(&self.truth).store_down = true;
                    self.clock.sleep(outage).await;
                    // It comes back with its history compacted: watchers must relist.
                    if let Ok(status) = self.kv.status().await {
                        let _ = self.kv.compact(status.revision).await;
                    }
                    self.faults.layer().set_down(false);
                    let mut truth = lock(&self.truth);
                    truth.store_down = false;
                    truth.store_back_at = Some(self.clock.now());
                }
                2 => {
                    self.record("watch-disconnect", "every watch ends".into());
                    self.faults.layer().disconnect_watches();
                }
                3 => {
                    let delay = Duration::from_millis(rng.between(200, 3_000));
                    let span = pick(&mut rng, self.config.bind_trouble);
                    self.record("slow-binds", format!("{delay:?} each for {span:?}"));
                    self.faults.layer().set_bind_faults(BindFaults { delay, ..Default::default() });
                    let faults = self.faults.clone();
                    self.later(span, move || faults.layer().set_bind_faults(BindFaults::default()));
                }
                4 => {
                    let span = pick(&mut rng, self.config.bind_trouble);
                    self.record("failing-binds", format!("30% fail, 20% lose their answer, for {span:?}"));
                    self.faults.layer().set_bind_faults(BindFaults {
                        fail_before: 0.3,
                        fail_after: 0.2,
                        ..Default::default()
                    });
                    let faults = self.faults.clone();
                    self.later(span, move || faults.layer().set_bind_faults(BindFaults::default()));
                }
                _ => {
                    let jump = pick(&mut rng, self.config.clock_jump);
                    self.record("clock-jump", format!("forward {jump:?}"));
                    self.clock.advance(jump);
                }
            }
        }
    }
}
