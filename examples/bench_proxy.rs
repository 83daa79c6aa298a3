//! The service proxy benchmark: a small keep-alive HTTP backend and a bulk sink on loopback,
//! measured directly, through orch's proxy and through HAProxy (`mode tcp`, `nbthread 2`,
//! `option splice-auto`), all with the same load generator (`wrk`).
//!
//! `cargo run --release --example bench_proxy` (loopback only; needs `haproxy` and `wrk`, which
//! it installs with apt-get when run as root). `BENCH_SECONDS` (wrk duration, default 5),
//! `BENCH_CONNS` (wrk connections, default 32), `BENCH_BULK_MIB` (default 1024),
//! `BENCH_ROUNDS` (interleaved rounds, medians reported, default 3), `BENCH_PROXY_WORKERS`
//! (proxy data-path threads, default: CPUs), `BENCH_PIPE_KIB` (splice pipe size, default 1024).
//! Last line: one JSON object.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use orch_core::kinds::{Endpoints, Service};
use orch_core::store::{Api, ObjectStore};
use orch_node::proxy::{ProxyConfig, ServiceProxy};
use orch_store::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const BACKEND_IP: &str = "127.64.200.1";
const PROXY_IP: &str = "127.192.200.1";
const HAPROXY_IP: &str = "127.240.200.1";
const HTTP_PORT: u16 = 8080;
const BULK_PORT: u16 = 9000;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn runtime(threads: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build().unwrap()
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg").unwrap_or_default().split(' ').take(3).collect::<Vec<_>>().join(" ")
}

/// Installs haproxy and wrk when missing (as root), else explains how and exits.
fn ensure_tools() {
    let have = |cmd: &str, arg: &str| Command::new(cmd).arg(arg).output().is_ok();
    if have("haproxy", "-v") && have("wrk", "-v") {
        return;
    }
    let root = rustix_is_root();
    if root {
        println!("installing haproxy and wrk with apt-get ...");
        let ok = Command::new("apt-get").args(["install", "-y", "haproxy", "wrk"]).status().is_ok_and(|s| s.success());
        if ok {
            return;
        }
    }
    eprintln!("bench_proxy needs haproxy and wrk: run `sudo apt-get install -y haproxy wrk` (Debian) and retry");
    std::process::exit(2);
}

fn rustix_is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A tiny keep-alive HTTP/1.1 server: answers every request with `200 ok`.
async fn http_backend(listener: TcpListener) {
    const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok";
    loop {
        let Ok((mut s, _)) = listener.accept().await else { continue };
        let _ = s.set_nodelay(true);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 16 * 1024];
            let mut have = 0;
            let mut out = Vec::with_capacity(4096);
            loop {
                let Ok(n) = s.read(&mut buf[have..]).await else { return };
                if n == 0 {
                    return;
                }
                have += n;
                // Answer every complete request in the buffer (pipelining included).
                let mut start = 0;
                while let Some(end) = buf[start..have].windows(4).position(|w| w == b"\r\n\r\n") {
                    out.extend_from_slice(RESPONSE);
                    start += end + 4;
                }
                buf.copy_within(start..have, 0);
                have -= start;
                if have == buf.len() {
                    return; // a header larger than the buffer: not this benchmark's traffic
                }
                if !out.is_empty() && s.write_all(&out).await.is_err() {
                    return;
                }
                out.clear();
            }
        });
    }
}

/// Reads everything a connection sends, then answers with the byte count (8 bytes, LE).
async fn bulk_sink(listener: TcpListener) {
    loop {
        let Ok((mut s, _)) = listener.accept().await else { continue };
        tokio::spawn(async move {
            let mut buf = vec![0u8; 1 << 20];
            let mut total = 0u64;
            while let Ok(n) = s.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                total += n as u64;
            }
            let _ = s.write_all(&total.to_le_bytes()).await;
        });
    }
}

/// Sends `mib` MiB over one connection to `addr`; MiB/s until the sink confirmed the count.
async fn bulk_send(addr: &str, mib: usize) -> f64 {
    let chunk = vec![0x5au8; 1 << 20];
    let mut s = TcpStream::connect(addr).await.unwrap();
    let start = Instant::now();
    for _ in 0..mib {
        s.write_all(&chunk).await.unwrap();
    }
    s.shutdown().await.unwrap();
    let mut count = [0u8; 8];
    s.read_exact(&mut count).await.unwrap();
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(u64::from_le_bytes(count), (mib as u64) << 20, "bulk bytes lost via {addr}");
    mib as f64 / secs
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// requests/s, p50 µs, p99 µs from `wrk --latency`.
struct WrkResult {
    rps: f64,
    p50_us: f64,
    p99_us: f64,
}

fn parse_duration_us(s: &str) -> Option<f64> {
    let (num, mult) = if let Some(v) = s.strip_suffix("us") {
        (v, 1.0)
    } else if let Some(v) = s.strip_suffix("ms") {
        (v, 1e3)
    } else if let Some(v) = s.strip_suffix('s') {
        (v, 1e6)
    } else {
        (s, 1.0)
    };
    num.parse::<f64>().ok().map(|n| n * mult)
}

fn wrk(addr: &str, secs: u64, conns: u64) -> WrkResult {
    let out = Command::new("wrk")
        .args(["-t2", &format!("-c{conns}"), &format!("-d{secs}s"), "--latency", &format!("http://{addr}/")])
        .output()
        .expect("running wrk");
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.split_whitespace().last())
            .map(str::to_owned)
    };
    let rps = field("Requests/sec:").and_then(|v| v.parse().ok()).unwrap_or(0.0);
    let p50_us = field("50%").and_then(|v| parse_duration_us(&v)).unwrap_or(f64::NAN);
    let p99_us = field("99%").and_then(|v| parse_duration_us(&v)).unwrap_or(f64::NAN);
    if text.contains("Socket errors") || text.contains("Non-2xx") {
        println!("  wrk reported errors for {addr}:\n{text}");
    }
    WrkResult { rps, p50_us, p99_us }
}

