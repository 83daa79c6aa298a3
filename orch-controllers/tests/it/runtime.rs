//! The reconcile runtime: reflector recovery, backoff of failing reconciles, requeue, shutdown.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use orch_controllers::{Action, Controller, ControllerConfig, Latch, ReconcileContext, Reconciler, WatcherConfig};
use orch_core::kinds::Node;
use orch_core::{Api, ObjectMeta, ObjectStore, Timestamp};

use crate::sim::{Faults, FaultyStore, Sim};

#[derive(Debug, thiserror::Error)]
#[error("failing on purpose")]
struct Boom;

/// Fails `fail_first` times, then succeeds; records when it ran.
struct Flaky {
    fail_first: u32,
    calls: AtomicU32,
    times: Arc<Mutex<Vec<Timestamp>>>,
    then: Action,
}

#[async_trait]
impl Reconciler for Flaky {
    type Kind = Node;
    type Error = Boom;
    fn name(&self) -> &str {
        "flaky"
    }
    async fn reconcile(&self, _node: Arc<Node>, ctx: &ReconcileContext) -> Result<Action, Boom> {
        self.times.lock().unwrap().push(ctx.now);
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if n < self.fail_first { Err(Boom) } else { Ok(self.then) }
    }
}

fn node(name: &str) -> Node {
    Node { metadata: ObjectMeta::named(name), ..Default::default() }
}

fn offsets(times: &[Timestamp]) -> Vec<u64> {
    times.iter().map(|t| t.saturating_duration_since(times[0]).as_secs()).collect()
}

#[test]
fn a_reconcile_that_keeps_failing_backs_off_exponentially_and_recovers() {
    let sim = Sim::new();
    let informers = sim.informers();
    let times = Arc::new(Mutex::new(Vec::new()));
    let flaky = Flaky { fail_first: 5, calls: AtomicU32::new(0), times: times.clone(), then: Action::await_change() };
    let cfg = ControllerConfig::default().backoff(Duration::from_secs(1), Duration::from_secs(60));
    let controller = Arc::new(Controller::new(flaky, &informers).config(cfg));
    let (c, stop) = (controller.clone(), Latch::new());
    let s = stop.clone();
    sim.start("flaky", async move { c.run(s).await });
    sim.block_on(Api::<Node>::all(sim.store.clone()).create(&node("n1"))).expect("node");
    sim.run_for(Duration::from_secs(120));
    assert_eq!(offsets(&times.lock().unwrap()), vec![0, 1, 3, 7, 15, 31], "1, 2, 4, 8, 16 s apart, then success");
    let m = controller.metrics().snapshot(0);
    assert_eq!((m.reconciles, m.errors, m.retries), (6, 5, 5));
    let q = controller.queue().expect("running");
    assert_eq!(q.failures(&orch_controllers::ObjectKey::cluster("n1")), 0, "backoff reset on success");
    stop.set();
    sim.settle();
}

#[test]
fn requeue_reconciles_again_after_the_delay() {
    let sim = Sim::new();
    let informers = sim.informers();
    let times = Arc::new(Mutex::new(Vec::new()));
    let r = Flaky {
        fail_first: 0,
        calls: AtomicU32::new(0),
        times: times.clone(),
        then: Action::requeue(Duration::from_secs(10)),
    };
    let c = Controller::new(r, &informers);
    sim.start("requeue", async move { c.run(Latch::new()).await });
    sim.block_on(Api::<Node>::all(sim.store.clone()).create(&node("n1"))).expect("node");
    sim.run_for(Duration::from_secs(35));
    assert_eq!(offsets(&times.lock().unwrap()), vec![0, 10, 20, 30]);
}

