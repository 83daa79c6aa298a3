//! Hostile clients against a real server on loopback with authentication on: missing and forged
//! tokens, a node writing another node's pods, path traversal, oversized and deeply nested
//! bodies, slowloris, idle connection floods, watch floods and a watcher that never reads.
//!
//! Each attack must be refused or bounded, write nothing (the store's revision does not move),
//! and leave the server responsive: a well-behaved client's requests are timed before and during
//! the attack and their p99 printed; only success within a generous bound is asserted.
//! `ORCH_HOSTILE_FULL=1` runs the full counts (10,000 idle connections and more).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use orch_api::client::{ClientConfig, HttpClient};
use orch_api::server::auth::{RolePolicy, TokenFile};
use orch_api::server::{ApiServer, RunningServer, ServerConfig};
use orch_core::kinds::{Node, Pod};
use orch_core::store::{Api, ObjectStore, WatchEvent, WatchParams};
use orch_core::{ObjectMeta, Resource};
use orch_store::Registry;
use orch_store::testkit::object as kit;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod connections;
mod requests;
mod watches;

/// A bound no well-behaved request should come near, even on a loaded two-core machine.
const GENEROUS: Duration = Duration::from_secs(20);
const HEADER_TIMEOUT: Duration = Duration::from_secs(2);
const ADMIN: &str = "Bearer admin-token";

fn full() -> bool {
    std::env::var("ORCH_HOSTILE_FULL").is_ok_and(|v| v == "1")
}

/// Attack sizes: the default keeps the file quick in debug mode; full is the real load.
struct Counts {
    slowloris: usize,
    idle: usize,
    max_connections: usize,
    watches: usize,
    rounds: usize,
    slow_changes: usize,
    change_bytes: usize,
}

fn counts() -> Counts {
    if full() {
        Counts {
            slowloris: 2_000,
            idle: 10_000,
            max_connections: 2_000,
            watches: 1_000,
            rounds: 50,
            slow_changes: 3_000,
            change_bytes: 240 << 10,
        }
    } else {
        Counts {
            slowloris: 200,
            idle: 1_000,
            max_connections: 256,
            watches: 200,
            rounds: 5,
            slow_changes: 150,
            change_bytes: 128 << 10,
        }
    }
}

fn config() -> ServerConfig {
    let tokens = TokenFile::parse(
        "admin-token,admin,0,system:masters\nnode1-token,system:node:n1,2,system:nodes\nnode2-token,system:node:n2,3,system:nodes\n",
    )
    .unwrap();
    ServerConfig::default()
        .auth(Arc::new(tokens), Arc::new(RolePolicy::default()))
        .header_read_timeout(HEADER_TIMEOUT)
        .body_read_timeout(HEADER_TIMEOUT)
        .tls_handshake_timeout(HEADER_TIMEOUT)
        .max_connections(counts().max_connections)
        .max_watches(64)
        .watch_queue_bytes(1 << 20)
        .watch_slow_timeout(Duration::from_secs(1))
}

/// A server on loopback with auth on, one pod `default/probe` for the well-behaved client.
struct Hostile {
    api: ApiServer,
    running: RunningServer,
    registry: Registry,
    addr: String,
}

impl Hostile {
    async fn start() -> Self {
        Self::over(Registry::in_memory().await.unwrap(), config()).await
    }

    async fn over(registry: Registry, config: ServerConfig) -> Self {
        let api = ApiServer::new(registry.clone(), config).unwrap();
        let running = api.clone().bind("127.0.0.1:0".parse().unwrap(), None).await.unwrap();
        let addr = running.local_addr().to_string();
        let h = Hostile { api, running, registry, addr };
        Api::<Pod>::namespaced(h.client("admin-token"), "default").create(&kit::pod("probe")).await.unwrap();
        h
    }

    fn client(&self, token: &str) -> Arc<dyn ObjectStore> {
        Arc::new(HttpClient::new(ClientConfig::new(self.running.url()).token(token).retries(2)).unwrap())
    }

    async fn revision(&self) -> i64 {
        self.registry.kv().status().await.unwrap().revision
    }

