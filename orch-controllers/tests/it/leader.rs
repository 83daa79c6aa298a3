//! Leader election: failover between two managers that are never active at the same time.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use orch_controllers::leader::{LeaderElectionConfig, LeaderElector};
use orch_controllers::manager::ControllerManager;
use orch_controllers::{Action, Controller, Latch, ReconcileContext, Reconciler};
use orch_core::kinds::Node;
use orch_core::{Api, ObjectMeta, ObjectStore, Timestamp};

use crate::sim::{Faults, FaultyStore, Sim};

/// Reconciles every second and logs who did it when.
struct Ticker {
    who: &'static str,
    log: Arc<Mutex<Vec<(&'static str, Timestamp)>>>,
}

#[async_trait]
impl Reconciler for Ticker {
    type Kind = Node;
    type Error = std::convert::Infallible;
    fn name(&self) -> &str {
        "ticker"
    }
    async fn reconcile(&self, _n: Arc<Node>, ctx: &ReconcileContext) -> Result<Action, Self::Error> {
        self.log.lock().unwrap().push((self.who, ctx.now));
        Ok(Action::requeue(Duration::from_secs(1)))
    }
}

struct Candidate {
    faulty: Arc<FaultyStore>,
    stop: Latch,
}

type Terms = Arc<Mutex<Vec<(&'static str, bool, Timestamp)>>>;

fn candidate(
    sim: &Sim,
    who: &'static str,
    active: Arc<AtomicI32>,
    terms: Terms,
    log: Arc<Mutex<Vec<(&'static str, Timestamp)>>>,
) -> Candidate {
    let faulty = Arc::new(FaultyStore::new(sim.store.clone(), Faults::new(Arc::new(sim.clock.clone()))));
    let informers = sim.informers_over(faulty.clone() as Arc<dyn ObjectStore>);
    let cfg = LeaderElectionConfig::new("controllers", who).timings(
        Duration::from_secs(15),
        Duration::from_secs(10),
        Duration::from_secs(2),
    );
    let elector = LeaderElector::new(faulty.clone(), cfg, sim.rt.clone()).expect("timings");
    let clock = sim.clock.clone();
    let manager = ControllerManager::new(informers.clone())
        .with(Controller::new(Ticker { who, log }, &informers))
        .leader_election(elector)
        .on_leadership_change(Arc::new(move |leading| {
            let n = if leading {
                active.fetch_add(1, Ordering::SeqCst) + 1
            } else {
                active.fetch_sub(1, Ordering::SeqCst) - 1
            };
            assert!(n <= 1, "two managers active at once");
            terms.lock().unwrap().push((who, leading, orch_core::runtime::Clock::now(&clock)));
        }));
    let stop = Latch::new();
    let s = stop.clone();
    sim.start(who, async move { manager.run(s).await });
    Candidate { faulty, stop }
}

#[test]
fn leader_failover_never_has_two_active_managers() {
    let sim = Sim::new();
    sim.block_on(
        Api::<Node>::all(sim.store.clone()).create(&Node { metadata: ObjectMeta::named("n"), ..Default::default() }),
    )
    .expect("node");
    let active = Arc::new(AtomicI32::new(0));
    let terms: Terms = Arc::default();
    let log = Arc::new(Mutex::new(Vec::new()));
    let a = candidate(&sim, "a", active.clone(), terms.clone(), log.clone());
    sim.run_for(Duration::from_secs(5));
    let _b = candidate(&sim, "b", active.clone(), terms.clone(), log.clone());
    sim.run_for(Duration::from_secs(20));
    assert_eq!(terms.lock().unwrap().clone().iter().map(|t| (t.0, t.1)).collect::<Vec<_>>(), vec![("a", true)]);

    // Partition the leader: it cannot renew, gives up, and only then may b take over.
    let cut_at = sim.now();
    a.faulty.layer().set_cut(true);
    sim.run_for(Duration::from_secs(40));
    let t = terms.lock().unwrap().clone();
    assert_eq!(t.iter().map(|t| (t.0, t.1)).collect::<Vec<_>>(), vec![("a", true), ("a", false), ("b", true)]);
    let (a_stopped, b_started) = (t[1].2, t[2].2);
    assert!(a_stopped < b_started, "a stopped before b started");
    assert!(
        a_stopped.saturating_duration_since(cut_at) <= Duration::from_secs(12),
        "a gave up within the renew deadline"
    );
    let last_a = log.lock().unwrap().iter().filter(|(w, _)| *w == "a").map(|(_, t)| *t).max().expect("a ran");
    let first_b = log.lock().unwrap().iter().filter(|(w, _)| *w == "b").map(|(_, t)| *t).min().expect("b ran");
    assert!(last_a < first_b, "no reconcile of a after b began");

    // a comes back as a follower; stopping b hands the lease back at once.
    a.faulty.layer().set_cut(false);
    sim.run_for(Duration::from_secs(30));
    assert_eq!(terms.lock().unwrap().len(), 3, "a stays a follower while b renews");
    _b.stop.set();
    sim.run_for(Duration::from_secs(5));
    let t = terms.lock().unwrap().clone();
    assert_eq!(t.iter().skip(3).map(|t| (t.0, t.1)).collect::<Vec<_>>(), vec![("b", false), ("a", true)]);
    assert_eq!(active.load(Ordering::SeqCst), 1);
    a.stop.set();
    sim.run_for(Duration::from_secs(1));
}
