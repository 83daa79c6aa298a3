//! The store benchmark: MemKv, DurableKv and a real etcd-server measured in one run.
//!
//! `cargo run --release --features etcd --example bench_store` (after `scripts/setup`, which
//! installs etcd-server and protoc). Prints a
//! table and, last, one JSON line with the ratios to etcd. Sizes can be scaled down with
//! `BENCH_SCALE=0.1` for a quick look.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use orch_core::kinds::{Container, Pod};
use orch_core::runtime::{SystemClock, TokioSpawn};
use orch_core::store::Api;
use orch_core::{ObjectMeta, ObjectStore};
use orch_store::Registry;
use orch_store::durable::{DurableKv, DurableKvConfig, OsFs};
use orch_store::etcd::{EtcdKv, EtcdKvConfig};
use orch_store::kv::{KvStore, PutRequest, RangeRequest, WatchMessage, WatchRequest};
use orch_store::mem::{MemKv, MemKvConfig};
use orch_store::testkit::etcd_server::EtcdServer;

const VALUE_BYTES: usize = 256;

fn scale(n: usize) -> usize {
    let f: f64 = std::env::var("BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    ((n as f64 * f) as usize).max(10)
}

/// Throughput and latency of one measurement.
#[derive(Clone, Copy, Default)]
struct Figures {
    per_s: f64,
    p50_us: f64,
    p99_us: f64,
}

fn figures(ops: usize, elapsed: Duration, mut lat: Vec<Duration>) -> Figures {
    lat.sort_unstable();
    let pick = |q: f64| {
        lat.get(((lat.len() as f64 * q) as usize).min(lat.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1e6)
    };
    Figures { per_s: ops as f64 / elapsed.as_secs_f64(), p50_us: pick(0.5), p99_us: pick(0.99) }
}

fn key(prefix: &str, i: usize) -> String {
    format!("{prefix}{i:08}")
}

/// `ops` puts by `clients` concurrent clients, keys of ~8 bytes and 256-byte values.
async fn puts(kv: Arc<dyn KvStore>, prefix: &str, clients: usize, ops: usize) -> Figures {
    let value = bytes::Bytes::from(vec![b'x'; VALUE_BYTES]);
    let per = ops / clients;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (kv, value, prefix) = (kv.clone(), value.clone(), format!("{prefix}{c:02}/"));
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per);
            for i in 0..per {
                let t = Instant::now();
                kv.put(PutRequest::new(key(&prefix, i), value.clone())).await.expect("put");
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut lat = Vec::with_capacity(ops);
    for t in tasks {
        lat.extend(t.await.expect("client task"));
    }
    figures(per * clients, start.elapsed(), lat)
}

/// Sequential puts on the calling task (no task hand-off), for the in-process single-client figure.
async fn puts_inline(kv: &dyn KvStore, prefix: &str, ops: usize) -> Figures {
    let value = bytes::Bytes::from(vec![b'x'; VALUE_BYTES]);
    let mut lat = Vec::with_capacity(ops);
    let start = Instant::now();
    for i in 0..ops {
        let t = Instant::now();
        kv.put(PutRequest::new(key(prefix, i), value.clone())).await.expect("put");
        lat.push(t.elapsed());
    }
    figures(ops, start.elapsed(), lat)
}

/// `ops` single-key reads of keys written by a previous `puts` run (client 0's keys), by `clients` clients.
async fn ranges(kv: Arc<dyn KvStore>, prefix: &str, written: usize, clients: usize, ops: usize) -> Figures {
    let per = ops / clients;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (kv, prefix) = (kv.clone(), format!("{prefix}00/"));
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per);
            for i in 0..per {
                let t = Instant::now();
                let r = kv.range(RangeRequest::key(key(&prefix, (i * 7 + c) % written.max(1)))).await.expect("range");
                assert!(r.kvs.len() <= 1);
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.expect("reader task"));
    }
    figures(per * clients, start.elapsed(), lat)
}

