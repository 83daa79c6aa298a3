//! Extension-point semantics through the whole scheduler: Permit Wait, failed binds, status,
//! preemption, profiles.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use orch_core::kinds::find_condition;
use orch_sched::*;

use crate::harness::{Sim, node, pod, tainted, tolerate};

struct Gate(Duration);
impl Plugin for Gate {
    fn name(&self) -> &str {
        "Gate"
    }
}
impl PermitPlugin for Gate {
    fn permit(&self, _: &CycleState, _: &PodInfo, _: &str) -> PermitDecision {
        PermitDecision::Wait { timeout: self.0 }
    }
}

fn with_gate(timeout: Duration) -> (SchedulerConfig, PluginRegistry) {
    let mut registry = PluginRegistry::with_defaults();
    registry.register("Gate", move |_, _| Ok(PluginSet::default().permit(Arc::new(Gate(timeout))))).expect("register");
    let config =
        SchedulerConfig::default().profiles(vec![Profile::default_profile().with_plugin(PluginConfig::new("Gate"))]);
    (config, registry)
}

#[test]
fn permit_wait_holds_binding_until_allowed() {
    let sim = Sim::new();
    let (config, registry) = with_gate(Duration::from_secs(30));
    let sched = sim.scheduler(config, registry);
    sim.create_node(node("n1", "4", "8Gi", "10"));
    sim.create_pod(pod("p", "100m", ""));
    assert_eq!(sim.node_of("p"), None, "held by Permit");
    let fw = sched.framework(DEFAULT_SCHEDULER_NAME).expect("profile");
    assert!(fw.waiting_pods().contains("default/p"));
    assert_eq!(sched.cached_pods(), 1, "the waiting pod is assumed");
    fw.waiting_pods().allow("default/p", "Gate");
    sim.exec.run_until_stalled();
    assert_eq!(sim.node_of("p").as_deref(), Some("n1"));
    assert_eq!(sched.stats().bound, 1);
}

#[test]
fn permit_timeout_rolls_back_and_requeues() {
    let sim = Sim::new();
    let (config, registry) = with_gate(Duration::from_secs(5));
    let sched = sim.scheduler(config, registry);
    sim.create_node(node("n1", "4", "8Gi", "10"));
    sim.create_pod(pod("p", "100m", ""));
    sim.advance(5);
    assert_eq!(sim.node_of("p"), None);
    let stats = sched.stats();
    assert_eq!(stats.bind_failures, 1);
    assert!(stats.attempts >= 1);
    let (active, backoff, unschedulable) = sched.queue_lengths();
    assert_eq!(active + backoff + unschedulable, 1, "the pod is queued again");
}

/// Fails the first `fail` binds, then leaves binding to the DefaultBinder; records Unreserve.
struct Flaky {
    fail: usize,
    calls: AtomicUsize,
    unreserved: Mutex<Vec<String>>,
}
impl Plugin for Flaky {
    fn name(&self) -> &str {
        "Flaky"
    }
}
impl BindPlugin for Flaky {
    fn bind<'a>(&'a self, _: &'a CycleState, _: &'a PodInfo, _: &'a str) -> BoxFuture<'a, Status> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let fail = n < self.fail;
        Box::pin(async move { if fail { Status::error("injected bind failure") } else { Status::skip() } })
    }
}
impl ReservePlugin for Flaky {
    fn reserve(&self, _: &mut CycleState, _: &PodInfo, _: &str) -> Status {
        Status::success()
    }
    fn unreserve(&self, _: &mut CycleState, pod: &PodInfo, _: &str) {
        self.unreserved.lock().unwrap_or_else(|e| e.into_inner()).push(pod.key.clone());
    }
}

#[test]
fn failed_bind_unreserves_forgets_and_retries_after_backoff() {
    let sim = Sim::new();
    let flaky = Arc::new(Flaky { fail: 1, calls: AtomicUsize::new(0), unreserved: Mutex::new(Vec::new()) });
    let mut registry = PluginRegistry::with_defaults();
    let f = flaky.clone();
    registry
        .register("Flaky", move |_, _| Ok(PluginSet::default().bind(f.clone()).reserve(f.clone())))
        .expect("register");
    // Flaky binds before the DefaultBinder.
    let mut profile = Profile::default_profile().without_plugin("DefaultBinder");
    profile.plugins.push(PluginConfig::new("Flaky"));
    profile.plugins.push(PluginConfig::new("DefaultBinder"));
    let sched = sim.scheduler(SchedulerConfig::default().profiles(vec![profile]), registry);
    sim.create_node(node("n1", "4", "8Gi", "10"));
    sim.create_pod(pod("p", "100m", ""));
    assert_eq!(sim.node_of("p"), None);
    assert_eq!(*flaky.unreserved.lock().unwrap_or_else(|e| e.into_inner()), ["default/p"]);
    assert_eq!(sched.cached_pods(), 0, "the assumed pod is forgotten");
    assert_eq!(sched.queue_lengths().1, 1, "the pod backs off");
    sim.advance(1);
    assert_eq!(sim.node_of("p").as_deref(), Some("n1"));
    assert_eq!(sched.stats().bind_failures, 1);
    assert_eq!(flaky.calls.load(Ordering::SeqCst), 2);
}

