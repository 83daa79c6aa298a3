//! Watches a hostile client opens: a flood over the limit, and one that never reads.

use super::*;

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
        .args(["--exact", "hostile::watches::hostile_server_process", "--ignored", "--nocapture", "--test-threads=1"])
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