/// The HAProxy child and its config file, removed even when the benchmark panics.
struct HaProxy {
    child: Child,
    config: std::path::PathBuf,
}

impl Drop for HaProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.config);
    }
}

fn start_haproxy() -> HaProxy {
    let cfg = format!(
        "global\n  nbthread 2\n  maxconn 4096\n\
         defaults\n  mode tcp\n  option splice-auto\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n\
         frontend web\n  bind {HAPROXY_IP}:80\n  default_backend web\n\
         backend web\n  server s1 {BACKEND_IP}:{HTTP_PORT}\n\
         frontend bulk\n  bind {HAPROXY_IP}:81\n  default_backend bulk\n\
         backend bulk\n  server s1 {BACKEND_IP}:{BULK_PORT}\n"
    );
    let path = std::env::temp_dir().join(format!("bench_proxy_haproxy_{}.cfg", std::process::id()));
    std::fs::File::create(&path).and_then(|mut f| f.write_all(cfg.as_bytes())).expect("writing haproxy config");
    let child = Command::new("haproxy")
        .args(["-db", "-f"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting haproxy");
    HaProxy { child, config: path }
}

/// Waits until `addr` answers an HTTP request.
async fn wait_http(addr: &str) {
    for _ in 0..500 {
        if let Ok(mut s) = TcpStream::connect(addr).await {
            let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
            let mut b = [0u8; 12];
            if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(1), s.read_exact(&mut b)).await {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{addr} never answered");
}

async fn proxy_store() -> Arc<dyn ObjectStore> {
    let store: Arc<dyn ObjectStore> = Arc::new(Registry::in_memory().await.unwrap());
    let svc: Service = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "bench"},
        "spec": {"clusterIP": PROXY_IP, "ports": [
            {"name": "http", "port": 80, "targetPort": HTTP_PORT},
            {"name": "bulk", "port": 81, "targetPort": BULK_PORT}]}
    }))
    .unwrap();
    let ep: Endpoints = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "bench"},
        "subsets": [{"addresses": [{"ip": BACKEND_IP}],
                     "ports": [{"name": "http", "port": HTTP_PORT}, {"name": "bulk", "port": BULK_PORT}]}]
    }))
    .unwrap();
    Api::<Service>::namespaced(store.clone(), "default").create(&svc).await.unwrap();
    Api::<Endpoints>::namespaced(store.clone(), "default").create(&ep).await.unwrap();
    store
}