/// `watchers` watches of one prefix; `events` puts carrying their send time; every event consumed
/// through the public stream. Returns events delivered per second and the write-to-notify p99.
async fn fanout(kv: Arc<dyn KvStore>, prefix: &str, watchers: usize, events: usize) -> Figures {
    let origin = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..watchers {
        let mut stream = kv.watch(WatchRequest::prefix(prefix.to_owned())).await.expect("watch");
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(events);
            while lat.len() < events {
                match tokio::time::timeout(Duration::from_secs(60), stream.next()).await {
                    Ok(Some(Ok(WatchMessage::Events(evs)))) => {
                        let now = origin.elapsed().as_nanos() as u64;
                        for ev in evs {
                            let sent = std::str::from_utf8(&ev.kv.value[..20])
                                .ok()
                                .and_then(|s| s.trim().parse::<u64>().ok())
                                .unwrap_or(now);
                            lat.push(Duration::from_nanos(now.saturating_sub(sent)));
                        }
                    }
                    Ok(Some(Ok(WatchMessage::Progress { .. }))) => {}
                    other => panic!("watch ended early: {:?}", other.map(|o| o.map(|r| r.map(|_| ())))),
                }
            }
            (lat, origin.elapsed())
        }));
    }
    let start = origin.elapsed();
    for i in 0..events {
        let mut value = format!("{:>20}", origin.elapsed().as_nanos()).into_bytes();
        value.resize(VALUE_BYTES, b'x');
        kv.put(PutRequest::new(key(prefix, i % 1000), value)).await.expect("put");
    }
    let mut lat = Vec::new();
    let mut end = start;
    for t in tasks {
        let (l, done) = t.await.expect("watcher task");
        lat.extend(l);
        end = end.max(done);
    }
    figures(watchers * events, end - start, lat)
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()).unwrap_or(0) * 4096
}

/// Resident memory growth per key over the raw key+value bytes, for `keys` keys in a MemKv.
async fn memory_per_key(keys: usize) -> (f64, f64) {
    let kv = MemKv::with_config(MemKvConfig::default());
    let value = bytes::Bytes::from(vec![b'v'; VALUE_BYTES]);
    let before = rss_bytes();
    let mut raw = 0usize;
    for i in 0..keys {
        let k = format!("{:08x}", (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32);
        raw += k.len() + VALUE_BYTES;
        kv.put(PutRequest::new(k, value.clone())).await.expect("put");
    }
    let grown = rss_bytes().saturating_sub(before) as f64;
    drop(kv);
    (grown / keys as f64, grown / raw as f64)
}

/// Pod creates per second through the Registry over MemKv, on one thread.
fn registry_creates(pods: usize) -> f64 {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let kv: Arc<dyn KvStore> = Arc::new(MemKv::with_config(MemKvConfig::default()));
        let registry = Registry::builder(kv, Arc::new(SystemClock), Arc::new(TokioSpawn::current()))
            .build()
            .await
            .expect("registry");
        let api: Api<Pod> = Api::namespaced(Arc::new(registry) as Arc<dyn ObjectStore>, "default");
        let mut template = Pod { metadata: ObjectMeta::named("x").with_label("app", "web"), ..Default::default() };
        template.spec.containers.push(Container {
            name: "web".into(),
            image: "registry.local/web:1.0".into(),
            command: vec!["/bin/httpd".into(), "-f".into()],
            ports: vec![orch_core::kinds::ContainerPort {
                name: Some("http".into()),
                container_port: 8080,
                ..Default::default()
            }],
            resources: orch_core::kinds::ResourceRequirements {
                requests: [
                    ("cpu".to_owned(), orch_core::Quantity::from("100m")),
                    ("memory".to_owned(), orch_core::Quantity::from("64Mi")),
                ]
                .into(),
                ..Default::default()
            },
            ..Default::default()
        });
        let start = Instant::now();
        for i in 0..pods {
            let mut p = template.clone();
            p.metadata.name = Some(format!("web-{i}"));
            api.create(&p).await.expect("create");
        }
        pods as f64 / start.elapsed().as_secs_f64()
    })
}

fn row(name: &str, f: Figures) {
    println!("{name:<44} {:>12.0} {:>10.1} {:>10.1}", f.per_s, f.p50_us, f.p99_us);
}

