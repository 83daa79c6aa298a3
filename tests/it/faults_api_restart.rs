//! The API server restarted under load: remote scheduler, controllers and node agents over
//! HTTP while a Deployment is scaled up and down and a writer churns Services; the server is
//! shut down and reopened on its durable store and address several times. In the end the
//! ReplicaSet has exactly its replicas, and pods and runtimes agree one to one.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use orch_api::client::{ClientConfig, HttpClient};
use orch_api::server::{ApiServer, RunningServer, ServerConfig};
use orch_core::kinds::{Deployment, ReplicaSet, Service};
use orch_core::store::{Api, ListParams};
use orch_core::{ObjectStore, Patch, StoreError};
use orch_store::Registry;
use orch_store::durable::DurableKv;
use orch_tests::{ControlPlane, ControlPlaneConfig, wait_for};

use crate::faults_common::{FaultNode, TempDir, app_pods, audit, deployment, live, trials};

const APP: &str = "load";
/// The replica counts the scaler cycles through.
const SCALES: [i32; 8] = [5, 2, 7, 1, 6, 3, 8, 4];
/// The count set last, once the load stops.
const FINAL: i32 = 5;
/// How long a scale stays within the bound: a replica count set this recently (or the one in
/// force before) may still be what the ReplicaSet controller works towards.
const SETTLE_WINDOW: Duration = Duration::from_secs(15);

/// The API server over the durable store in `dir`, on `addr` (port 0: any); dropping it (as a
/// failing test does) closes the store.
struct Server {
    kv: Arc<DurableKv>,
    running: Option<RunningServer>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kv.close();
    }
}

