//! The node-agent benchmark: 1,000 agents with the FakeRuntime in one process, 30,000 pods
//! bound to them on the in-memory store, until every pod reports Running.
//!
//! `cargo run --release --example bench_nodes` (scale with `BENCH_SCALE=0.1`). Prints progress
//! and, last, one JSON line with the time and the peak resident memory.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::future::join_all;
use orch_core::kinds::{Container, Pod};
use orch_core::runtime::{SystemClock, TokioSpawn};
use orch_core::store::{ListParams, WatchEvent, WatchParams};
use orch_core::{Api, DynamicObject, ObjectMeta, ObjectStore, Resource};
use orch_node::agent::{AgentConfig, NodeAgent};
use orch_node::runtime::FakeRuntime;
use orch_store::{Registry, RegistryConfig};

fn pod(i: usize, node: usize) -> Pod {
    let mut p = Pod { metadata: ObjectMeta::named(format!("pod-{i}")).in_namespace("default"), ..Default::default() };
    p.spec.node_name = Some(format!("node-{node}"));
    p.spec.containers.push(Container { name: "c".into(), image: "fake".into(), ..Default::default() });
    p
}

/// Peak resident set size of this process in MiB (`VmHWM`).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
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

    // Count pods as they turn Running and Ready, from one raw watch over all pods (no typed
    // decoding; relisting should the store close the watch for falling behind).
    let api: Api<Pod> = Api::namespaced(store.clone(), "default");
    let (done_tx, mut done_rx) = tokio::sync::watch::channel(0usize);
    let counter_store = store.clone();
    let counter = tokio::spawn(async move {
        let rt = Pod::resource_type();
        let is_running = |p: &DynamicObject| {
            let status = p.status();
            let phase = status.and_then(|s| s.get("phase")).and_then(|v| v.as_str());
            let ready = status.and_then(|s| s.get("conditions")).and_then(|c| c.as_array()).is_some_and(|cs| {
                cs.iter().any(|c| {
                    c.get("type").and_then(|t| t.as_str()) == Some("Ready")
                        && c.get("status").and_then(|t| t.as_str()) == Some("True")
                })
            });
            phase == Some("Running") && ready
        };
        loop {
            let Ok(list) = counter_store.list(&rt, Some("default"), &ListParams::default()).await else { continue };
            let mut running: HashSet<String> =
                list.items.iter().filter(|p| is_running(p)).map(|p| p.name().to_owned()).collect();
            done_tx.send_replace(running.len());
            let params = WatchParams::default().from_version(list.resource_version);
            let Ok(mut events) = counter_store.watch(&rt, Some("default"), &params).await else { continue };
            while let Some(ev) = events.next().await {
                match ev {
                    WatchEvent::Added(p) | WatchEvent::Modified(p)
                        if is_running(&p) && running.insert(p.name().to_owned()) =>
                    {
                        done_tx.send_replace(running.len());
                    }
                    WatchEvent::Error(e) => {
                        eprintln!("  (counting watch closed: {e}; relisting)");
                        break;
                    }
                    _ => {}
                }
            }
        }
    });

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
    let mut last_report = Instant::now();
    loop {
        let n = *done_rx.borrow_and_update();
        if n >= pods_total {
            break;
        }
        if start.elapsed() > Duration::from_secs(300) {
            eprintln!("timed out with {n} of {pods_total} pods running");
            std::process::exit(1);
        }
        if last_report.elapsed() > Duration::from_secs(1) {
            eprintln!("  {n:>6} pods running after {:.1}s", start.elapsed().as_secs_f64());
            last_report = Instant::now();
        }
        let _ = tokio::time::timeout(Duration::from_millis(100), done_rx.changed()).await;
    }
    let seconds = start.elapsed().as_secs_f64();
    let rss = peak_rss_mib();
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