    /// `n` probe requests with nothing else going on.
    async fn baseline(&self, n: usize) -> Vec<Duration> {
        let probe = Probe::start(self.addr.clone(), self.client("admin-token"));
        while probe.done.load(Ordering::Relaxed) < n {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        probe.finish().await
    }

    fn probe(&self) -> Probe {
        Probe::start(self.addr.clone(), self.client("admin-token"))
    }
}

/// The well-behaved client: alternately a pooled typed client and a fresh connection each time,
/// reading `default/probe`, until stopped.
struct Probe {
    stop: Arc<AtomicBool>,
    done: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<Result<Vec<Duration>, String>>,
}

impl Probe {
    fn start(addr: String, client: Arc<dyn ObjectStore>) -> Probe {
        let (stop, done) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
        let (stopping, counting) = (stop.clone(), done.clone());
        let task = tokio::spawn(async move {
            let mut took = Vec::new();
            let rt = Pod::resource_type();
            for i in 0usize.. {
                if stopping.load(Ordering::Relaxed) && took.len() >= 20 {
                    break;
                }
                let started = Instant::now();
                let outcome = if i % 2 == 0 {
                    match tokio::time::timeout(GENEROUS, client.get(&rt, Some("default"), "probe")).await {
                        Ok(Ok(_)) => Ok(()),
                        Ok(Err(e)) => Err(format!("pooled client: {e}")),
                        Err(_) => Err("pooled client: no answer in time".to_string()),
                    }
                } else {
                    let path = "/api/v1/namespaces/default/pods/probe";
                    match exchange(&addr, "GET", path, &[("Authorization", ADMIN)], b"").await {
                        Ok(r) if r.code == 200 => Ok(()),
                        Ok(r) => Err(format!("fresh connection: HTTP {}", r.code)),
                        Err(e) => Err(format!("fresh connection: {e}")),
                    }
                };
                outcome.map_err(|e| format!("probe request {i} failed after {:?}: {e}", started.elapsed()))?;
                took.push(started.elapsed());
                counting.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Ok(took)
        });
        Probe { stop, done, task }
    }

    async fn finish(self) -> Vec<Duration> {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap().unwrap_or_else(|e| panic!("the well-behaved client failed: {e}"))
    }
}

fn p99_ms(took: &[Duration]) -> f64 {
    let mut sorted = took.to_vec();
    sorted.sort();
    let i = ((sorted.len() as f64) * 0.99).ceil() as usize;
    sorted.get(i.saturating_sub(1)).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

fn report(attack: &str, before: &[Duration], during: &[Duration], figures: &str) {
    println!(
        "hostile {attack}: probe p99 before {:.1} ms ({} requests), during {:.1} ms ({} requests); {figures}",
        p99_ms(before),
        before.len(),
        p99_ms(during),
        during.len()
    );
}

/// One HTTP/1.1 response, read to the end (`Connection: close`).
struct Reply {
    code: u16,
    head: String,
    body: Vec<u8>,
}

/// One request over a fresh connection, with `GENEROUS` as the whole deadline.
async fn exchange(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Reply, String> {
    let work = async {
        let mut stream = TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await.map_err(|e| format!("write: {e}"))?;
        let _ = stream.write_all(body).await;
        read_reply(&mut stream).await
    };
    tokio::time::timeout(GENEROUS, work).await.map_err(|_| "no answer in time".to_string())?
}

async fn read_reply(stream: &mut TcpStream) -> Result<Reply, String> {
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out).await;
    let end = out.windows(4).position(|w| w == b"\r\n\r\n").ok_or("no response head")? + 4;
    let head = String::from_utf8_lossy(&out[..end]).to_string();
    let code = head.split(' ').nth(1).and_then(|c| c.parse().ok()).ok_or("no status code")?;
    let mut body = out[end..].to_vec();
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body = super::support::dechunk(&body);
    }
    Ok(Reply { code, head, body })
}

fn message(reply: &Reply) -> String {
    serde_json::from_slice::<Value>(&reply.body)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(&reply.body).to_string())
}

/// A request (method, path, headers, body) and the codes that may answer it.
type Case<'a> = (&'a str, String, Vec<(&'a str, String)>, Vec<u8>, &'a [u16]);

/// A body sent with a content type, and what the 400 must say.
type BodyCase<'a> = (&'a str, String, &'a str, &'a [u8], &'a [&'a str]);

/// Runs `cases` and asserts each answer.
async fn expect_codes(addr: &str, cases: &[Case<'_>]) {
    for (method, path, headers, body, want) in cases {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reply = exchange(addr, method, path, &headers, body).await.unwrap();
        assert!(want.contains(&reply.code), "{method} {path}: HTTP {} {}", reply.code, message(&reply));
    }
}
