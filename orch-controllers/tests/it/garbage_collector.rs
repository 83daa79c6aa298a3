//! Cascading deletion through ownerReferences: background, foreground and orphan.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use orch_controllers::controllers::deployment::DeploymentController;
use orch_controllers::controllers::garbage_collector::GarbageCollector;
use orch_controllers::controllers::replica_set::ReplicaSetController;
use orch_controllers::manager::ControllerManager;
use orch_controllers::{Change, Controller, Informers, Latch};
use orch_core::Api;
use orch_core::kinds::{Deployment, Pod, ReplicaSet};
use orch_core::store::{DeleteOptions, PropagationPolicy};

use crate::deployment::deployment;
use crate::sim::Sim;

fn cluster(sim: &Sim) -> Informers {
    let informers = sim.informers();
    let manager = ControllerManager::new(informers.clone())
        .with(Controller::new(ReplicaSetController::new(&informers), &informers).owns::<Pod>())
        .with(Controller::new(DeploymentController::new(&informers), &informers).owns::<ReplicaSet>())
        .with(GarbageCollector::with_builtin_kinds(&informers));
    sim.start("manager", async move { manager.run(Latch::new()).await });
    informers
}

fn counts(sim: &Sim) -> (usize, usize, usize) {
    let d = sim.block_on(Api::<Deployment>::namespaced(sim.store.clone(), "default").list(&Default::default()));
    let r = sim.block_on(Api::<ReplicaSet>::namespaced(sim.store.clone(), "default").list(&Default::default()));
    let p = sim.block_on(Api::<Pod>::namespaced(sim.store.clone(), "default").list(&Default::default()));
    (d.expect("d").items.len(), r.expect("r").items.len(), p.expect("p").items.len())
}

fn deploy(sim: &Sim) {
    let api: Api<Deployment> = Api::namespaced(sim.store.clone(), "default");
    sim.block_on(api.create(&deployment("app", 3, "v1"))).expect("create");
    sim.run_for(Duration::from_secs(5));
    assert_eq!(counts(sim), (1, 1, 3));
}

/// Deletes the Deployment; whether the store kept it pending (held by a finalizer).
fn delete(sim: &Sim, policy: PropagationPolicy) -> bool {
    let api: Api<Deployment> = Api::namespaced(sim.store.clone(), "default");
    sim.block_on(api.delete("app", &DeleteOptions::default().propagation(policy))).expect("delete").is_some()
}

#[test]
fn background_deletion_removes_the_owner_then_its_dependents() {
    let sim = Sim::new();
    let _inf = cluster(&sim);
    deploy(&sim);
    delete(&sim, PropagationPolicy::Background);
    sim.run_for(Duration::from_secs(5));
    assert_eq!(counts(&sim), (0, 0, 0));
}

#[test]
fn foreground_deletion_keeps_the_owner_until_every_dependent_is_gone() {
    let sim = Sim::new();
    let _inf = cluster(&sim);
    deploy(&sim);
    let watcher = sim.informers();
    let (pods, early) = (watcher.store::<Pod>(), Arc::new(AtomicBool::new(false)));
    let e = early.clone();
    let _sub = watcher.reflector::<Deployment>().subscribe(Arc::new(move |c: &Change<Deployment>| {
        if matches!(c, Change::Deleted(_)) && !pods.is_empty() {
            e.store(true, Ordering::SeqCst);
        }
    }));
    watcher.start();
    sim.run_for(Duration::from_secs(1));
    assert!(delete(&sim, PropagationPolicy::Foreground), "held by the foregroundDeletion finalizer");
    sim.run_for(Duration::from_secs(5));
    assert_eq!(counts(&sim), (0, 0, 0));
    assert!(!early.load(Ordering::SeqCst), "the Deployment went only after its pods");
}

#[test]
fn orphan_deletion_leaves_dependents_without_the_owner_reference() {
    let sim = Sim::new();
    let _inf = cluster(&sim);
    deploy(&sim);
    delete(&sim, PropagationPolicy::Orphan);
    sim.run_for(Duration::from_secs(5));
    assert_eq!(counts(&sim), (0, 1, 3));
    let rs = sim.block_on(Api::<ReplicaSet>::namespaced(sim.store.clone(), "default").list(&Default::default()));
    assert!(rs.expect("list").items[0].metadata.owner_references.is_empty());
}
