//! Deployment rollouts: bounds at every observed pod event, rollback, Recreate.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use orch_controllers::controllers::deployment::{DeploymentController, POD_TEMPLATE_HASH_LABEL, ROLLBACK_ANNOTATION};
use orch_controllers::{Change, Controller, Informers, Latch, Subscription};
use orch_core::kinds::{Condition, Deployment, Pod, ReplicaSet};
use orch_core::{Api, LabelSelector, ObjectMeta};

use crate::replica_set::{start_replica_sets, template};
use crate::sim::Sim;

pub fn deployment(name: &str, replicas: i32, image: &str) -> Deployment {
    let mut d = Deployment { metadata: ObjectMeta::named(name).in_namespace("default"), ..Default::default() };
    d.spec.replicas = Some(replicas);
    d.spec.selector =
        LabelSelector { match_labels: [("app".to_string(), name.to_string())].into(), ..Default::default() };
    d.spec.template = template(name);
    d.spec.template.spec.containers[0].image = image.into();
    d
}

/// Marks every new pod Running and Ready, as a node agent would.
pub fn fake_kubelet(sim: &Sim, informers: &Informers) -> Subscription {
    let pods = informers.reflector::<Pod>();
    let (rt, store) = (sim.rt.clone(), sim.store.clone());
    pods.subscribe(Arc::new(move |c: &Change<Pod>| {
        let Change::Applied { new, .. } = c else { return };
        // It starts pods once; a running pod someone marked not ready (the node lifecycle
        // controller, for a lost node) stays so.
        if new.is_ready() || new.metadata.is_deleting() || new.status.phase.as_deref() == Some("Running") {
            return;
        }
        let mut p = (**new).clone();
        let now = rt.clock.now();
        p.status.phase = Some("Running".into());
        p.status.conditions = vec![Condition { last_transition_time: Some(now), ..Condition::new("Ready", true) }];
        p.metadata.resource_version = None;
        let api: Api<Pod> = Api::namespaced(store.clone(), p.metadata.namespace_str());
        rt.spawn("kubelet", async move {
            let _ = api.update_status(&p).await;
        });
    }))
}

struct Bounds {
    max_pods: usize,
    min_ready: usize,
    armed: AtomicBool,
    violations: Mutex<Vec<String>>,
    max_seen: Mutex<usize>,
}

/// Checks the rollout bounds on every pod event the observer sees.
fn observe(informers: &Informers, app: &str, bounds: Arc<Bounds>) -> Subscription {
    let reflector = informers.reflector::<Pod>();
    let store = reflector.store();
    let app = app.to_owned();
    reflector.subscribe(Arc::new(move |_c: &Change<Pod>| {
        let live: Vec<_> = store
            .list()
            .into_iter()
            .filter(|p| p.metadata.labels.get("app") == Some(&app) && !p.metadata.is_deleting())
            .collect();
        let ready = live.iter().filter(|p| p.is_ready()).count();
        let mut m = bounds.max_seen.lock().unwrap();
        *m = (*m).max(live.len());
        if live.len() > bounds.max_pods {
            bounds.violations.lock().unwrap().push(format!("{} pods > {}", live.len(), bounds.max_pods));
        }
        if bounds.armed.load(Ordering::SeqCst) && ready < bounds.min_ready {
            bounds.violations.lock().unwrap().push(format!("{ready} ready < {}", bounds.min_ready));
        }
    }))
}

fn start_deployments(sim: &Sim, informers: &Informers) -> Latch {
    let stop = Latch::new();
    let c = Controller::new(DeploymentController::new(informers), informers).owns::<ReplicaSet>();
    let s = stop.clone();
    sim.start("deployment-controller", async move { c.run(s).await });
    stop
}

fn pods_with_image(sim: &Sim, app: &str, image: &str) -> (usize, usize) {
    let pods = crate::replica_set::live_pods(sim, &sim.store, app);
    (pods.len(), pods.iter().filter(|p| p.spec.containers[0].image == image && p.is_ready()).count())
}

