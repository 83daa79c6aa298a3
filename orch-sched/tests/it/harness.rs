//! A deterministic control plane (ManualClock + DeterministicExecutor + Registry over MemKv) and builders.

use std::collections::BTreeMap;
use std::sync::Arc;

use orch_core::kinds::{Container, Node, Pod, Taint, Toleration};
use orch_core::runtime::{Clock, DeterministicExecutor, ManualClock, Spawn};
use orch_core::store::Api;
use orch_core::{ObjectMeta, ObjectStore};
use orch_sched::{PluginRegistry, Scheduler, SchedulerConfig};
use orch_store::Registry;
use orch_store::mem::{MemKv, MemKvConfig};

pub struct Sim {
    pub exec: DeterministicExecutor,
    pub clock: ManualClock,
    pub store: Arc<dyn ObjectStore>,
}

impl Sim {
    pub fn new() -> Sim {
        let exec = DeterministicExecutor::new();
        let clock = ManualClock::new();
        let c: Arc<dyn Clock> = Arc::new(clock.clone());
        let s: Arc<dyn Spawn> = Arc::new(exec.clone());
        let kv = Arc::new(MemKv::with_runtime(MemKvConfig::default(), c.clone(), s.clone()));
        let registry = exec.block_on(Registry::builder(kv, c, s).build()).expect("registry");
        Sim { exec, clock, store: Arc::new(registry) }
    }

    pub fn scheduler(&self, config: SchedulerConfig, registry: PluginRegistry) -> Scheduler {
        let s = Scheduler::new(
            self.store.clone(),
            Arc::new(self.clock.clone()),
            Arc::new(self.exec.clone()),
            config,
            registry,
        )
        .expect("scheduler");
        s.start();
        self.exec.run_until_stalled();
        s
    }

    pub fn nodes(&self) -> Api<Node> {
        Api::all(self.store.clone())
    }

    pub fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.store.clone(), "default")
    }

    /// Creates a node and writes its status (create keeps only spec and metadata).
    pub fn create_node(&self, n: Node) {
        self.exec.block_on(create_node(&self.nodes(), &n));
        self.exec.run_until_stalled();
    }

    pub fn create_pod(&self, p: Pod) {
        self.exec.block_on(self.pods().create(&p)).expect("create pod");
        self.exec.run_until_stalled();
    }

    pub fn pod(&self, name: &str) -> Option<Pod> {
        self.exec.block_on(self.pods().get_opt(name)).expect("get pod")
    }

    pub fn node_of(&self, name: &str) -> Option<String> {
        self.pod(name).and_then(|p| p.spec.node_name)
    }

    /// Moves time forward by `secs` seconds, one timer at a time, running tasks in between.
    pub fn advance(&self, secs: u64) {
        let end = self.clock.now() + std::time::Duration::from_secs(secs);
        self.exec.run_until_stalled();
        while let Some(next) = self.clock.next_deadline().filter(|d| *d <= end) {
            self.clock.set(next);
            self.exec.run_until_stalled();
        }
        self.clock.set(end);
        self.exec.run_until_stalled();
    }
}

/// Creates a node, then writes its status through the status subresource.
pub async fn create_node(api: &Api<Node>, n: &Node) {
    let mut created = api.create(n).await.expect("create node");
    created.status = n.status.clone();
    api.update_status(&created).await.expect("node status");
}

pub fn node(name: &str, cpu: &str, mem: &str, pods: &str) -> Node {
    let mut n = Node { metadata: ObjectMeta::named(name), ..Default::default() };
    n.status.allocatable =
        BTreeMap::from([("cpu".into(), cpu.into()), ("memory".into(), mem.into()), ("pods".into(), pods.into())]);
    n.status.capacity = n.status.allocatable.clone();
    n
}

pub fn tainted(mut n: Node, key: &str, value: &str) -> Node {
    n.spec.taints.push(Taint {
        key: key.into(),
        value: Some(value.into()),
        effect: "NoSchedule".into(),
        time_added: None,
    });
    n
}

pub fn pod(name: &str, cpu: &str, mem: &str) -> Pod {
    let mut p = Pod { metadata: ObjectMeta::named(name).in_namespace("default"), ..Default::default() };
    let mut c = Container { name: "c".into(), image: "busybox".into(), ..Default::default() };
    if !cpu.is_empty() {
        c.resources.requests.insert("cpu".into(), cpu.into());
    }
    if !mem.is_empty() {
        c.resources.requests.insert("memory".into(), mem.into());
    }
    p.spec.containers.push(c);
    p
}

pub fn tolerate(mut p: Pod, key: &str) -> Pod {
    p.spec.tolerations.push(Toleration {
        key: Some(key.into()),
        operator: Some("Exists".into()),
        ..Default::default()
    });
    p
}

/// A small linear congruential generator: reproducible randomness without a crate.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}
