//! `SimFleet`: simulated node agents for a whole fleet, on the simulation's clock and executor.
//!
//! The real [`NodeAgent`](orch_node::NodeAgent) runs on tokio (sockets, processes), so it cannot
//! be driven by the deterministic executor. The fleet does what the agent does at the API, the
//! way kwok does: registers Nodes and Leases, renews the leases, "starts" every pod bound to one
//! of its nodes after a start delay and reports it Running and Ready, rewrites a Ready status that
//! someone else changed (as the kubelet's status manager does), and finishes graceful deletions.
//! A node can be lost (it stops reaching the store; what it runs keeps running) and return (it
//! relists its pods and stops those that were deleted or replaced meanwhile).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::FutureExt;
use futures::StreamExt;
use orch_core::kinds::{
    Condition, ContainerState, ContainerStateRunning, ContainerStatus, Lease, LeaseSpec, Node, NodeAddress, NodeStatus,
    Pod, PodIp, PodStatus,
};
use orch_core::runtime::{Clock, Spawn};
use orch_core::store::{DeleteOptions, ListParams, Preconditions, TypedEvent, WatchParams};
use orch_core::{Api, ObjectMeta, ObjectStore, Quantity, StoreError, Timestamp};

use super::SimRng;

/// Namespace of the node leases (as the node lifecycle controller expects).
const LEASE_NAMESPACE: &str = "kube-node-lease";

/// Shape and timings of the simulated nodes.
#[derive(Clone, Debug)]
pub struct FleetConfig {
    /// How many nodes (`sim-node-0` …).
    pub nodes: usize,
    /// CPU, memory and pod capacity of each node.
    pub cpu: String,
    /// Memory capacity of each node.
    pub memory: String,
    /// Pod slots of each node.
    pub pods: u32,
    /// How often a node renews its lease (10 s, as the kubelet).
    pub heartbeat: Duration,
    /// How long a pod takes to start: a random time in this range.
    pub start_delay: (Duration, Duration),
    /// How long a pod's containers take to stop after its deletion began.
    pub stop_delay: Duration,
}

impl Default for FleetConfig {
    fn default() -> Self {
        FleetConfig {
            nodes: 1_000,
            cpu: "4".into(),
            memory: "32Gi".into(),
            pods: 110,
            heartbeat: Duration::from_secs(10),
            start_delay: (Duration::from_millis(200), Duration::from_secs(3)),
            stop_delay: Duration::from_secs(1),
        }
    }
}

/// What the fleet did, for reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FleetStats {
    /// Pods reported Running.
    pub started: u64,
    /// Pods whose containers were stopped (deleted, or evicted while the node was away).
    pub stopped: u64,
    /// Pods a returning node found deleted or replaced and stopped rather than running twice.
    pub stale_stopped: u64,
    /// Ready statuses rewritten after someone else marked the pod not ready.
    pub status_repairs: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Run {
    Starting,
    Running,
    Stopping,
}

struct SimNode {
    index: usize,
    up: bool,
    /// Bumped on every loss and return, so timers of an earlier life do nothing.
    epoch: u64,
    /// Pods this node runs (ground truth), by uid, with their namespace and name.
    pods: BTreeMap<String, (Run, String, String)>,
    next_ip: u32,
}

