//! Node death: the node is tainted after the lease grace period, its pods are evicted after the
//! toleration, and its ReplicaSet replaces them on the remaining nodes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use orch_controllers::controllers::node_lifecycle::{NodeLifecycleConfig, NodeLifecycleController, UNREACHABLE_TAINT};
use orch_controllers::{Change, Informers, Latch, Subscription};
use orch_core::kinds::{Lease, LeaseSpec, Node, Pod, ReplicaSet, find_condition};
use orch_core::{Api, ObjectMeta};

use crate::deployment::fake_kubelet;
use crate::replica_set::{live_pods, replica_set, start_replica_sets};
use crate::sim::Sim;

/// Renews the node's lease every 10 s until `stop`.
fn node_agent(sim: &Sim, name: &'static str) -> Latch {
    let stop = Latch::new();
    let (s, store, clock) = (stop.clone(), sim.store.clone(), sim.rt.clock.clone());
    sim.block_on(
        Api::<Node>::all(store.clone()).create(&Node { metadata: ObjectMeta::named(name), ..Default::default() }),
    )
    .expect("node");
    sim.start(name, async move {
        let leases: Api<Lease> = Api::namespaced(store, "kube-node-lease");
        while !s.is_set() {
            let now = clock.now();
            let spec = LeaseSpec { holder_identity: Some(name.into()), renew_time: Some(now), ..Default::default() };
            match leases.get_opt(name).await {
                Ok(Some(mut l)) => {
                    l.spec = spec;
                    let _ = leases.update(&l).await;
                }
                _ => {
                    let _ = leases.create(&Lease { metadata: ObjectMeta::named(name), spec }).await;
                }
            }
            clock.sleep(Duration::from_secs(10)).await;
        }
    });
    stop
}

/// Binds unbound pods round-robin to nodes without the unreachable taint.
fn fake_scheduler(sim: &Sim, informers: &Informers) -> Subscription {
    let nodes = informers.store::<Node>();
    let (rt, store, turn) = (sim.rt.clone(), sim.store.clone(), Arc::new(AtomicUsize::new(0)));
    informers.reflector::<Pod>().subscribe(Arc::new(move |c: &Change<Pod>| {
        let Change::Applied { new, .. } = c else { return };
        if new.spec.node_name.is_some() || new.metadata.is_deleting() {
            return;
        }
        let healthy: Vec<String> = nodes
            .list()
            .iter()
            .filter(|n| !n.spec.taints.iter().any(|t| t.key == UNREACHABLE_TAINT))
            .map(|n| n.metadata.name_str().to_owned())
            .collect();
        if healthy.is_empty() {
            return;
        }
        let node = healthy[turn.fetch_add(1, Ordering::SeqCst) % healthy.len()].clone();
        let api: Api<Pod> = Api::namespaced(store.clone(), new.metadata.namespace_str());
        let name = new.metadata.name_str().to_owned();
        rt.spawn("bind", async move {
            let _ = api.bind(&name, &node).await;
        });
    }))
}

fn on_node(sim: &Sim, node: &str) -> usize {
    live_pods(sim, &sim.store, "app").iter().filter(|p| p.spec.node_name.as_deref() == Some(node)).count()
}

#[test]
fn node_death_evicts_pods_after_the_toleration_and_they_are_recreated_elsewhere() {
    let sim = Sim::new();
    let informers = sim.informers();
    let _agents: Vec<Latch> = ["n2", "n3"].into_iter().map(|n| node_agent(&sim, n)).collect();
    let dying = node_agent(&sim, "n1");
    let _rs = start_replica_sets(&sim, &informers);
    let _sched = fake_scheduler(&sim, &informers);
    let _kubelet = fake_kubelet(&sim, &informers);
    let c = NodeLifecycleController::controller(&informers, NodeLifecycleConfig::default());
    sim.start("node-lifecycle", async move { c.run(Latch::new()).await });
    sim.block_on(Api::<ReplicaSet>::namespaced(sim.store.clone(), "default").create(&replica_set("app", 6)))
        .expect("rs");
    sim.run_for(Duration::from_secs(5));
    assert_eq!(on_node(&sim, "n1"), 2, "spread over the three nodes");

    dying.set(); // its last renewal was at the start, 5 s ago
    let died = sim.now();
    sim.run_for(Duration::from_secs(30));
    let n1 = sim.block_on(Api::<Node>::all(sim.store.clone()).get("n1")).expect("n1");
    assert!(n1.spec.taints.is_empty(), "still within the grace period");
    sim.run_for(Duration::from_secs(25));
    let n1 = sim.block_on(Api::<Node>::all(sim.store.clone()).get("n1")).expect("n1");
    let effects: Vec<&str> =
        n1.spec.taints.iter().filter(|t| t.key == UNREACHABLE_TAINT).map(|t| t.effect.as_str()).collect();
    assert_eq!(effects, ["NoSchedule", "NoExecute"], "no new pods go there; the ones there are evicted");
    let taint = n1.spec.taints.iter().find(|t| t.key == UNREACHABLE_TAINT && t.effect == "NoExecute").expect("tainted");
    assert_eq!(find_condition(&n1.status.conditions, "Ready").map(|c| c.status.as_str()), Some("Unknown"));
    let tainted_at = taint.time_added.expect("time");
    assert!(tainted_at.saturating_duration_since(died) <= Duration::from_secs(50));

    sim.run_for((tainted_at + Duration::from_secs(295)).saturating_duration_since(sim.now()));
    assert_eq!(on_node(&sim, "n1"), 2, "pods stay for the default 300 s toleration");
    let stranded: Vec<_> =
        live_pods(&sim, &sim.store, "app").into_iter().filter(|p| p.spec.node_name.as_deref() == Some("n1")).collect();
    assert!(stranded.iter().all(|p| !p.is_ready()), "marked not ready while their node is unreachable");
    sim.run_for(Duration::from_secs(10));
    assert_eq!(on_node(&sim, "n1"), 0, "evicted after the toleration");
    let live = live_pods(&sim, &sim.store, "app");
    assert_eq!(live.len(), 6, "replaced by the ReplicaSet");
    assert!(live.iter().all(|p| matches!(p.spec.node_name.as_deref(), Some("n2" | "n3"))));

    // The agent comes back: the node is untainted.
    let _back = node_agent_restart(&sim, "n1");
    sim.run_for(Duration::from_secs(15));
    let n1 = sim.block_on(Api::<Node>::all(sim.store.clone()).get("n1")).expect("n1");
    assert!(n1.spec.taints.is_empty(), "untainted once the lease is renewed again");
}

fn node_agent_restart(sim: &Sim, name: &'static str) -> Latch {
    let stop = Latch::new();
    let (s, store, clock) = (stop.clone(), sim.store.clone(), sim.rt.clock.clone());
    sim.start(name, async move {
        let leases: Api<Lease> = Api::namespaced(store, "kube-node-lease");
        while !s.is_set() {
            if let Ok(Some(mut l)) = leases.get_opt(name).await {
                l.spec.renew_time = Some(clock.now());
                let _ = leases.update(&l).await;
            }
            clock.sleep(Duration::from_secs(10)).await;
        }
    });
    stop
}
