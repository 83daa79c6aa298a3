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
        body = dechunk(&body);
    }
    Ok(Reply { code, head, body })
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(pos) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(std::str::from_utf8(&data[..pos]).unwrap_or("0").trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = pos + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_without_or_with_forged_tokens_are_401_and_write_nothing() {
    let h = Hostile::start().await;
    let before = h.baseline(100).await;
    let revision = h.revision().await;
    let probe = h.probe();
    let junk = format!("Bearer {}", "A".repeat(64 << 10));
    let credentials: Vec<Option<String>> = vec![
        None,
        Some("Bearer forged-token".into()),
        Some("Bearer admin-tokenX".into()),
        Some("Bearer admin".into()),
        Some("Bearer ".into()),
        Some("admin-token".into()),
        Some("Basic YWRtaW46YWRtaW4tdG9rZW4=".into()),
        Some("Bearer node1-token,admin-token".into()),
        Some(junk),
    ];
    let pod = serde_json::to_vec(&kit::pod("intruder")).unwrap();
    let requests: [(&str, &str, &[u8]); 5] = [
        ("POST", "/api/v1/namespaces/default/pods", &pod),
        ("DELETE", "/api/v1/namespaces/default", b""),
        ("PATCH", "/api/v1/namespaces/default/pods/probe", br#"{"metadata":{"labels":{"owned":"yes"}}}"#),
        ("GET", "/api/v1/namespaces/kube-system/pods", b""),
        ("GET", "/api/v1/pods?watch=true", b""),
    ];
    let mut refused = 0;
    for _ in 0..counts().rounds {
        for cred in &credentials {
            for (method, path, body) in &requests {
                let mut headers = vec![("Content-Type", "application/merge-patch+json")];
                if let Some(c) = cred {
                    headers.push(("Authorization", c.as_str()));
                }
                let reply = exchange(&h.addr, method, path, &headers, body).await.unwrap();
                assert_eq!(
                    reply.code,
                    401,
                    "{method} {path} with {:?}: {}",
                    cred.as_deref().map(|c| &c[..c.len().min(30)]),
                    message(&reply)
                );
                assert!(reply.head.to_ascii_lowercase().contains("www-authenticate: bearer"), "{}", reply.head);
                refused += 1;
            }
        }
    }
    let during = probe.finish().await;
    assert_eq!(h.revision().await, revision, "nothing was written");
    report("forged tokens", &before, &during, &format!("{refused} requests refused with 401"));
    h.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_node_identity_cannot_write_another_nodes_pods_nodes_or_leases() {
    let h = Hostile::start().await;
    let admin = h.client("admin-token");
    for node in ["n1", "n2"] {
        Api::<Node>::all(admin.clone())
            .create(&Node { metadata: ObjectMeta::named(node), ..Default::default() })
            .await
            .unwrap();
    }
    let pods: Api<Pod> = Api::namespaced(admin.clone(), "default");
    for (name, node) in [("mine", Some("n1")), ("theirs", Some("n2")), ("free", None)] {
        pods.create(&kit::pod(name)).await.unwrap();
        if let Some(node) = node {
            pods.bind(name, node).await.unwrap();
        }
    }
    let theirs = serde_json::to_vec(&pods.get("theirs").await.unwrap()).unwrap();
    let mut stolen: Value = serde_json::from_slice(&theirs).unwrap();
    stolen["spec"]["nodeName"] = json!("n1");
    let stolen = serde_json::to_vec(&stolen).unwrap();
    let before = h.baseline(100).await;
    let revision = h.revision().await;
    let probe = h.probe();
    let node1 = || {
        vec![
            ("Authorization", "Bearer node1-token".to_string()),
            ("Content-Type", "application/merge-patch+json".to_string()),
        ]
    };
    let forbidden: &[u16] = &[403];
    let bad: &[u16] = &[400];
    let ns = "/api/v1/namespaces/default";
    let cases: Vec<Case> = vec![
        ("PUT", format!("{ns}/pods/theirs"), node1(), stolen.clone(), forbidden),
        ("PUT", format!("{ns}/pods/theirs/status"), node1(), theirs.clone(), forbidden),
        ("PATCH", format!("{ns}/pods/theirs"), node1(), br#"{"spec":{"nodeName":"n1"}}"#.to_vec(), forbidden),
        ("PATCH", format!("{ns}/pods/mine"), node1(), br#"{"spec":{"nodeName":"n2"}}"#.to_vec(), forbidden),
        ("DELETE", format!("{ns}/pods/theirs"), node1(), vec![], forbidden),
        ("DELETE", format!("{ns}/pods/free"), node1(), vec![], forbidden),
        ("DELETE", format!("{ns}/pods"), node1(), vec![], forbidden),
        ("POST", format!("{ns}/pods/free/binding"), node1(), br#"{"target":{"name":"n1"}}"#.to_vec(), forbidden),
        (
            "POST",
            format!("{ns}/pods/theirs/eviction"),
            node1(),
            br#"{"metadata":{"name":"theirs"}}"#.to_vec(),
            forbidden,
        ),
        ("PATCH", "/api/v1/nodes/n2/status".into(), node1(), br#"{"status":{"phase":"Down"}}"#.to_vec(), forbidden),
        ("DELETE", "/api/v1/nodes/n2".into(), node1(), vec![], forbidden),
        (
            "POST",
            "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases".into(),
            node1(),
            br#"{"metadata":{"name":"n2"},"spec":{"holderIdentity":"n1"}}"#.to_vec(),
            forbidden,
        ),
        ("PATCH", format!("{ns}/pods/mine%2F..%2Ftheirs/status"), node1(), br#"{"status":{}}"#.to_vec(), bad),
        ("PATCH", "/api/v1/nodes/n1%2F..%2Fn2/status".into(), node1(), br#"{"status":{}}"#.to_vec(), bad),
    ];
    for _ in 0..counts().rounds {
        expect_codes(&h.addr, &cases).await;
    }
    let during = probe.finish().await;
    assert_eq!(h.revision().await, revision, "nothing was written");
    let pod = pods.get("theirs").await.unwrap();
    assert_eq!(pod.spec.node_name.as_deref(), Some("n2"));
    report("node identity", &before, &during, &format!("{} writes refused", cases.len() * counts().rounds));
    h.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_path_traversal_in_names_and_namespaces_reaches_nothing() {
    let h = Hostile::start().await;
    Api::<Pod>::namespaced(h.client("admin-token"), "kube-system").create(&kit::pod("secret")).await.unwrap();
    let before = h.baseline(100).await;
    let revision = h.revision().await;
    let probe = h.probe();
    let admin = || vec![("Authorization", ADMIN.to_string()), ("Content-Type", "application/json".to_string())];
    let bad: &[u16] = &[400];
    let refused: &[u16] = &[400, 404, 422];
    let body = |name: &str, ns: Option<&str>| {
        let mut pod = serde_json::to_value(kit::pod(name)).unwrap();
        if let Some(ns) = ns {
            pod["metadata"]["namespace"] = json!(ns);
        }
        serde_json::to_vec(&pod).unwrap()
    };
    let ns = "/api/v1/namespaces";
    let cases: Vec<Case> = vec![
        ("GET", format!("{ns}/default/pods/..%2F..%2Fkube-system%2Fpods%2Fsecret"), admin(), vec![], bad),
        ("GET", format!("{ns}/default%2F..%2Fkube-system/pods/secret"), admin(), vec![], bad),
        ("GET", format!("{ns}/%2E%2E/pods"), admin(), vec![], bad),
        ("GET", format!("{ns}/default/pods/.%2E"), admin(), vec![], bad),
        ("GET", format!("{ns}/default/pods/%252E%252E%252Fsecret"), admin(), vec![], bad),
        ("GET", format!("{ns}/default/pods/../../kube-system/pods/secret"), admin(), vec![], refused),
        ("GET", format!("{ns}/default/pods/..%5C..%5Ckube-system%5Csecret"), admin(), vec![], &[404]),
        ("GET", "/api/v1/nodes/..%2Fnamespaces%2Fkube-system".into(), admin(), vec![], bad),
        ("PUT", format!("{ns}/default/pods/..%2Fsecret"), admin(), body("../secret", None), bad),
        ("DELETE", format!("{ns}/kube-system%2Fpods%2Fsecret/pods/x"), admin(), vec![], bad),
        ("DELETE", format!("{ns}/default/pods/..%2F..%2Fkube-system%2Fpods%2Fsecret"), admin(), vec![], bad),
        ("POST", format!("{ns}/..%2Fkube-system/pods"), admin(), body("evil", None), bad),
        ("POST", format!("{ns}/default/pods"), admin(), body("../../kube-system/pods/evil", None), &[400, 422]),
        ("POST", format!("{ns}/default/pods"), admin(), body("evil", Some("../kube-system")), bad),
        ("POST", format!("{ns}/default/pods"), admin(), body("evil%2Fx", None), &[400, 422]),
    ];
    for _ in 0..counts().rounds {
        expect_codes(&h.addr, &cases).await;
    }
    let during = probe.finish().await;
    assert_eq!(h.revision().await, revision, "nothing was written");
    report("path traversal", &before, &during, &format!("{} requests refused", cases.len() * counts().rounds));
    h.running.shutdown().await;
}

/// `[[[...]]]` nested `depth` deep as a pod's `spec`.
fn nested_pod(depth: usize) -> Vec<u8> {
    let mut body = br#"{"metadata":{"name":"deep"},"spec":{"x":"#.to_vec();
    body.extend(std::iter::repeat_n(b'[', depth));
    body.extend(std::iter::repeat_n(b']', depth));
    body.extend(b"}}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_streamed_oversized_and_deeply_nested_bodies_are_refused_naming_the_position() {
    let h = Hostile::start().await;
    let before = h.baseline(100).await;
    let revision = h.revision().await;
    let probe = h.probe();
    let pods = "/api/v1/namespaces/default/pods";
    // 8 MiB in chunks without a Content-Length: refused while streaming.
    let mut stream = TcpStream::connect(&h.addr).await.unwrap();
    let head = format!(
        "POST {pods} HTTP/1.1\r\nHost: x\r\nAuthorization: {ADMIN}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b' '; 64 << 10];
    let mut sent = 0usize;
    for _ in 0..128 {
        let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
        if stream.write_all(&framed).await.is_err() {
            break;
        }
        sent += chunk.len();
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let reply = tokio::time::timeout(GENEROUS, read_reply(&mut stream)).await.unwrap().unwrap();
    assert_eq!(reply.code, 413, "{}", message(&reply));

    let deep = nested_pod(100_000);
    let yaml_deep =
        [b"metadata: {name: deep}\nspec: {x: ".to_vec(), vec![b'['; 100_000], vec![b']'; 100_000], b"}\n".to_vec()]
            .concat();
    let mut bomb = String::from("metadata: {name: bomb}\nspec:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        bomb.push_str(&format!(
            "  a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let cases: [BodyCase; 5] = [
        ("POST", pods.to_string(), "application/json", &deep, &["recursion limit", "line 1 column"]),
        (
            "POST",
            format!("{pods}?fieldValidation=Strict"),
            "application/json",
            &deep,
            &["recursion limit", "line 1 column"],
        ),
        (
            "PATCH",
            format!("{pods}/probe"),
            "application/merge-patch+json",
            &deep,
            &["recursion limit", "line 1 column"],
        ),
        ("POST", pods.to_string(), "application/yaml", &yaml_deep, &["recursion limit", "line 2 column"]),
        ("POST", pods.to_string(), "application/yaml", bomb.as_bytes(), &["repetition limit"]),
    ];
    for (method, path, content_type, body, says) in &cases {
        let reply = exchange(&h.addr, method, path, &[("Authorization", ADMIN), ("Content-Type", content_type)], body)
            .await
            .unwrap();
        let text = message(&reply);
        assert_eq!(reply.code, 400, "{method} {path} ({content_type}): {text}");
        for s in *says {
            assert!(text.contains(s), "{method} {path} ({content_type}): {text:?} should say {s:?}");
        }
    }
    let during = probe.finish().await;
    assert_eq!(h.revision().await, revision, "nothing was written");
    report(
        "bodies",
        &before,
        &during,
        &format!(
            "chunked body refused with 413 after {} KiB streamed; 100,000-deep JSON and YAML, YAML alias bomb: 400",
            sent >> 10
        ),
    );
    h.running.shutdown().await;
}

/// Opens `n` connections (at most 100 connecting at once); each runs `attack` and reports how
/// long after its connect the server closed it (`None`: still open after `give_up`).
async fn connections<F, Fut>(addr: &str, n: usize, give_up: Duration, attack: F) -> Vec<Option<Duration>>
where
    F: Fn(TcpStream) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let gate = Arc::new(tokio::sync::Semaphore::new(100));
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let (addr, attack, gate) = (addr.to_string(), attack.clone(), gate.clone());
        let permit = gate.acquire_owned().await.unwrap();
        tasks.push(tokio::spawn(async move {
            let stream = TcpStream::connect(&addr).await;
            drop(permit);
            let stream = stream.expect("loopback connect");
            let opened = Instant::now();
            tokio::time::timeout(give_up, attack(stream)).await.ok().map(|()| opened.elapsed())
        }));
    }
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// Waits until the server closes `stream` (reading and discarding anything it sends).
async fn until_closed(mut stream: TcpStream) {
    let mut buf = [0u8; 1024];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            return;
        }
    }
}

fn closed_within(closed: &[Option<Duration>]) -> (usize, f64) {
    let times: Vec<Duration> = closed.iter().flatten().copied().collect();
    (times.len(), times.iter().max().map_or(0.0, Duration::as_secs_f64))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_slowloris_headers_are_cut_off_by_the_header_read_timeout() {
    let h = Hostile::start().await;
    let before = h.baseline(100).await;
    let revision = h.revision().await;
    let probe = h.probe();
    let n = counts().slowloris;
    let closed = connections(&h.addr, n, Duration::from_secs(30), |stream| async move {
        let (mut read, mut write) = stream.into_split();
        let drip = async move {
            let head = b"POST /api/v1/namespaces/default/pods HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer admin-token\r\nX-Slow: ";
            for byte in head.iter().chain(std::iter::repeat(&b'a')) {
                if write.write_all(&[*byte]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        };
        let mut buf = [0u8; 256];
        let closed = async move { while let Ok(1..) = read.read(&mut buf).await {} };
        tokio::select! { _ = drip => {}, _ = closed => {} }
    })
    .await;
    let during = probe.finish().await;
    let (count, slowest) = closed_within(&closed);
    assert_eq!(count, n, "every slowloris connection is closed by the server");
    assert_eq!(h.revision().await, revision, "nothing was written");
    report(
        "slowloris",
        &before,
        &during,
        &format!(
            "{n} connections sending a header byte every 250 ms, all closed, the last {slowest:.1} s after it opened (header read timeout {HEADER_TIMEOUT:?})"
        ),
    );
    h.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_slow_bodies_are_cut_off_by_the_body_read_timeout() {
    let h = Hostile::start().await;
    let before = h.baseline(100).await;
    let revision = h.revision().await;
    let probe = h.probe();
    let n = counts().slowloris;
    let answers = Arc::new(std::sync::Mutex::new(Vec::new()));
    let collected = answers.clone();
    let closed = connections(&h.addr, n, Duration::from_secs(30), move |stream| {
        let collected = collected.clone();
        async move {
            let (mut read, mut write) = stream.into_split();
            let head = format!(
                "POST /api/v1/namespaces/default/pods HTTP/1.1\r\nHost: x\r\nAuthorization: {ADMIN}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
            );
            let drip = async move {
                if write.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                loop {
                    if write.write_all(b" ").await.is_err() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            };
            let answer = async move {
                let mut out = Vec::new();
                let mut buf = [0u8; 1024];
                while let Ok(got @ 1..) = read.read(&mut buf).await {
                    out.extend_from_slice(&buf[..got]);
                }
                out
            };
            tokio::pin!(answer);
            let out = tokio::select! { out = &mut answer => out, _ = drip => answer.await };
            collected.lock().unwrap().push(String::from_utf8_lossy(&out).to_string());
        }
    })
    .await;
    let during = probe.finish().await;
    let (count, slowest) = closed_within(&closed);
    assert_eq!(count, n, "every slow body is cut off");
    let answers = std::mem::take(&mut *answers.lock().unwrap());
    let refused =
        answers.iter().filter(|a| a.starts_with("HTTP/1.1 400") && a.contains("did not arrive within")).count();
    let unanswered = answers.iter().filter(|a| a.is_empty()).count();
    let at_limit = usize::try_from(h.api.metrics().connections_closed_at_limit()).unwrap();
    let odd = answers.iter().find(|a| !a.is_empty() && !a.starts_with("HTTP/1.1 400"));
    assert_eq!(refused + unanswered, n, "each is told why, or closed at the limit: {odd:?}");
    assert!(unanswered <= at_limit, "only connections closed at the limit go unanswered: {unanswered} > {at_limit}");
    assert_eq!(h.revision().await, revision, "nothing was written");
    report(
        "slow bodies",
        &before,
        &during,
        &format!(
            "{n} requests sending their body a byte every 250 ms: {refused} answered 400, {unanswered} closed at the connection limit; all closed, the last {slowest:.1} s after it opened (body read timeout {HEADER_TIMEOUT:?})"
        ),
    );
    h.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_idle_connections_are_bounded_and_closed_while_others_are_served() {
    // Idle connections live long enough here that the flood fills the server to its limit.
    let idle_timeout = if full() { Duration::from_secs(30) } else { Duration::from_secs(8) };
    let h = Hostile::over(Registry::in_memory().await.unwrap(), config().header_read_timeout(idle_timeout)).await;
    let before = h.baseline(100).await;
    let revision = h.revision().await;
    let probe = h.probe();
    let (n, limit) = (counts().idle, counts().max_connections);
    let metrics = h.api.clone();
    let peak = Arc::new(AtomicUsize::new(0));
    let (sampling, peak_seen) = (Arc::new(AtomicBool::new(true)), peak.clone());
    let sampler = {
        let sampling = sampling.clone();
        tokio::spawn(async move {
            while sampling.load(Ordering::Relaxed) {
                let open = usize::try_from(metrics.metrics().open_connections()).unwrap_or(0);
                peak_seen.fetch_max(open, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let started = Instant::now();
    let (open_now, open_peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (counting, peaking) = (open_now.clone(), open_peak.clone());
    // Every other attacker first sends one good request (a health check), then idles on its
    // keep-alive connection, so it is not merely a connection that never spoke.
    let turn = Arc::new(AtomicUsize::new(0));
    let closed = connections(&h.addr, n, Duration::from_secs(60), move |mut stream| {
        let (counting, peaking, turn) = (counting.clone(), peaking.clone(), turn.clone());
        async move {
            peaking.fetch_max(counting.fetch_add(1, Ordering::Relaxed) + 1, Ordering::Relaxed);
            if turn.fetch_add(1, Ordering::Relaxed) % 2 == 0 {
                let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
            }
            until_closed(stream).await;
            counting.fetch_sub(1, Ordering::Relaxed);
        }
    })
    .await;
    let all_closed_after = started.elapsed();
    sampling.store(false, Ordering::Relaxed);
    sampler.await.unwrap();
    let during = probe.finish().await;
    let (count, slowest) = closed_within(&closed);
    let at_limit = h.api.metrics().connections_closed_at_limit();
    assert_eq!(count, n, "every idle connection is closed in the end");
    let peak = peak.load(Ordering::Relaxed);
    assert!(peak <= limit, "the server held {peak} connections, over its limit of {limit}");
    assert!(at_limit > 0, "the flood reached the limit, and connections were closed there");
    assert!(slowest < (idle_timeout + GENEROUS).as_secs_f64(), "idle connections are closed in time: {slowest:.1} s");
    assert_eq!(h.revision().await, revision, "nothing was written");
    let mut lifetimes: Vec<Duration> = closed.iter().flatten().copied().collect();
    lifetimes.sort();
    report(
        "idle connections",
        &before,
        &during,
        &format!(
            "{n} idle connections (half after one health check) against a limit of {limit}: the server held at most {peak}, the attacker saw at most {} open at once; {at_limit} closed at the limit; lifetime median {:.2} s, last {slowest:.1} s (idle timeout {idle_timeout:?}); all gone {:.1} s after the first connect",
            open_peak.load(Ordering::Relaxed),
            lifetimes[lifetimes.len() / 2].as_secs_f64(),
            all_closed_after.as_secs_f64(),
        ),
    );
    h.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_watch_flood_is_refused_with_429_over_the_limit() {
    let h = Hostile::start().await;
    let before = h.baseline(100).await;
    let revision = h.revision().await;
    let probe = h.probe();
    let (n, limit) = (counts().watches, 64usize);
    let mut open = Vec::new();
    let mut refused = 0;
    for _ in 0..n {
        let mut stream = TcpStream::connect(&h.addr).await.unwrap();
        let req = format!("GET /api/v1/pods?watch=true HTTP/1.1\r\nHost: x\r\nAuthorization: {ADMIN}\r\n\r\n");
        stream.write_all(req.as_bytes()).await.unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            let got = tokio::time::timeout(GENEROUS, stream.read(&mut byte)).await.unwrap().unwrap();
            assert_eq!(got, 1, "the server answers a watch request");
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
        if head.starts_with("http/1.1 200") {
            open.push(stream);
        } else {
            assert!(head.starts_with("http/1.1 429"), "{head}");
            assert!(head.contains("retry-after: 1"), "{head}");
            refused += 1;
        }
    }
    assert_eq!((open.len(), refused), (limit.min(n), n.saturating_sub(limit)));
    // Streaming watches are not cut by the header read timeout.
    tokio::time::sleep(HEADER_TIMEOUT + Duration::from_secs(1)).await;
    let text = h.api.metrics().render();
    assert!(text.contains(&format!("orch_apiserver_watches{{resource=\"pods\"}} {limit}")), "{text}");
    let during = probe.finish().await;
    drop(open);
    let reopened = Instant::now();
    loop {
        let reply =
            exchange(&h.addr, "GET", "/api/v1/pods?watch=true&timeoutSeconds=1", &[("Authorization", ADMIN)], b"")
                .await
                .unwrap();
        if reply.code == 200 {
            break;
        }
        assert!(reopened.elapsed() < GENEROUS, "closed watches give their slots back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(h.revision().await, revision, "nothing was written");
    report(
        "watch flood",
        &before,
        &during,
        &format!("{n} watches: {limit} served, {refused} refused with 429 + Retry-After"),
    );
    h.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_tls_handshake_that_never_finishes_is_closed() {
    let dir = crate::support::TempDir::new("hostile-tls");
    let tls = orch_api::server::TlsSource::SelfSigned { dir: dir.0.clone(), extra_names: vec![] }.load().unwrap();
    let api = ApiServer::new(Registry::in_memory().await.unwrap(), config()).unwrap();
    let running = api.bind("127.0.0.1:0".parse().unwrap(), Some(tls)).await.unwrap();
    let addr = running.local_addr().to_string();
    let closed = connections(&addr, 50, Duration::from_secs(30), |mut stream| async move {
        // A ClientHello record header, then nothing.
        let _ = stream.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00]).await;
        until_closed(stream).await;
    })
    .await;
    let (count, slowest) = closed_within(&closed);
    assert_eq!(count, 50, "every stalled handshake is closed");
    println!(
        "hostile tls handshake: 50 stalled handshakes closed, the last after {slowest:.1} s (timeout {HEADER_TIMEOUT:?})"
    );
    running.shutdown().await;
}

/// The server of the slow-watcher test, run as a child process so its memory is its own:
/// started by `hostile_slow_watcher_...` with `ORCH_HOSTILE_CHILD=1`; prints its address and
/// serves until its stdin closes. Does nothing when run on its own.
#[test]
#[ignore = "the child process of hostile_slow_watcher_is_ended_and_server_memory_stays_bounded"]
fn hostile_server_process() {
    if std::env::var("ORCH_HOSTILE_CHILD").as_deref() != Ok("1") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        use orch_store::mem::{MemKv, MemKvConfig};
        use orch_store::registry::RegistryConfig;
        // Little history, so what the store keeps by design does not hide what a watch holds.
        let kv = Arc::new(MemKv::with_config(MemKvConfig::default().keep_revisions(Some(50))));
        let registry = Registry::builder(
            kv,
            Arc::new(orch_core::runtime::SystemClock),
            Arc::new(orch_core::runtime::TokioSpawn::current()),
        )
        .config(RegistryConfig::default().watch_history(50))
        .build()
        .await
        .unwrap();
        let h = Hostile::over(registry, config()).await;
        println!("ORCH_HOSTILE_ADDR={}", h.addr);
        let mut stdin = tokio::io::stdin();
        let mut buf = [0u8; 64];
        while let Ok(1..) = stdin.read(&mut buf).await {}
        h.running.shutdown().await;
    });
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_slow_watcher_is_ended_and_server_memory_stays_bounded() {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "hostile::hostile_server_process", "--ignored", "--nocapture", "--test-threads=1"])
        .env("ORCH_HOSTILE_CHILD", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = tokio::time::timeout(GENEROUS, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            // libtest may have written "test name ... " on the same line first.
            if let Some(addr) = line.split("ORCH_HOSTILE_ADDR=").nth(1) {
                return addr.trim().to_string();
            }
        }
        panic!("the server process ended before it served");
    })
    .await
    .unwrap();
    let url = format!("http://{addr}");
    let admin: Arc<dyn ObjectStore> =
        Arc::new(HttpClient::new(ClientConfig::new(url).token("admin-token").retries(2)).unwrap());
    let pods: Api<Pod> = Api::namespaced(admin.clone(), "default");
    let start = pods.create(&kit::pod("big")).await.unwrap().metadata.resource_version.unwrap();
    let baseline = rss_kib(pid);

    // The slow watcher: asks for every change and never reads a byte.
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    let req = format!(
        "GET /api/v1/namespaces/default/pods?watch=true&resourceVersion={start} HTTP/1.1\r\nHost: x\r\nAuthorization: {ADMIN}\r\n\r\n"
    );
    slow.write_all(req.as_bytes()).await.unwrap();

    // The good watcher: records when each change arrives.
    let params = WatchParams::default().from_version(start);
    let mut good = admin.watch(&Pod::resource_type(), Some("default"), &params).await.unwrap();
    let (n, size) = (counts().slow_changes, counts().change_bytes);
    let arrivals = tokio::spawn(async move {
        let mut seen = std::collections::HashMap::new();
        while seen.len() < n {
            match tokio::time::timeout(Duration::from_secs(60), good.next()).await {
                Ok(Some(WatchEvent::Modified(o))) => {
                    seen.insert(o.metadata.resource_version.clone().unwrap_or_default(), Instant::now());
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        seen
    });

    let peak = Arc::new(std::sync::atomic::AtomicU64::new(baseline));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        tokio::spawn(async move {
            while sampling.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let mut written = Vec::with_capacity(n);
    let started = Instant::now();
    for i in 0..n {
        let blob: String = std::iter::repeat_n(char::from(b'a' + (i % 26) as u8), size).collect();
        let patch = orch_core::Patch::Merge(json!({"metadata": {"annotations": {"blob": blob}}}));
        let pod = pods.patch("big", &patch).await.unwrap();
        written.push((pod.metadata.resource_version.unwrap(), Instant::now()));
    }
    let writing = started.elapsed();
    let seen = arrivals.await.unwrap();
    sampling.store(false, Ordering::Relaxed);
    sampler.await.unwrap();
    let mut lags: Vec<Duration> = written
        .iter()
        .map(|(rv, acked)| {
            let arrived = seen.get(rv).unwrap_or_else(|| panic!("the good watcher missed revision {rv}"));
            arrived.saturating_duration_since(*acked)
        })
        .collect();
    lags.sort();
    let max_lag = lags.last().copied().unwrap_or_default();
    assert!(max_lag < GENEROUS, "the good watcher got every change, the slowest {max_lag:?} after its write");

    // The slow watcher's connection was closed by the server: draining it reaches the end.
    let drained = tokio::time::timeout(GENEROUS, async {
        let mut buf = vec![0u8; 1 << 16];
        let mut total = 0usize;
        while let Ok(got @ 1..) = slow.read(&mut buf).await {
            total += got;
        }
        total
    })
    .await
    .expect("the server closed the slow watcher's connection");
    let reply = exchange(&addr, "GET", "/metrics", &[("Authorization", ADMIN)], b"").await.unwrap();
    let text = String::from_utf8_lossy(&reply.body).to_string();
    let slow_closed: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("orch_apiserver_slow_watches_closed_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    assert!(slow_closed >= 1, "the server counts the slow watcher it closed: {text}");
    let peak = peak.load(Ordering::Relaxed);
    let grew_mib = (peak.saturating_sub(baseline)) as f64 / 1024.0;
    let written_mib = (n * size) as f64 / (1 << 20) as f64;
    assert!(grew_mib < 256.0, "the server grew by {grew_mib:.0} MiB while {written_mib:.0} MiB of changes went by");
    println!(
        "hostile slow watcher: {n} changes of {} KiB ({written_mib:.0} MiB) in {:.1} s; server RSS {:.0} MiB at the start, peak {:.0} MiB (+{grew_mib:.0} MiB); {slow_closed} slow watch(es) closed (the slow client could still read {:.1} MiB before its connection ended); the good watcher got all {n}, lag p99 {:.1} ms, max {:.1} ms",
        size >> 10,
        writing.as_secs_f64(),
        baseline as f64 / 1024.0,
        peak as f64 / 1024.0,
        drained as f64 / (1 << 20) as f64,
        p99_ms(&lags),
        max_lag.as_secs_f64() * 1000.0,
    );
    drop(child.stdin.take());
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
}