#[test]
fn graceful_shutdown_lets_a_reconcile_in_flight_finish() {
    struct Slow;
    #[async_trait]
    impl Reconciler for Slow {
        type Kind = Node;
        type Error = Boom;
        fn name(&self) -> &str {
            "slow"
        }
        async fn reconcile(&self, _n: Arc<Node>, _ctx: &ReconcileContext) -> Result<Action, Boom> {
            futures::future::pending::<()>().await;
            Ok(Action::await_change())
        }
    }
    let sim = Sim::new();
    let informers = sim.informers();
    let finished = Arc::new(AtomicU32::new(0));
    let cfg = ControllerConfig::default().shutdown_grace(Duration::from_secs(3));
    let c = Controller::new(Slow, &informers).config(cfg);
    let stop = Latch::new();
    let (s, f) = (stop.clone(), finished.clone());
    sim.start("slow", async move {
        c.run(s).await;
        f.store(1, Ordering::SeqCst);
    });
    sim.block_on(Api::<Node>::all(sim.store.clone()).create(&node("n1"))).expect("node");
    sim.run_for(Duration::from_secs(1));
    stop.set();
    sim.run_for(Duration::from_secs(2));
    assert_eq!(finished.load(Ordering::SeqCst), 0, "still within the grace period");
    sim.run_for(Duration::from_secs(2));
    assert_eq!(finished.load(Ordering::SeqCst), 1, "stopped once the grace period ran out");
}

#[test]
fn the_reflector_resumes_after_a_disconnect_and_catches_up() {
    let sim = Sim::new();
    let faulty = Arc::new(FaultyStore::new(sim.store.clone(), Faults::new(Arc::new(sim.clock.clone()))));
    let informers = sim.informers_over(faulty.clone() as Arc<dyn ObjectStore>);
    let reflector = informers.reflector_with::<Node>(WatcherConfig::default());
    let cache = reflector.store();
    informers.start();
    let nodes = Api::<Node>::all(sim.store.clone());
    sim.block_on(nodes.create(&node("a"))).expect("a");
    sim.run_for(Duration::from_secs(1));
    assert_eq!(cache.len(), 1);
    faulty.layer().set_cut(true);
    faulty.layer().disconnect_watches();
    sim.block_on(nodes.create(&node("b"))).expect("b");
    sim.block_on(nodes.delete("a", &Default::default())).expect("delete a");
    sim.run_for(Duration::from_secs(10));
    assert_eq!(cache.len(), 1, "still the old view while cut off");
    assert!(cache.get(&orch_controllers::ObjectKey::cluster("a")).is_some());
    faulty.layer().set_cut(false);
    sim.run_for(Duration::from_secs(60));
    let names: Vec<String> = cache.list().iter().map(|n| n.metadata.name_str().to_owned()).collect();
    assert_eq!(names, ["b"]);
    informers.stop();
}

#[test]
fn repeated_events_are_aggregated_into_a_count() {
    use orch_controllers::recorder::{EventRecorder, EventType};
    use orch_core::kinds::{Event, Pod};
    let sim = Sim::new();
    let pod = Pod { metadata: ObjectMeta::named("p").in_namespace("default"), ..Default::default() };
    let rec = EventRecorder::new(sim.store.clone(), "test", sim.rt.clone());
    for _ in 0..3 {
        sim.block_on(rec.publish(&pod, EventType::Warning, "BackOff", "restarting")).expect("record");
        sim.clock.advance(Duration::from_secs(1));
    }
    sim.block_on(rec.publish(&pod, EventType::Normal, "Started", "started")).expect("record");
    // A second recorder (another process) aggregates into the same object.
    let other = EventRecorder::new(sim.store.clone(), "test", sim.rt.clone());
    sim.block_on(other.publish(&pod, EventType::Warning, "BackOff", "restarting")).expect("record");
    let events = sim.block_on(Api::<Event>::namespaced(sim.store.clone(), "default").list(&Default::default()));
    let mut counts: Vec<(String, i32)> = events
        .expect("list")
        .items
        .iter()
        .map(|e| (e.reason.clone().unwrap_or_default(), e.count.unwrap_or(0)))
        .collect();
    counts.sort();
    assert_eq!(counts, vec![("BackOff".to_string(), 4), ("Started".to_string(), 1)]);
}
