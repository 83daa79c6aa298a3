//! Connections a hostile client holds: slowloris headers, slow bodies, idle floods, stalled TLS handshakes.

use super::*;

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
