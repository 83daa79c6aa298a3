//! The node-agent benchmark: 1,000 agents with the FakeRuntime in one process, 30,000 pods
//! bound to them on the in-memory store, until every pod reports Running.
//!
//! `cargo run --release --example bench_nodes` (scale with `BENCH_SCALE=0.1`). Prints progress
//! and, last, one JSON line with the time and the peak resident memory.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use orch_core::kinds::{Container, Pod};
use orch_core::runtime::{SystemClock, TokioSpawn};
use orch_core::{Api, ObjectMeta, ObjectStore};
use orch_node::agent::{AgentConfig, NodeAgent};
use orch_node::runtime::FakeRuntime;
use orch_store::{Registry, RegistryConfig};

fn pod(i: usize, node: usize) -> Pod {
    let mut p = Pod { metadata: ObjectMeta::named(format!("pod-{i}")).in_namespace("default"), ..Default::default() };
    p.spec.node_name = Some(format!("node-{node}"));
    p.spec.containers.push(Container { name: "c".into(), image: "fake".into(), ..Default::default() });
    p
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let scale: f64 = std::env::var("BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let nodes = ((1000.0 * scale) as usize).max(1);
    let pods_total = nodes * 30;
    // A watch buffer large enough that the counting watch keeps up with the burst.
    let kv: Arc<dyn orch_store::KvStore> = Arc::new(orch_store::MemKv::new());
    let registry = Registry::builder(kv, Arc::new(SystemClock), Arc::new(TokioSpawn::current()))
        .config(RegistryConfig::default().watch_buffer(4 * pods_total))
        .build()
        .await
        .expect("registry");
    let store: Arc<dyn ObjectStore> = Arc::new(registry);

    let t_agents = Instant::now();
    let mut agents = Vec::with_capacity(nodes);
    for chunk in (0..nodes).collect::<Vec<_>>().chunks(100) {
        let started = join_all(chunk.iter().map(|n| {
            let ip = std::net::Ipv4Addr::new(127, 1, (n / 250) as u8, (n % 250 + 1) as u8);
            let config = AgentConfig::new(format!("node-{n}")).node_ip(ip).log_port(None);
            NodeAgent::new(config, store.clone(), Arc::new(FakeRuntime::new(Default::default()))).start()
        }))
        .await;
        for a in started {
            agents.push(a.expect("agent start"));
        }
    }
    eprintln!("{nodes} agents registered in {:.2}s", t_agents.elapsed().as_secs_f64());

    // Count pods as they turn Running and Ready.
    let api: Api<Pod> = Api::namespaced(store.clone(), "default");
    let (mut done_rx, counter) = orch_examples::count_running_pods(store.clone(), "default");

    let start = Instant::now();
    for chunk in (0..pods_total).collect::<Vec<_>>().chunks(500) {
        let results = join_all(chunk.iter().map(|i| {
            let api = api.clone();
            let p = pod(*i, i % nodes);
            async move { api.create(&p).await }
        }))
        .await;
        if let Some(Err(e)) = results.into_iter().find(Result::is_err) {
            eprintln!("creating pods failed: {e}");
            std::process::exit(1);
        }
    }
    let created = start.elapsed().as_secs_f64();
    eprintln!("{pods_total} pods created in {created:.2}s");
    if let Err(n) = orch_examples::wait_for_count(&mut done_rx, pods_total, start, Duration::from_secs(300)).await {
        eprintln!("timed out with {n} of {pods_total} pods running");
        std::process::exit(1);
    }
    let seconds = start.elapsed().as_secs_f64();
    let rss = orch_examples::peak_rss_mib();
    eprintln!("all {pods_total} pods Running after {seconds:.2}s; peak RSS {rss:.0} MiB");
    counter.abort();
    for a in agents {
        a.stop().await;
    }
    println!(
        "{}",
        serde_json::json!({
            "bench": "nodes",
            "nodes": nodes,
            "pods": pods_total,
            "seconds": (seconds * 1000.0).round() / 1000.0,
            "peak_rss_mib": rss.round(),
        })
    );
}