impl Server {
    async fn open(dir: &std::path::Path, addr: SocketAddr) -> Server {
        let kv = Arc::new(DurableKv::open_default(dir).unwrap());
        let clock = Arc::new(orch_core::runtime::SystemClock);
        let spawn = Arc::new(orch_core::runtime::TokioSpawn::current());
        let registry = Registry::builder(kv.clone(), clock, spawn).build().await.unwrap();
        // The old listener's port is free once shutdown returned; retry a little all the same.
        let mut last = None;
        for _ in 0..50 {
            let server = ApiServer::new(registry.clone(), ServerConfig::default()).unwrap();
            match server.bind(addr, None).await {
                Ok(running) => return Server { kv, running: Some(running) },
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("cannot bind {addr} again: {last:?}");
    }

    fn running(&self) -> &RunningServer {
        self.running.as_ref().expect("serving")
    }

    /// Stops serving (every connection and watch is cut) and closes the store.
    async fn shutdown(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
    }
}

/// The replica counts set so far, with when (the scaler writes, the sampler reads).
#[derive(Default)]
struct ScaleLog(Mutex<Vec<(Instant, i32)>>);

impl ScaleLog {
    fn record(&self, replicas: i32) {
        self.0.lock().unwrap().push((Instant::now(), replicas));
    }

    /// The most pods the ReplicaSet may have now: the largest count set within the settle
    /// window or in force when it began, plus a surge of 25% (rounded up).
    fn bound(&self) -> i32 {
        let log = self.0.lock().unwrap();
        let recent = log.iter().rposition(|(at, _)| at.elapsed() > SETTLE_WINDOW).unwrap_or(0);
        let max = log[recent..].iter().map(|(_, r)| *r).max().unwrap_or(0);
        max + (max + 3) / 4
    }
}

/// Counters of the run.
#[derive(Default)]
struct Figures {
    writes: AtomicUsize,
    write_errors: AtomicUsize,
    scale_changes: AtomicUsize,
    samples: AtomicUsize,
    pods_checked: AtomicUsize,
    max_over_bound: AtomicI32,
    duplicates: AtomicUsize,
}

/// Scales the Deployment through `SCALES` until `stop`, a change every 400 ms.
async fn scaler(store: Arc<dyn ObjectStore>, log: Arc<ScaleLog>, figures: Arc<Figures>, stop: Arc<AtomicBool>) {
    let api: Api<Deployment> = Api::namespaced(store, "default");
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) && i < 10_000 {
        let replicas = SCALES[i % SCALES.len()];
        // Recorded before it is sent: from then on the controllers may act on it.
        log.record(replicas);
        if api.patch(APP, &Patch::Merge(serde_json::json!({"spec": {"replicas": replicas}}))).await.is_ok() {
            figures.scale_changes.fetch_add(1, Ordering::Relaxed);
            i += 1;
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
}

/// Creates, updates and deletes Services `churn-0..5` until `stop`.
async fn writer(store: Arc<dyn ObjectStore>, figures: Arc<Figures>, stop: Arc<AtomicBool>) {
    let api: Api<Service> = Api::namespaced(store, "default");
    let count = |r: Result<(), StoreError>| match r {
        Ok(()) => figures.writes.fetch_add(1, Ordering::Relaxed),
        Err(_) => figures.write_errors.fetch_add(1, Ordering::Relaxed),
    };
    let mut i = 0usize;
    while !stop.load(Ordering::Relaxed) && i < 100_000 {
        let name = format!("churn-{}", i % 6);
        let svc: Service = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"},
            "spec": {"selector": {"app": "churn-nothing"}, "ports": [{"port": 80}]}}))
        .unwrap();
        match i / 6 % 3 {
            0 => count(api.create(&svc).await.map(|_| ())),
            1 => count(
                api.patch(&name, &Patch::Merge(serde_json::json!({"metadata": {"labels": {"round": i.to_string()}}})))
                    .await
                    .map(|_| ()),
            ),
            _ => count(api.delete(&name, &Default::default()).await.map(|_| ())),
        };
        i += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every 250 ms until `stop`: the app's live pods stay within the bound, and no pod runs twice.
async fn sampler(
    store: Arc<dyn ObjectStore>,
    nodes: Arc<Vec<FaultNode>>,
    log: Arc<ScaleLog>,
    figures: Arc<Figures>,
    stop: Arc<AtomicBool>,
) {
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) && n < 100_000 {
        n += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
        let Some(pods) = app_pods(&store, APP).await else { continue }; // the server is down
        let bound = log.bound();
        let over = live(&pods).len() as i32 - bound;
        figures.max_over_bound.fetch_max(over, Ordering::Relaxed);
        let a = audit(&pods, &nodes).await;
        figures.samples.fetch_add(1, Ordering::Relaxed);
        figures.pods_checked.fetch_add(a.pods_checked, Ordering::Relaxed);
        figures.duplicates.fetch_add(a.duplicates.len(), Ordering::Relaxed);
        assert!(over <= 0, "{} live pods, more than the bound {bound}", live(&pods).len());
        assert!(a.duplicates.is_empty(), "pods running twice: {:?}", a.duplicates);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_components_keep_the_replica_count_exact_across_api_server_restarts_under_load() {
    let restarts = trials(3);
    let started = Instant::now();
    let dir = TempDir::new("api-restarts-under-load");
    let mut server = Server::open(&dir.0, "127.0.0.1:0".parse().unwrap()).await;
    let addr = server.running().local_addr();
    let config = ClientConfig::new(server.running().url()).watch_resume_timeout(Duration::from_secs(60));
    let remote: Arc<dyn ObjectStore> = Arc::new(HttpClient::new(config).unwrap());
    let components = ControlPlane::components(remote.clone(), ControlPlaneConfig::default()).unwrap();
    let mut nodes: Vec<FaultNode> = (0..3).map(|i| FaultNode::new("loaded", i)).collect();
    for n in &mut nodes {
        n.start_agent(&remote).await;
    }
    let nodes = Arc::new(nodes);
    Api::namespaced(remote.clone(), "default").create(&deployment(APP, 3)).await.unwrap();
    let log = Arc::new(ScaleLog::default());
    log.record(3);
    wait_for("3 pods running", Duration::from_secs(20), || {
        let remote = remote.clone();
        async move {
            app_pods(&remote, APP)
                .await
                .is_some_and(|p| p.iter().filter(|p| p.status.phase.as_deref() == Some("Running")).count() == 3)
        }
    })
    .await
    .unwrap();

    let (figures, stop) = (Arc::new(Figures::default()), Arc::new(AtomicBool::new(false)));
    let load = [
        tokio::spawn(scaler(remote.clone(), log.clone(), figures.clone(), stop.clone())),
        tokio::spawn(writer(remote.clone(), figures.clone(), stop.clone())),
        tokio::spawn(sampler(remote.clone(), nodes.clone(), log.clone(), figures.clone(), stop.clone())),
    ];
    for _ in 0..restarts {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        server.shutdown().await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        server = Server::open(&dir.0, addr).await;
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.unwrap(); // a failed sampler assertion fails here
    }

    // The last scale, then the settled cluster: exactly FINAL pods, each running once.
    let deployments: Api<Deployment> = Api::namespaced(remote.clone(), "default");
    log.record(FINAL);
    deployments.patch(APP, &Patch::Merge(serde_json::json!({"spec": {"replicas": FINAL}}))).await.unwrap();
    figures.scale_changes.fetch_add(1, Ordering::Relaxed);
    let settled = wait_for("the ReplicaSet settled at its replicas", Duration::from_secs(30), || {
        let (remote, nodes) = (remote.clone(), nodes.clone());
        async move {
            let Some(pods) = app_pods(&remote, APP).await else { return false };
            let running = pods.iter().filter(|p| p.status.phase.as_deref() == Some("Running")).count();
            pods.len() == FINAL as usize && running == pods.len() && audit(&pods, &nodes).await.clean()
        }
    })
    .await;
    let pods = app_pods(&remote, APP).await.unwrap();
    let a = audit(&pods, &nodes).await;
    assert!(settled.is_ok(), "not settled: {} pods {:?}", pods.len(), a);
    let sets =
        Api::<ReplicaSet>::namespaced(remote.clone(), "default").list(&ListParams::default()).await.unwrap().items;
    assert_eq!(sets.len(), 1, "one ReplicaSet");
    assert_eq!(sets[0].spec.replicas, Some(FINAL));
    let names: BTreeMap<String, usize> = pods.iter().fold(BTreeMap::new(), |mut m, p| {
        *m.entry(p.metadata.name_str().to_owned()).or_default() += 1;
        m
    });
    assert!(names.values().all(|n| *n == 1), "pod names unique: {names:?}");
    let containers: usize =
        futures::future::join_all(nodes.iter().map(|n| n.running_containers())).await.iter().map(Vec::len).sum();
    assert_eq!(containers, FINAL as usize, "one running container per pod, none else");
    figures.pods_checked.fetch_add(a.pods_checked, Ordering::Relaxed);

    println!(
        "{{\"test\":\"api_restarts_under_load\",\"restarts\":{restarts},\"writes\":{},\"write_errors\":{},\
         \"scale_changes\":{},\"samples\":{},\"pods_checked\":{},\"duplicates\":{},\"max_over_bound\":{},\"seconds\":{:.1}}}",
        figures.writes.load(Ordering::Relaxed),
        figures.write_errors.load(Ordering::Relaxed),
        figures.scale_changes.load(Ordering::Relaxed),
        figures.samples.load(Ordering::Relaxed),
        figures.pods_checked.load(Ordering::Relaxed),
        figures.duplicates.load(Ordering::Relaxed),
        figures.max_over_bound.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
    let nodes = Arc::try_unwrap(nodes).ok().expect("the sampler has ended");
    for mut n in nodes {
        if let Some(agent) = n.agent.take() {
            agent.stop().await;
        }
    }
    components.stop().await;
    server.shutdown().await;
}
