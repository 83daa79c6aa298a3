//! The controller benchmark: 10,000 ReplicaSets × 10 replicas converge on the in-memory store.
//!
//! `cargo run --release --example bench_controllers` (no scheduler: pods are created, not bound).
//! Scale with `BENCH_SCALE=0.1`. Prints progress and, last, one JSON line.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use orch_controllers::controllers::replica_set::ReplicaSetController;
use orch_controllers::{Controller, ControllerConfig, Informers, Latch, Runtime};
use orch_core::kinds::{Container, Pod, ReplicaSet};
use orch_core::{Api, LabelSelector, ObjectMeta, ObjectStore};
use orch_store::Registry;

fn replica_set(i: usize, replicas: i32) -> ReplicaSet {
    let name = format!("rs-{i}");
    let mut rs = ReplicaSet { metadata: ObjectMeta::named(&name).in_namespace("default"), ..Default::default() };
    rs.spec.replicas = Some(replicas);
    rs.spec.selector = LabelSelector { match_labels: [("app".to_string(), name.clone())].into(), ..Default::default() };
    rs.spec.template.metadata = ObjectMeta::default().with_label("app", &name);
    rs.spec.template.spec.containers.push(Container {
        name: "c".into(),
        image: "busybox".into(),
        ..Default::default()
    });
    rs
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let scale: f64 = std::env::var("BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let replica_sets = ((10_000.0 * scale) as usize).max(1);
    let replicas = 10;
    let want_pods = replica_sets * replicas as usize;

    let store: Arc<dyn ObjectStore> = Arc::new(Registry::in_memory().await.expect("registry"));
    let informers = Informers::new(store.clone(), Runtime::tokio());
    let controller = Arc::new(
        Controller::new(ReplicaSetController::new(&informers), &informers)
            .owns::<Pod>()
            .config(ControllerConfig::default().workers(32)),
    );
    let pods = informers.store::<Pod>();
    let stop = Latch::new();
    let (c, s) = (controller.clone(), stop.clone());
    let run = tokio::spawn(async move { c.run(s).await });
    pods.wait_synced().await;

    let start = Instant::now();
    let api: Api<ReplicaSet> = Api::namespaced(store.clone(), "default");
    for chunk in (0..replica_sets).collect::<Vec<_>>().chunks(500) {
        let results = join_all(chunk.iter().map(|i| {
            let api = api.clone();
            let rs = replica_set(*i, replicas);
            async move { api.create(&rs).await }
        }))
        .await;
        if let Some(Err(e)) = results.into_iter().find(Result::is_err) {
            eprintln!("creating ReplicaSets failed: {e}");
            std::process::exit(1);
        }
    }
    let created_rs = start.elapsed();
    let mut last_report = Instant::now();
    while pods.len() < want_pods {
        if start.elapsed() > Duration::from_secs(600) {
            eprintln!("timed out with {} of {want_pods} pods", pods.len());
            std::process::exit(1);
        }
        if last_report.elapsed() > Duration::from_secs(2) {
            eprintln!("  {:>7} pods after {:.1}s", pods.len(), start.elapsed().as_secs_f64());
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let seconds = start.elapsed().as_secs_f64();
    let m = controller.metrics().snapshot(0);
    stop.set();
    let _ = run.await;
    informers.stop();
    let reconciles_per_s = m.reconciles as f64 / seconds;
    println!("ReplicaSets created in {:.2}s", created_rs.as_secs_f64());
    println!(
        "{replica_sets} ReplicaSets x {replicas} replicas: {want_pods} pods in {seconds:.2}s; {} reconciles ({reconciles_per_s:.0}/s), {} errors, {:.0} pods/s",
        m.reconciles,
        m.errors,
        want_pods as f64 / seconds
    );
    println!(
        "{}",
        serde_json::json!({
            "bench": "controllers",
            "replicasets": replica_sets,
            "pods": want_pods,
            "seconds": (seconds * 1000.0).round() / 1000.0,
            "reconciles_per_s": reconciles_per_s.round(),
        })
    );
}