#[test]
fn unschedulable_pod_gets_kubernetes_summary_and_is_retried_when_a_node_appears() {
    let sim = Sim::new();
    let sched = sim.scheduler(SchedulerConfig::default(), PluginRegistry::with_defaults());
    for i in 0..3 {
        sim.create_node(node(&format!("small-{i}"), "1", "8Gi", "10"));
    }
    for i in 0..2 {
        sim.create_node(tainted(node(&format!("infra-{i}"), "8", "8Gi", "10"), "dedicated", "infra"));
    }
    sim.create_pod(pod("big", "2", ""));
    let p = sim.pod("big").expect("pod");
    let cond = find_condition(&p.status.conditions, "PodScheduled").expect("condition");
    assert_eq!(cond.status, "False");
    assert_eq!(cond.reason.as_deref(), Some("Unschedulable"));
    assert_eq!(
        cond.message.as_deref(),
        Some(
            "0/5 nodes are available: 2 node(s) had untolerated taint {dedicated: infra}, 3 Insufficient cpu. \
             preemption: no node where evicting lower-priority pods makes room."
        )
    );
    assert_eq!(sched.queue_lengths().2, 1, "parked among unschedulable pods");
    sim.create_node(node("large", "4", "8Gi", "10"));
    sim.advance(10); // the node's create and status write are two events; the pod may back off in between
    assert_eq!(sim.node_of("big").as_deref(), Some("large"));
    // A tolerating pod goes to the tainted nodes when they are the only fit.
    sim.create_pod(tolerate(pod("infra-job", "6", ""), "dedicated"));
    sim.advance(10);
    assert!(sim.node_of("infra-job").is_some_and(|n| n.starts_with("infra-")));
}

#[test]
fn unschedulable_pool_is_flushed_after_five_minutes() {
    let sim = Sim::new();
    let sched = sim.scheduler(SchedulerConfig::default(), PluginRegistry::with_defaults());
    sim.create_node(node("n1", "1", "8Gi", "10"));
    sim.create_pod(pod("big", "2", ""));
    let attempts = sched.stats().attempts;
    sim.advance(299);
    assert_eq!(sched.stats().attempts, attempts, "no relevant event, no retry");
    sim.advance(2);
    assert_eq!(sched.stats().attempts, attempts + 1, "flushed after 5 minutes");
}

#[test]
fn preemption_evicts_lower_priority_pod_and_binds_preemptor() {
    let sim = Sim::new();
    let config = SchedulerConfig::default().preemption_grace_period_seconds(0);
    let sched = sim.scheduler(config, PluginRegistry::with_defaults());
    sim.create_node(node("n1", "1", "8Gi", "10"));
    let mut low = pod("low", "1", "");
    low.spec.priority = Some(1);
    sim.create_pod(low);
    assert_eq!(sim.node_of("low").as_deref(), Some("n1"));
    let mut high = pod("high", "1", "");
    high.spec.priority = Some(100);
    sim.create_pod(high);
    sim.advance(2);
    assert!(sim.pod("low").is_none(), "the victim is evicted");
    assert_eq!(sim.node_of("high").as_deref(), Some("n1"));
    assert_eq!(sched.stats().preemption_victims, 1);
}

#[test]
fn profiles_route_pods_by_scheduler_name() {
    let sim = Sim::new();
    let packer = Profile::default_profile()
        .scheduler_name("packer")
        .with_args("NodeResourcesFit", serde_json::json!({"scoringStrategy": {"type": "MostAllocated"}}))
        .without_plugin("NodeResourcesBalancedAllocation");
    let config = SchedulerConfig::default().profile(packer);
    let _sched = sim.scheduler(config, PluginRegistry::with_defaults());
    sim.create_node(node("a", "4", "8Gi", "10"));
    sim.create_node(node("b", "4", "8Gi", "10"));
    let mut first = pod("first", "2", "");
    first.spec.scheduler_name = Some("packer".into());
    sim.create_pod(first);
    let first_node = sim.node_of("first").expect("bound");
    let mut second = pod("second", "1", "");
    second.spec.scheduler_name = Some("packer".into());
    sim.create_pod(second);
    assert_eq!(sim.node_of("second"), Some(first_node), "MostAllocated packs");
    let mut stranger = pod("stranger", "1", "");
    stranger.spec.scheduler_name = Some("someone-else".into());
    sim.create_pod(stranger);
    assert_eq!(sim.node_of("stranger"), None, "not ours to schedule");
}