struct Fleet {
    store: Arc<dyn ObjectStore>,
    clock: Arc<dyn Clock>,
    spawn: Arc<dyn Spawn>,
    config: FleetConfig,
    rng: Mutex<SimRng>,
    nodes: Mutex<BTreeMap<String, SimNode>>,
    stats: Mutex<FleetStats>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Simulated node agents; see the module documentation.
///
/// ```
/// use std::sync::Arc;
/// use orch_core::runtime::{DeterministicExecutor, ManualClock};
/// use orch_store::{Registry, mem::{MemKv, MemKvConfig}};
/// use orch_tests::sim::{FleetConfig, SimFleet, SimRng};
/// let (exec, clock) = (DeterministicExecutor::new(), Arc::new(ManualClock::new()));
/// let kv = Arc::new(MemKv::with_runtime(MemKvConfig::default(), clock.clone(), Arc::new(exec.clone())));
/// let store = exec.block_on(Registry::builder(kv, clock.clone(), Arc::new(exec.clone())).build()).unwrap();
/// let config = FleetConfig { nodes: 3, ..Default::default() };
/// let fleet = SimFleet::new(Arc::new(store), clock, Arc::new(exec.clone()), config, SimRng::new(1));
/// fleet.start();
/// exec.run_until_stalled();
/// assert_eq!(fleet.node_names(), ["sim-node-0", "sim-node-1", "sim-node-2"]);
/// ```
#[derive(Clone)]
pub struct SimFleet {
    inner: Arc<Fleet>,
}

impl SimFleet {
    /// A fleet of `config.nodes` nodes talking to `store`.
    pub fn new(
        store: Arc<dyn ObjectStore>,
        clock: Arc<dyn Clock>,
        spawn: Arc<dyn Spawn>,
        config: FleetConfig,
        rng: SimRng,
    ) -> Self {
        let nodes = (0..config.nodes)
            .map(|i| (node_name(i), SimNode { index: i, up: true, epoch: 0, pods: BTreeMap::new(), next_ip: 0 }))
            .collect();
        SimFleet {
            inner: Arc::new(Fleet {
                store,
                clock,
                spawn,
                config,
                rng: Mutex::new(rng),
                nodes: Mutex::new(nodes),
                stats: Mutex::default(),
            }),
        }
    }

    /// Registers every node, then starts the heartbeats and the pod loop.
    pub fn start(&self) {
        let fleet = self.inner.clone();
        self.inner.spawn.spawn_boxed(
            "fleet",
            async move {
                let names: Vec<(String, usize)> =
                    lock(&fleet.nodes).iter().map(|(n, s)| (n.clone(), s.index)).collect();
                for (name, index) in &names {
                    fleet.register(name, *index).await;
                }
                for (name, index) in names {
                    let f = fleet.clone();
                    fleet.spawn.spawn_boxed("heartbeat", f.heartbeat(name, index).boxed());
                }
                fleet.clone().pod_loop().await;
            }
            .boxed(),
        );
    }

    /// The names of the nodes, in order.
    pub fn node_names(&self) -> Vec<String> {
        let nodes = lock(&self.inner.nodes);
        let mut v: Vec<(usize, String)> = nodes.iter().map(|(n, s)| (s.index, n.clone())).collect();
        v.sort();
        v.into_iter().map(|(_, n)| n).collect()
    }

    /// Whether `node` is up.
    pub fn is_up(&self, node: &str) -> bool {
        lock(&self.inner.nodes).get(node).is_some_and(|n| n.up)
    }

    /// The node loses contact with the store (it stops renewing its lease and sees no changes);
    /// the pods it runs keep running. Returns false for an unknown or already lost node.
    pub fn lose(&self, node: &str) -> bool {
        let mut nodes = lock(&self.inner.nodes);
        let Some(n) = nodes.get_mut(node).filter(|n| n.up) else { return false };
        n.up = false;
        n.epoch += 1;
        true
    }

    /// A lost node comes back: it renews its lease, reports itself Ready, relists its pods and
    /// stops the ones deleted or replaced while it was away. Returns false unless it was lost.
    pub fn restore(&self, node: &str) -> bool {
        {
            let mut nodes = lock(&self.inner.nodes);
            let Some(n) = nodes.get_mut(node).filter(|n| !n.up) else { return false };
            n.up = true;
            n.epoch += 1;
            // Starts and stops in flight died with the old connection; the relist redoes them.
            n.pods.retain(|_, (run, _, _)| *run == Run::Running);
        }
        let fleet = self.inner.clone();
        let name = node.to_owned();
        self.inner.spawn.spawn_boxed("node-return", async move { fleet.rejoin(&name).await }.boxed());
        true
    }