#[test]
fn rolling_update_stays_within_max_surge_and_max_unavailable_and_rolls_back() {
    let sim = Sim::new();
    let informers = sim.informers();
    let _rs = start_replica_sets(&sim, &informers);
    let _d = start_deployments(&sim, &informers);
    let _kubelet = fake_kubelet(&sim, &informers);
    let watcher = sim.informers();
    // 10 replicas, default 25%: surge ceil(2.5) = 3, unavailable floor(2.5) = 2.
    let bounds = Arc::new(Bounds {
        max_pods: 13,
        min_ready: 8,
        armed: AtomicBool::new(false),
        violations: Mutex::new(Vec::new()),
        max_seen: Mutex::new(0),
    });
    let _obs = observe(&watcher, "web", bounds.clone());
    watcher.start();
    let api: Api<Deployment> = Api::namespaced(sim.store.clone(), "default");
    sim.block_on(api.create(&deployment("web", 10, "v1"))).expect("create");
    sim.run_for(Duration::from_secs(5));
    assert_eq!(pods_with_image(&sim, "web", "v1"), (10, 10));
    bounds.armed.store(true, Ordering::SeqCst);

    let mut d = sim.block_on(api.get("web")).expect("get");
    d.spec.template.spec.containers[0].image = "v2".into();
    sim.block_on(api.update(&d)).expect("roll");
    sim.run_for(Duration::from_secs(10));
    assert_eq!(pods_with_image(&sim, "web", "v2"), (10, 10));
    assert!(*bounds.max_seen.lock().unwrap() > 10, "the rollout used its surge");
    let d = sim.block_on(api.get("web")).expect("get");
    let st = d.status.clone().expect("status");
    assert_eq!((st.updated_replicas, st.available_replicas), (Some(10), Some(10)));
    let progressing = st.conditions.iter().find(|c| c.type_ == "Progressing").expect("Progressing");
    assert_eq!(progressing.reason.as_deref(), Some("NewReplicaSetAvailable"));
    assert!(st.conditions.iter().any(|c| c.type_ == "Available" && c.is_true()));

    let mut d = d;
    d.metadata.annotations.insert(ROLLBACK_ANNOTATION.into(), "1".into());
    sim.block_on(api.update(&d)).expect("rollback");
    sim.run_for(Duration::from_secs(10));
    assert_eq!(pods_with_image(&sim, "web", "v1"), (10, 10));
    let d = sim.block_on(api.get("web")).expect("get");
    assert!(!d.metadata.annotations.contains_key(ROLLBACK_ANNOTATION));
    let rss = sim.block_on(Api::<ReplicaSet>::namespaced(sim.store.clone(), "default").list(&Default::default()));
    let revisions: Vec<(String, String)> = rss
        .expect("list")
        .items
        .iter()
        .map(|rs| {
            (
                rs.metadata.labels[POD_TEMPLATE_HASH_LABEL].clone(),
                rs.metadata.annotations["deployment.kubernetes.io/revision"].clone(),
            )
        })
        .collect();
    assert_eq!(revisions.len(), 2, "{revisions:?}");
    assert!(revisions.iter().any(|(_, r)| r == "3"), "the rolled-back template is revision 3: {revisions:?}");
    assert_eq!(*bounds.violations.lock().unwrap(), Vec::<String>::new());
}

#[test]
fn deployment_scales_up_and_down() {
    let sim = Sim::new();
    let informers = sim.informers();
    let _rs = start_replica_sets(&sim, &informers);
    let _d = start_deployments(&sim, &informers);
    let _kubelet = fake_kubelet(&sim, &informers);
    let api: Api<Deployment> = Api::namespaced(sim.store.clone(), "default");
    sim.block_on(api.create(&deployment("scale", 2, "v1"))).expect("create");
    for want in [2usize, 7, 3] {
        let mut d = sim.block_on(api.get("scale")).expect("get");
        d.spec.replicas = Some(want as i32);
        sim.block_on(api.update(&d)).expect("scale");
        sim.run_for(Duration::from_secs(5));
        assert_eq!(pods_with_image(&sim, "scale", "v1"), (want, want));
    }
}

#[test]
fn recreate_removes_every_old_pod_before_starting_new_ones() {
    let sim = Sim::new();
    let informers = sim.informers();
    let _rs = start_replica_sets(&sim, &informers);
    let _d = start_deployments(&sim, &informers);
    let _kubelet = fake_kubelet(&sim, &informers);
    let watcher = sim.informers();
    let mixed = Arc::new(AtomicBool::new(false));
    let store = watcher.store::<Pod>();
    let m = mixed.clone();
    let _obs = watcher.reflector::<Pod>().subscribe(Arc::new(move |_c: &Change<Pod>| {
        let images: std::collections::BTreeSet<String> = store
            .list()
            .iter()
            .filter(|p| !p.metadata.is_deleting())
            .map(|p| p.spec.containers[0].image.clone())
            .collect();
        if images.len() > 1 {
            m.store(true, Ordering::SeqCst);
        }
    }));
    watcher.start();
    let api: Api<Deployment> = Api::namespaced(sim.store.clone(), "default");
    let mut d = deployment("re", 3, "v1");
    d.spec.strategy.type_ = Some("Recreate".into());
    sim.block_on(api.create(&d)).expect("create");
    sim.run_for(Duration::from_secs(5));
    let mut d = sim.block_on(api.get("re")).expect("get");
    d.spec.template.spec.containers[0].image = "v2".into();
    sim.block_on(api.update(&d)).expect("roll");
    sim.run_for(Duration::from_secs(10));
    assert_eq!(pods_with_image(&sim, "re", "v2"), (3, 3));
    assert!(!mixed.load(Ordering::SeqCst), "old and new pods never ran together");
}
