//! The API server benchmark: 1,000 node watchers (`spec.nodeName=`) and 10 all-pod watchers over
//! HTTP, while an open-loop load of single-object writes (pod creates and status patches) and
//! reads runs at a fixed rate; prints write latency percentiles.
//!
//! `cargo run --release --example bench_api` (loopback only). `BENCH_RATE` (writes/s, default
//! 2000), `BENCH_SECONDS` (default 10), `BENCH_WATCHERS` (node watchers, default 1000).
//! Last line: one JSON object.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use orch_api::client::{ClientConfig, HttpClient};
use orch_api::server::{ApiServer, ServerConfig};
use orch_core::kinds::{Container, Pod};
use orch_core::store::{ObjectStore, WatchEvent, WatchParams};
use orch_core::{Api, ObjectMeta, Patch, Resource};
use orch_store::Registry;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn pod(name: &str, node: &str) -> Pod {
    let mut pod = Pod { metadata: ObjectMeta::named(name).with_label("app", "bench"), ..Default::default() };
    pod.spec.node_name = Some(node.to_string());
    pod.spec.containers.push(Container { name: "c".into(), image: "busybox".into(), ..Default::default() });
    pod
}

/// What a latency sample measured.
enum Sample {
    Write,
    WarmupWrite,
    Read,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let rate: u64 = env("BENCH_RATE", 2000);
    let seconds: u64 = env("BENCH_SECONDS", 10);
    let nodes: usize = env("BENCH_WATCHERS", 1000);
    let all_watchers = 10;

    let registry = Registry::in_memory().await.expect("registry");
    let server = ApiServer::new(registry, ServerConfig::default()).expect("server");
    let running = server.bind("127.0.0.1:0".parse().expect("addr"), None).await.expect("bind");
    let client = HttpClient::new(ClientConfig::new(running.url())).expect("client");
    let store: Arc<dyn ObjectStore> = Arc::new(client);

    // Watchers: one per node, plus some on every pod.
    let events = Arc::new(AtomicU64::new(0));
    let mut watches = Vec::new();
    for i in 0..nodes + all_watchers {
        let params = if i < nodes {
            WatchParams::default().fields(format!("spec.nodeName=node-{i}"))
        } else {
            WatchParams::default()
        };
        let stream = store.watch(&Pod::resource_type(), None, &params).await.expect("watch");
        let events = events.clone();
        watches.push(tokio::spawn(async move {
            let mut stream = stream;
            while let Some(ev) = stream.next().await {
                if let WatchEvent::Error(e) = ev {
                    eprintln!("watch failed: {e}");
                    break;
                }
                events.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    println!("{} watchers open ({nodes} by node, {all_watchers} on all pods)", nodes + all_watchers);

    // Open-loop load: every millisecond tick issues its share of writes; one write in four is a
    // status patch of an existing pod, the rest creates; one read (get) per four writes.
    let pods: Api<Pod> = Api::namespaced(store.clone(), "default");
    let total = rate * seconds;
    // The first second warms connections up; its samples are counted apart.
    let warmup = rate;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Sample, Duration)>();
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut issued = 0u64;
    while issued < total {
        tick.tick().await;
        let due = (start.elapsed().as_secs_f64() * rate as f64) as u64;
        while issued < due.min(total) {
            let i = issued;
            issued += 1;
            let (pods, tx, errors) = (pods.clone(), tx.clone(), errors.clone());
            tokio::spawn(async move {
                // A status patch targets a pod created a second earlier (index not ≡ 3 mod 4).
                let earlier = i.checked_sub(rate).map(|j| j - j % 4);
                let t = Instant::now();
                let result = if let (3, Some(j)) = (i % 4, earlier) {
                    let target = format!("p-{j}");
                    let patch = Patch::Merge(serde_json::json!({"status": {"message": format!("tick {i}")}}));
                    pods.patch_status(&target, &patch).await.map(|_| ())
                } else {
                    let node = format!("node-{}", (i as usize * 31) % nodes.max(1));
                    pods.create(&pod(&format!("p-{i}"), &node)).await.map(|_| ())
                };
                let elapsed = t.elapsed();
                if let Err(e) = &result
                    && errors.fetch_add(1, Ordering::Relaxed) < 5
                {
                    eprintln!("write failed: {e}");
                }
                let _ = tx.send((if i >= warmup { Sample::Write } else { Sample::WarmupWrite }, elapsed));
                if i.is_multiple_of(4) && i >= warmup {
                    let t = Instant::now();
                    let _ = pods.get(&format!("p-{}", i / 2 - (i / 2) % 4)).await;
                    let _ = tx.send((Sample::Read, t.elapsed()));
                }
            });
        }
    }
    drop(tx);
    let mut writes = Vec::with_capacity(total as usize);
    let (mut reads, mut warm) = (Vec::new(), Vec::new());
    while let Some((sample, d)) = rx.recv().await {
        match sample {
            Sample::Write => writes.push(d),
            Sample::Read => reads.push(d),
            Sample::WarmupWrite => warm.push(d),
        }
    }
    warm.sort();
    let elapsed = start.elapsed().as_secs_f64() - 1.0;
    writes.sort();
    reads.sort();
    // Let watchers drain, then count what they received.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let delivered = events.load(Ordering::Relaxed);
    let writes_per_s = writes.len() as f64 / elapsed;
    let (p50, p99) = (percentile(&writes, 0.50), percentile(&writes, 0.99));
    println!(
        "writes after a 1 s warm-up: {} in {elapsed:.2} s = {writes_per_s:.0}/s (target rate {rate}/s), p50 {p50:.2} ms, \
         p99 {p99:.2} ms, max {:.2} ms; errors {}",
        writes.len(),
        writes.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        errors.load(Ordering::Relaxed)
    );
    println!("warm-up second: {} writes, p99 {:.2} ms", warm.len(), percentile(&warm, 0.99));
    let expected = total * (1 + all_watchers as u64);
    println!(
        "watch events: {delivered} delivered of {expected} expected (each write reaches its node's watcher and the {all_watchers} on all pods)"
    );
    println!(
        "reads: {} gets, p50 {:.2} ms, p99 {:.2} ms; watch events delivered: {delivered}",
        reads.len(),
        percentile(&reads, 0.50),
        percentile(&reads, 0.99)
    );
    println!(
        "target: p99 <= 10 ms at 2000 writes/s: {}",
        if p99 <= 10.0 && writes_per_s >= 1900.0 { "met" } else { "NOT met" }
    );
    for w in watches {
        w.abort();
    }
    running.shutdown().await;
    println!(
        "{{\"bench\":\"api\",\"writes_per_s\":{writes_per_s:.1},\"write_p50_ms\":{p50:.3},\"write_p99_ms\":{p99:.3},\"watchers\":{},\"watch_events\":{delivered},\"read_p99_ms\":{:.3}}}",
        nodes + all_watchers,
        percentile(&reads, 0.99)
    );
}