fn main() {
    ensure_tools();
    let secs: u64 = env("BENCH_SECONDS", 5);
    let conns: u64 = env("BENCH_CONNS", 32);
    let bulk_mib: usize = env("BENCH_BULK_MIB", 1024);
    let rounds: usize = env::<usize>("BENCH_ROUNDS", 3).max(1);
    println!("load average at start: {}", load());

    // The backends, on their own runtime.
    let backend_rt = runtime(2);
    backend_rt.block_on(async {
        let http = TcpListener::bind((BACKEND_IP, HTTP_PORT)).await.expect("binding the HTTP backend");
        let bulk = TcpListener::bind((BACKEND_IP, BULK_PORT)).await.expect("binding the bulk sink");
        tokio::spawn(http_backend(http));
        tokio::spawn(bulk_sink(bulk));
    });
    // orch's proxy, on its own 2-thread runtime (HAProxy gets 2 threads too).
    let proxy_rt = runtime(2);
    let _proxy = proxy_rt.block_on(async {
        let store = proxy_store().await;
        let defaults = ProxyConfig::default();
        let workers = env("BENCH_PROXY_WORKERS", defaults.workers);
        let pipe_kib = env("BENCH_PIPE_KIB", defaults.pipe_size / 1024);
        let config = defaults.workers(workers).pipe_size(pipe_kib * 1024);
        println!("proxy: {} worker threads, pipes of {} KiB", config.workers, config.pipe_size / 1024);
        ServiceProxy::new(config).spawn(store)
    });
    let haproxy = start_haproxy();
    let client_rt = runtime(1);
    let direct_addr = format!("{BACKEND_IP}:{HTTP_PORT}");
    let proxy_addr = format!("{PROXY_IP}:80");
    let haproxy_addr = format!("{HAPROXY_IP}:80");
    client_rt.block_on(async {
        for a in [&direct_addr, &proxy_addr, &haproxy_addr] {
            wait_http(a).await;
        }
    });

    // Rounds interleave the three paths, so a burst of other load on the host hits all alike;
    // each figure is the median over the rounds.
    println!("short requests: wrk -t2 -c{conns} -d{secs}s --latency (keep-alive), {rounds} rounds");
    let paths = [("direct", &direct_addr), ("proxy", &proxy_addr), ("haproxy", &haproxy_addr)];
    let mut runs: Vec<Vec<WrkResult>> = vec![Vec::new(), Vec::new(), Vec::new()];
    for round in 0..rounds {
        for (i, (name, addr)) in paths.iter().enumerate() {
            let r = wrk(addr, secs, conns);
            println!("  #{round} {name:8} {:>10.0} req/s   p50 {:>8.1} µs   p99 {:>8.1} µs", r.rps, r.p50_us, r.p99_us);
            runs[i].push(r);
        }
    }
    let med = |v: &[WrkResult], f: fn(&WrkResult) -> f64| median(v.iter().map(f).collect());
    let summary: Vec<WrkResult> = runs
        .iter()
        .map(|v| WrkResult { rps: med(v, |r| r.rps), p50_us: med(v, |r| r.p50_us), p99_us: med(v, |r| r.p99_us) })
        .collect();
    for ((name, _), r) in paths.iter().zip(&summary) {
        println!("  median {name:8} {:>10.0} req/s   p50 {:>8.1} µs   p99 {:>8.1} µs", r.rps, r.p50_us, r.p99_us);
    }
    let (direct, proxy, haproxy_r) = (&summary[0], &summary[1], &summary[2]);

    println!("bulk: {bulk_mib} MiB over one connection, median of {rounds} interleaved rounds");
    let bulk_addrs = [format!("{BACKEND_IP}:{BULK_PORT}"), format!("{PROXY_IP}:81"), format!("{HAPROXY_IP}:81")];
    let mut bulk_runs: Vec<Vec<f64>> = vec![Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..rounds {
        for (i, addr) in bulk_addrs.iter().enumerate() {
            let mib_s = client_rt.block_on(bulk_send(addr, bulk_mib));
            println!("  {addr:20} {mib_s:>8.0} MiB/s");
            bulk_runs[i].push(mib_s);
        }
    }
    println!("  runs (MiB/s): direct {:.0?} proxy {:.0?} haproxy {:.0?}", bulk_runs[0], bulk_runs[1], bulk_runs[2]);
    let bulk_direct = median(bulk_runs[0].clone());
    let bulk_proxy = median(bulk_runs[1].clone());
    let bulk_haproxy = median(bulk_runs[2].clone());
    println!(
        "  direct   {bulk_direct:>8.0} MiB/s\n  proxy    {bulk_proxy:>8.0} MiB/s\n  haproxy  {bulk_haproxy:>8.0} MiB/s"
    );

    drop(haproxy);

    let rps_vs_haproxy = proxy.rps / haproxy_r.rps;
    let proxy_added = proxy.p50_us - direct.p50_us;
    let haproxy_added = haproxy_r.p50_us - direct.p50_us;
    println!(
        "ratios: proxy/haproxy rps {rps_vs_haproxy:.2} (target ≥ 1), added p50 proxy {proxy_added:.1} µs vs haproxy {haproxy_added:.1} µs"
    );
    println!(
        "        bulk proxy/direct {:.2} (target ≥ 0.70), bulk proxy/haproxy {:.2} (target ≥ 1)",
        bulk_proxy / bulk_direct,
        bulk_proxy / bulk_haproxy
    );
    println!("load average at end: {}", load());
    let json = serde_json::json!({
        "bench": "proxy",
        "direct_rps": direct.rps.round(),
        "proxy_rps": proxy.rps.round(),
        "haproxy_rps": haproxy_r.rps.round(),
        "rps_vs_haproxy": (rps_vs_haproxy * 1000.0).round() / 1000.0,
        "direct_p50_us": direct.p50_us,
        "proxy_p50_us": proxy.p50_us,
        "haproxy_p50_us": haproxy_r.p50_us,
        "proxy_p99_us": proxy.p99_us,
        "haproxy_p99_us": haproxy_r.p99_us,
        "proxy_p50_added_us": (proxy_added * 10.0).round() / 10.0,
        "haproxy_p50_added_us": (haproxy_added * 10.0).round() / 10.0,
        "bulk_direct_mib_s": bulk_direct.round(),
        "bulk_proxy_mib_s": bulk_proxy.round(),
        "bulk_haproxy_mib_s": bulk_haproxy.round(),
        "bulk_vs_direct": ((bulk_proxy / bulk_direct) * 1000.0).round() / 1000.0,
        "bulk_vs_haproxy": ((bulk_proxy / bulk_haproxy) * 1000.0).round() / 1000.0,
    });
    println!("{json}");
}