fn main() {
    if std::env::var("BENCH_ONLY").as_deref() == Ok("registry") {
        println!("registry pod creates/s: {:.0}", registry_creates(scale(100_000)));
        return;
    }
    if std::env::var("BENCH_ONLY").as_deref() == Ok("fanout") {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        let f = rt.block_on(async { fanout(Arc::new(MemKv::new()), "/wm/", 1000, scale(1_000)).await });
        println!("MemKv watch fan-out events/s: {:.0} (p99 {:.0} µs)", f.per_s, f.p99_us);
        return;
    }
    let (mem_bytes_per_key, mem_over_raw) = {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(memory_per_key(scale(1_000_000)))
    };
    let registry_per_s = registry_creates(scale(100_000));

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let etcd = EtcdServer::start().expect("start etcd (run scripts/setup first)");
    rt.block_on(async move {
        let mem: Arc<dyn KvStore> = Arc::new(MemKv::new());
        let dir = std::env::temp_dir().join(format!("orch-bench-durable-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let durable = DurableKv::open(
            &dir,
            DurableKvConfig::default(),
            Arc::new(SystemClock),
            Arc::new(TokioSpawn::current()),
            Arc::new(OsFs),
        )
        .expect("open DurableKv");
        let durable: Arc<dyn KvStore> = Arc::new(durable);
        let etcd_kv: Arc<dyn KvStore> =
            Arc::new(EtcdKv::connect(&etcd.endpoints(), EtcdKvConfig::default()).await.expect("connect etcd"));

        println!("{:<44} {:>12} {:>10} {:>10}", "measurement", "ops/s", "p50 µs", "p99 µs");
        let mem_1c = puts_inline(mem.as_ref(), "/m1/", scale(1_000_000)).await;
        row("MemKv put, 1 client (in-process)", mem_1c);
        let mem_64c = puts(mem.clone(), "/m64/", 64, scale(1_000_000)).await;
        row("MemKv put, 64 clients", mem_64c);
        let dur_1c = puts(durable.clone(), "/d1/", 1, scale(3_000)).await;
        row("DurableKv put, 1 client (fdatasync)", dur_1c);
        let dur_64c = puts(durable.clone(), "/d64/", 64, scale(64_000)).await;
        row("DurableKv put, 64 clients (fdatasync)", dur_64c);
        let etcd_1c = puts(etcd_kv.clone(), "/e1/", 1, scale(2_000)).await;
        row("etcd put, 1 client", etcd_1c);
        let etcd_64c = puts(etcd_kv.clone(), "/e64/", 64, scale(32_000)).await;
        row("etcd put, 64 clients", etcd_64c);
        let mem_r = ranges(mem.clone(), "/m64/", scale(1_000_000) / 64, 1, scale(1_000_000)).await;
        row("MemKv range (1 key), 1 client", mem_r);
        let dur_r = ranges(durable.clone(), "/d64/", scale(64_000) / 64, 1, scale(1_000_000)).await;
        row("DurableKv range (1 key), 1 client", dur_r);
        let etcd_r = ranges(etcd_kv.clone(), "/e64/", scale(32_000) / 64, 64, scale(50_000)).await;
        row("etcd range (1 key), 64 clients", etcd_r);
        let mem_w = fanout(mem.clone(), "/wm/", 1000, scale(1_000)).await;
        row("MemKv watch fan-out, 1000 watchers (events)", mem_w);
        let etcd_w = fanout(etcd_kv.clone(), "/we/", 1000, scale(200)).await;
        row("etcd watch fan-out, 1000 watchers (events)", etcd_w);
        println!("{:<44} {:>12.1}", "MemKv resident bytes per key (1M keys)", mem_bytes_per_key);
        println!("{:<44} {:>12.2}", "MemKv memory over raw key+value bytes", mem_over_raw);
        println!("{:<44} {:>12.0}", "Registry Pod creates/s over MemKv (1 thread)", registry_per_s);
        let _ = std::fs::remove_dir_all(&dir);
        println!(
            "{}",
            serde_json::json!({
                "bench": "store",
                "durable_put_per_s_64c": dur_64c.per_s.round(),
                "etcd_put_per_s_64c": etcd_64c.per_s.round(),
                "durable_vs_etcd_put_64c": (dur_64c.per_s / etcd_64c.per_s * 100.0).round() / 100.0,
                "durable_put_per_s_1c": dur_1c.per_s.round(),
                "etcd_put_per_s_1c": etcd_1c.per_s.round(),
                "mem_put_per_s_1c": mem_1c.per_s.round(),
                "mem_range_per_s_1c": mem_r.per_s.round(),
                "etcd_range_per_s_64c": etcd_r.per_s.round(),
                "mem_watch_events_per_s": mem_w.per_s.round(),
                "etcd_watch_events_per_s": etcd_w.per_s.round(),
                "watch_fanout_vs_etcd": (mem_w.per_s / etcd_w.per_s * 10.0).round() / 10.0,
                "mem_watch_notify_p99_us": mem_w.p99_us.round(),
                "etcd_watch_notify_p99_us": etcd_w.p99_us.round(),
                "mem_bytes_per_key_over_raw": (mem_over_raw * 100.0).round() / 100.0,
                "registry_pod_creates_per_s": registry_per_s.round(),
            })
        );
    });
}
