//! ReplicaSet controller against the in-memory Registry on a ManualClock.

use std::sync::Arc;
use std::time::Duration;

use orch_controllers::controllers::replica_set::ReplicaSetController;
use orch_controllers::{Controller, Informers, Latch};
use orch_core::kinds::{Container, Pod, PodTemplateSpec, ReplicaSet};
use orch_core::store::ListParams;
use orch_core::{Api, LabelSelector, ObjectMeta, ObjectStore};

use crate::sim::{Faults, FaultyStore, Sim};

pub fn template(app: &str) -> PodTemplateSpec {
    let mut t = PodTemplateSpec { metadata: ObjectMeta::default().with_label("app", app), ..Default::default() };
    t.spec.containers.push(Container { name: "c".into(), image: "busybox".into(), ..Default::default() });
    t
}

pub fn replica_set(name: &str, replicas: i32) -> ReplicaSet {
    let mut rs = ReplicaSet { metadata: ObjectMeta::named(name).in_namespace("default"), ..Default::default() };
    rs.spec.replicas = Some(replicas);
    rs.spec.selector =
        LabelSelector { match_labels: [("app".to_string(), name.to_string())].into(), ..Default::default() };
    rs.spec.template = template(name);
    rs
}

pub fn start_replica_sets(sim: &Sim, informers: &Informers) -> Latch {
    let stop = Latch::new();
    let c = Controller::new(ReplicaSetController::new(informers), informers).owns::<Pod>();
    let s = stop.clone();
    sim.start("rs-controller", async move { c.run(s).await });
    stop
}

pub fn live_pods(sim: &Sim, store: &Arc<dyn ObjectStore>, app: &str) -> Vec<Pod> {
    let api: Api<Pod> = Api::namespaced(store.clone(), "default");
    let list = sim.block_on(api.list(&ListParams::default().labels(format!("app={app}")))).expect("list");
    list.items.into_iter().filter(|p| !p.metadata.is_deleting()).collect()
}

#[test]
fn replica_set_scales_up_and_down_and_reports_status() {
    let sim = Sim::new();
    let informers = sim.informers();
    let _stop = start_replica_sets(&sim, &informers);
    let api: Api<ReplicaSet> = Api::namespaced(sim.store.clone(), "default");
    sim.block_on(api.create(&replica_set("web", 3))).expect("create");
    sim.run_for(Duration::from_secs(1));
    assert_eq!(live_pods(&sim, &sim.store, "web").len(), 3);
    let rs = sim.block_on(api.get("web")).expect("get");
    assert_eq!(rs.status.as_ref().map(|s| s.replicas), Some(3));
    let pod = &live_pods(&sim, &sim.store, "web")[0];
    assert_eq!(pod.metadata.controller_owner().map(|o| o.uid.clone()), rs.metadata.uid.clone());

    for want in [5, 1, 0] {
        let mut rs = sim.block_on(api.get("web")).expect("get");
        rs.spec.replicas = Some(want);
        sim.block_on(api.update(&rs)).expect("scale");
        sim.run_for(Duration::from_secs(1));
        assert_eq!(live_pods(&sim, &sim.store, "web").len(), want as usize, "scaled to {want}");
    }
}

#[test]
fn a_replica_set_whose_cache_lags_never_overshoots() {
    let sim = Sim::new();
    let lagging: Arc<dyn ObjectStore> = Arc::new(FaultyStore::new(
        sim.store.clone(),
        Faults::new(Arc::new(sim.clock.clone())).lagging("Pod", Duration::from_secs(3)),
    ));
    let informers = sim.informers_over(lagging);
    let _stop = start_replica_sets(&sim, &informers);
    let api: Api<ReplicaSet> = Api::namespaced(sim.store.clone(), "default");
    sim.block_on(api.create(&replica_set("lag", 4))).expect("create");
    let mut max_seen = 0;
    for i in 0..10 {
        // Poke the ReplicaSet so it is reconciled again while its pod cache is still behind.
        let mut rs = sim.block_on(api.get("lag")).expect("get");
        rs.metadata.annotations.insert("poke".into(), i.to_string());
        sim.block_on(api.update(&rs)).expect("poke");
        sim.run_for_checked(Duration::from_millis(700), |s| {
            max_seen = max_seen.max(live_pods(s, &s.store, "lag").len());
        });
    }
    sim.run_for(Duration::from_secs(60));
    assert_eq!(max_seen, 4, "never more than the replica count");
    assert_eq!(live_pods(&sim, &sim.store, "lag").len(), 4);
}

#[test]
fn matching_orphans_are_adopted_instead_of_creating_new_pods() {
    let sim = Sim::new();
    let pods: Api<Pod> = Api::namespaced(sim.store.clone(), "default");
    let t = template("adopt");
    let orphan =
        Pod { metadata: ObjectMeta::named("orphan").with_label("app", "adopt"), spec: t.spec, ..Default::default() };
    sim.block_on(pods.create(&orphan)).expect("orphan");
    let informers = sim.informers();
    let _stop = start_replica_sets(&sim, &informers);
    let api: Api<ReplicaSet> = Api::namespaced(sim.store.clone(), "default");
    let rs = sim.block_on(api.create(&replica_set("adopt", 2))).expect("create");
    sim.run_for(Duration::from_secs(1));
    let live = live_pods(&sim, &sim.store, "adopt");
    assert_eq!(live.len(), 2);
    let adopted = live.iter().find(|p| p.metadata.name_str() == "orphan").expect("orphan kept");
    assert_eq!(adopted.metadata.controller_owner().map(|o| o.uid.clone()), rs.metadata.uid);
}