    /// Pods running on `node` now (ground truth), as `namespace/name`.
    pub fn running_on(&self, node: &str) -> BTreeSet<String> {
        lock(&self.inner.nodes)
            .get(node)
            .map(|n| {
                n.pods
                    .values()
                    .filter(|(r, _, _)| *r != Run::Starting)
                    .map(|(_, ns, name)| format!("{ns}/{name}"))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Uids of every pod running anywhere, with the nodes running it.
    pub fn running_uids(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (node, n) in lock(&self.inner.nodes).iter() {
            for (uid, (run, _, _)) in &n.pods {
                if *run != Run::Starting {
                    out.entry(uid.clone()).or_default().push(node.clone());
                }
            }
        }
        out
    }

    /// What the fleet has done so far.
    pub fn stats(&self) -> FleetStats {
        lock(&self.inner.stats).clone()
    }
}

/// The name of node `i`.
pub fn node_name(i: usize) -> String {
    format!("sim-node-{i}")
}

fn node_ip(index: usize) -> String {
    format!("172.{}.{}.{}", 16 + index / 65_536, (index / 256) % 256, index % 256)
}

impl Fleet {
    fn retry(&self) -> Duration {
        Duration::from_secs(1)
    }

    /// Whether `node` is up and still in life `epoch`.
    fn alive(&self, node: &str, epoch: u64) -> bool {
        lock(&self.nodes).get(node).is_some_and(|n| n.up && n.epoch == epoch)
    }

    fn epoch(&self, node: &str) -> Option<u64> {
        lock(&self.nodes).get(node).filter(|n| n.up).map(|n| n.epoch)
    }

    fn node_status(&self, index: usize, now: Timestamp) -> NodeStatus {
        let c = &self.config;
        let capacity: BTreeMap<String, Quantity> = [
            ("cpu".to_owned(), Quantity::new(c.cpu.clone())),
            ("memory".to_owned(), Quantity::new(c.memory.clone())),
            ("pods".to_owned(), Quantity::new(c.pods.to_string())),
        ]
        .into();
        let mut ready = Condition::new("Ready", true);
        ready.reason = Some("KubeletReady".into());
        ready.last_heartbeat_time = Some(now);
        ready.last_transition_time = Some(now);
        NodeStatus {
            allocatable: capacity.clone(),
            capacity,
            conditions: vec![ready],
            addresses: vec![NodeAddress { type_: "InternalIP".into(), address: node_ip(index) }],
            ..Default::default()
        }
    }

    async fn register(&self, name: &str, index: usize) {
        let nodes: Api<Node> = Api::all(self.store.clone());
        let mut meta = ObjectMeta::named(name);
        meta.labels.insert("kubernetes.io/hostname".into(), name.to_owned());
        meta.labels.insert("topology.kubernetes.io/zone".into(), format!("zone-{}", index % 3));
        let node = Node { metadata: meta, status: self.node_status(index, self.clock.now()), ..Default::default() };
        loop {
            match nodes.create(&node).await {
                Ok(_) | Err(StoreError::AlreadyExists { .. }) => break,
                Err(_) => self.clock.sleep(self.retry()).await,
            }
        }
        while let Err(e) = self.renew_lease(name).await {
            if !e.is_retryable() {
                break;
            }
            self.clock.sleep(self.retry()).await;
        }
    }

    async fn renew_lease(&self, name: &str) -> Result<(), StoreError> {
        let leases: Api<Lease> = Api::namespaced(self.store.clone(), LEASE_NAMESPACE);
        let now = self.clock.now();
        let duration = (self.config.heartbeat.as_secs() * 4).max(1) as i32;
        match leases.get_opt(name).await? {
            Some(mut lease) => {
                lease.spec.renew_time = Some(now);
                leases.update(&lease).await.map(|_| ())
            }
            None => {
                let spec = LeaseSpec {
                    holder_identity: Some(name.to_owned()),
                    lease_duration_seconds: Some(duration),
                    acquire_time: Some(now),
                    renew_time: Some(now),
                    lease_transitions: None,
                };
                match leases.create(&Lease { metadata: ObjectMeta::named(name), spec }).await {
                    Ok(_) | Err(StoreError::AlreadyExists { .. }) => Ok(()),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// Writes Ready=True on the node unless it says so already.
    async fn refresh_node(&self, name: &str, index: usize) -> Result<(), StoreError> {
        let nodes: Api<Node> = Api::all(self.store.clone());
        let mut node = nodes.get(name).await?;
        let ready = orch_core::kinds::find_condition(&node.status.conditions, "Ready").is_some_and(|c| c.is_true());
        if ready {
            return Ok(());
        }
        node.status = self.node_status(index, self.clock.now());
        nodes.update_status(&node).await.map(|_| ())
    }

    /// Renews the lease every heartbeat; every sixth beat checks that the node is still Ready.
    async fn heartbeat(self: Arc<Self>, name: String, index: usize) {
        // Spread the fleet over the interval, as real nodes are.
        let beat = self.config.heartbeat;
        let offset = beat.mul_f64((index % 100) as f64 / 100.0);
        self.clock.sleep(offset).await;
        let mut beats = 0u64;
        loop {
            self.clock.sleep(beat).await;
            if self.epoch(&name).is_none() {
                continue;
            }
            beats += 1;
            let _ = self.renew_lease(&name).await;
            if beats % 6 == 0 {
                let _ = self.refresh_node(&name, index).await;
            }
        }
    }

    /// A returning node: lease, Ready status, then its pods from a fresh list.
    async fn rejoin(self: Arc<Self>, name: &str) {
        let Some(epoch) = self.epoch(name) else { return };
        let index = lock(&self.nodes).get(name).map_or(0, |n| n.index);
        loop {
            if !self.alive(name, epoch) {
                return;
            }
            let pods: Api<Pod> = Api::all(self.store.clone());
            let listed = async {
                self.renew_lease(name).await?;
                self.refresh_node(name, index).await?;
                pods.list(&ListParams::default().fields(format!("spec.nodeName={name}"))).await
            }
            .await;
            match listed {
                Ok(list) => {
                    self.reconcile_node(name, &list.items);
                    return;
                }
                Err(_) => self.clock.sleep(self.retry()).await,
            }
        }
    }

    /// Brings what `node` runs in line with `pods`, the full list of pods bound to it.
    fn reconcile_node(self: &Arc<Self>, node: &str, pods: &[Pod]) {
        let uids: BTreeSet<&str> = pods.iter().filter_map(|p| p.metadata.uid.as_deref()).collect();
        let gone: Vec<String> = {
            let mut nodes = lock(&self.nodes);
            let Some(n) = nodes.get_mut(node).filter(|n| n.up) else { return };
            let gone: Vec<String> = n.pods.keys().filter(|u| !uids.contains(u.as_str())).cloned().collect();
            for uid in &gone {
                n.pods.remove(uid);
            }
            gone
        };
        if !gone.is_empty() {
            let mut stats = lock(&self.stats);
            stats.stopped += gone.len() as u64;
            stats.stale_stopped += gone.len() as u64;
        }
        for pod in pods {
            self.handle(node, pod, false);
        }
    }

    /// Lists every pod, then follows changes; relists when the watch cannot resume.
    async fn pod_loop(self: Arc<Self>) {
        let api: Api<Pod> = Api::all(self.store.clone());
        'relist: loop {
            let list = match api.list(&ListParams::default()).await {
                Ok(l) => l,
                Err(_) => {
                    self.clock.sleep(self.retry()).await;
                    continue;
                }
            };
            let mut by_node: BTreeMap<String, Vec<Pod>> = BTreeMap::new();
            for p in list.items {
                if let Some(n) = p.spec.node_name.clone() {
                    by_node.entry(n).or_default().push(p);
                }
            }
            let names: Vec<String> = lock(&self.nodes).keys().cloned().collect();
            for n in names {
                self.reconcile_node(&n, by_node.get(&n).map_or(&[][..], |v| v.as_slice()));
            }
            let mut rv = list.resource_version;
            loop {
                let mut stream = match api.watch(&WatchParams::default().from_version(rv.clone())).await {
                    Ok(s) => s,
                    Err(StoreError::Gone { .. }) => continue 'relist,
                    Err(_) => {
                        self.clock.sleep(self.retry()).await;
                        continue;
                    }
                };
                while let Some(ev) = stream.next().await {
                    match ev {
                        Ok(TypedEvent::Added(p) | TypedEvent::Modified(p)) => {
                            rv = p.metadata.resource_version.clone().unwrap_or(rv);
                            if let Some(n) = p.spec.node_name.clone() {
                                self.handle(&n, &p, false);
                            }
                        }
                        Ok(TypedEvent::Deleted(p)) => {
                            rv = p.metadata.resource_version.clone().unwrap_or(rv);
                            if let Some(n) = p.spec.node_name.clone() {
                                self.handle(&n, &p, true);
                            }
                        }
                        Ok(TypedEvent::Bookmark(v)) => rv = v,
                        Err(StoreError::Gone { .. }) => continue 'relist,
                        Err(_) => break,
                    }
                }
                self.clock.sleep(self.retry()).await;
            }
        }
    }

    /// What node `node` does about the latest state of `pod` (its last state when `deleted`).
    fn handle(self: &Arc<Self>, node: &str, pod: &Pod, deleted: bool) {
        let Some(uid) = pod.metadata.uid.clone() else { return };
        let (ns, name) = (pod.metadata.namespace_str().to_owned(), pod.metadata.name_str().to_owned());
        let mut nodes = lock(&self.nodes);
        let Some(n) = nodes.get_mut(node).filter(|n| n.up) else { return };
        let epoch = n.epoch;
        let current = n.pods.get(&uid).map(|(r, _, _)| *r);
        if deleted {
            if n.pods.remove(&uid).is_some() {
                lock(&self.stats).stopped += 1;
            }
            return;
        }
        if pod.metadata.is_deleting() {
            if current == Some(Run::Stopping) {
                return;
            }
            let had = current.is_some();
            if let Some(e) = n.pods.get_mut(&uid) {
                e.0 = Run::Stopping;
            }
            drop(nodes);
            let fleet = self.clone();
            let node = node.to_owned();
            let stop = if had { self.config.stop_delay } else { Duration::ZERO };
            self.spawn
                .spawn_boxed("pod-stop", async move { fleet.stop_pod(node, epoch, uid, ns, name, stop).await }.boxed());
            return;
        }
        if pod.is_terminal() {
            return;
        }
        match current {
            None => {
                n.pods.insert(uid.clone(), (Run::Starting, ns.clone(), name.clone()));
                n.next_ip += 1;
                let ip = format!("10.{}.{}.{}", n.index / 256, n.index % 256, n.next_ip % 250 + 1);
                let host = node_ip(n.index);
                drop(nodes);
                let delay = {
                    let (lo, hi) = self.config.start_delay;
                    let mut rng = lock(&self.rng);
                    lo + Duration::from_millis(rng.below((hi.saturating_sub(lo)).as_millis() as u64 + 1))
                };
                let fleet = self.clone();
                let node = node.to_owned();
                self.spawn.spawn_boxed(
                    "pod-start",
                    async move {
                        fleet.clock.sleep(delay).await;
                        fleet.report_running(node, epoch, uid, ns, name, ip, host, false).await
                    }
                    .boxed(),
                );
            }
            Some(Run::Running) if !pod.is_ready() => {
                // Someone (the node lifecycle controller) marked it not ready; it is running.
                let ip = pod.status.pod_ip.clone().unwrap_or_default();
                let host = node_ip(n.index);
                drop(nodes);
                let fleet = self.clone();
                let node = node.to_owned();
                self.spawn.spawn_boxed(
                    "pod-status",
                    async move { fleet.report_running(node, epoch, uid, ns, name, ip, host, true).await }.boxed(),
                );
            }
            _ => {}
        }
    }

    /// Writes the Running, Ready status of a started pod (retrying while the store is away).
    #[allow(clippy::too_many_arguments)]
    async fn report_running(
        self: Arc<Self>,
        node: String,
        epoch: u64,
        uid: String,
        ns: String,
        name: String,
        ip: String,
        host: String,
        repair: bool,
    ) {
        let api: Api<Pod> = Api::namespaced(self.store.clone(), &ns);
        loop {
            if !self.alive(&node, epoch) {
                return;
            }
            let state = lock(&self.nodes).get(&node).and_then(|n| n.pods.get(&uid).map(|e| e.0));
            if state == Some(Run::Stopping) || state.is_none() {
                return;
            }
            let result = async {
                let mut pod = api.get(&name).await?;
                if pod.metadata.uid.as_deref() != Some(uid.as_str()) || pod.metadata.is_deleting() {
                    return Ok(false);
                }
                if pod.is_ready() && pod.status.phase.as_deref() == Some("Running") {
                    return Ok(true);
                }
                pod.status = running_status(&pod, &ip, &host, self.clock.now());
                api.update_status(&pod).await.map(|_| true)
            }
            .await;
            match result {
                Ok(true) => {
                    if let Some(e) = lock(&self.nodes).get_mut(&node).and_then(|n| n.pods.get_mut(&uid))
                        && e.0 == Run::Starting
                    {
                        e.0 = Run::Running;
                    }
                    let mut stats = lock(&self.stats);
                    if repair {
                        stats.status_repairs += 1;
                    } else {
                        stats.started += 1;
                    }
                    return;
                }
                Ok(false) | Err(StoreError::NotFound { .. }) => return,
                Err(StoreError::Conflict { .. }) => continue,
                Err(_) => self.clock.sleep(self.retry()).await,
            }
        }
    }

    /// Stops a deleted pod's containers and confirms the deletion.
    async fn stop_pod(self: Arc<Self>, node: String, epoch: u64, uid: String, ns: String, name: String, d: Duration) {
        if !d.is_zero() {
            self.clock.sleep(d).await;
        }
        let api: Api<Pod> = Api::namespaced(self.store.clone(), &ns);
        loop {
            if !self.alive(&node, epoch) {
                return;
            }
            if let Some(n) = lock(&self.nodes).get_mut(&node)
                && n.pods.remove(&uid).is_some()
            {
                lock(&self.stats).stopped += 1;
            }
            let opts = DeleteOptions {
                preconditions: Some(Preconditions { uid: Some(uid.clone()), resource_version: None }),
                ..Default::default()
            }
            .grace_period(0);
            match api.delete(&name, &opts).await {
                Ok(_) | Err(StoreError::NotFound { .. } | StoreError::Conflict { .. }) => return,
                Err(_) => self.clock.sleep(self.retry()).await,
            }
        }
    }
}

/// The status of a pod whose containers all run and are ready.
fn running_status(pod: &Pod, ip: &str, host: &str, now: Timestamp) -> PodStatus {
    let cond = |t: &str| {
        let mut c = Condition::new(t, true);
        c.last_transition_time = Some(now);
        c
    };
    PodStatus {
        phase: Some("Running".into()),
        conditions: vec![cond("PodScheduled"), cond("Initialized"), cond("ContainersReady"), cond("Ready")],
        container_statuses: pod
            .spec
            .containers
            .iter()
            .map(|c| ContainerStatus {
                name: c.name.clone(),
                ready: true,
                image: c.image.clone(),
                state: Some(ContainerState {
                    running: Some(ContainerStateRunning { started_at: Some(now) }),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect(),
        pod_ip: Some(ip.to_owned()),
        pod_ips: vec![PodIp { ip: ip.to_owned() }],
        host_ip: Some(host.to_owned()),
        start_time: pod.status.start_time.or(Some(now)),
        qos_class: pod.status.qos_class.clone(),
        ..Default::default()
    }
}
