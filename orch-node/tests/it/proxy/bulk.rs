//! Bulk transfer through the proxy: every byte arrives intact, and the splice path carries it.

use super::*;

const TOTAL: usize = 64 << 20;

/// A deterministic byte stream (xorshift64) and an FNV-1a checksum over what passes.
struct Stream {
    state: u64,
}

impl Stream {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            chunk.copy_from_slice(&self.state.to_le_bytes()[..chunk.len()]);
        }
    }
}

fn fnv(mut h: u64, data: &[u8]) -> u64 {
    for b in data {
        h = (h ^ u64::from(*b)).wrapping_mul(0x100000001b3);
    }
    h
}

const FNV_START: u64 = 0xcbf29ce484222325;

async fn echo_server(addr: &str) -> JoinHandle<()> {
    let listener = TcpListener::bind(addr).await.unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else { continue };
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
                let _ = w.shutdown().await;
            });
        }
    })
}

fn metric(text: &str, prefix: &str) -> u64 {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_transfer_of_64_mib_arrives_intact_through_splice() {
    let server = echo_server("127.64.12.1:9000").await;
    let c = cluster(ProxyConfig::default()).await;
    c.service("bulk", json!({"clusterIP": "127.192.0.12", "ports": [{"port": 80, "targetPort": 9000}]})).await;
    c.endpoints("bulk", ready(&["127.64.12.1"], 9000)).await;
    // Served once an echo comes back.
    let stream = eventually("bulk service", || async {
        let mut s = TcpStream::connect("127.192.0.12:80").await.ok()?;
        s.write_all(b"x").await.ok()?;
        let mut b = [0u8; 1];
        tokio::time::timeout(Duration::from_secs(2), s.read_exact(&mut b)).await.ok()?.ok()?;
        Some(s)
    })
    .await;
    let (mut r, mut w) = stream.into_split();
    let writer = tokio::spawn(async move {
        let mut source = Stream { state: 0x9e3779b97f4a7c15 };
        let mut buf = vec![0u8; 256 * 1024];
        let mut h = FNV_START;
        for _ in 0..TOTAL / buf.len() {
            source.fill(&mut buf);
            h = fnv(h, &buf);
            w.write_all(&buf).await.unwrap();
        }
        w.shutdown().await.unwrap();
        h
    });
    let mut buf = vec![0u8; 256 * 1024];
    let (mut got, mut h) = (0usize, FNV_START);
    loop {
        let n = r.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        h = fnv(h, &buf[..n]);
        got += n;
    }
    let sent = writer.await.unwrap();
    assert_eq!(got, TOTAL);
    assert_eq!(h, sent, "checksum of the echoed stream");
    let text = c.metrics();
    let labels = "{namespace=\"default\",service=\"bulk\",port=\"\",protocol=\"TCP\"}";
    assert!(metric(&text, &format!("orch_proxy_spliced_bytes_total{labels}")) > 0, "splice used:\n{text}");
    assert!(metric(&text, &format!("orch_proxy_bytes_in_total{labels}")) > TOTAL as u64);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_way_bulk_into_a_slow_reader_fills_the_pipe_without_losing_the_stream() {
    // A sink that starts reading late, so the proxy's pipe fills up completely.
    let listener = TcpListener::bind("127.64.13.1:9000").await.unwrap();
    let sink = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut buf = vec![0u8; 64 * 1024];
        let (mut total, mut h) = (0u64, FNV_START);
        loop {
            let n = s.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            total += n as u64;
            h = fnv(h, &buf[..n]);
        }
        s.write_all(&total.to_le_bytes()).await.unwrap();
        h
    });
    let c = cluster(ProxyConfig::default().pipe_size(64 * 1024)).await;
    c.service("sink", json!({"clusterIP": "127.192.0.13", "ports": [{"port": 80, "targetPort": 9000}]})).await;
    c.endpoints("sink", ready(&["127.64.13.1"], 9000)).await;
    let mut s = eventually("sink service", || async {
        c.proxy.proxy().backend().rules().first().filter(|r| !r.backends.is_empty())?;
        TcpStream::connect("127.192.0.13:80").await.ok()
    })
    .await;
    let mut source = Stream { state: 42 };
    let mut buf = vec![0u8; 1 << 20];
    let mut h = FNV_START;
    for _ in 0..32 {
        source.fill(&mut buf);
        h = fnv(h, &buf);
        s.write_all(&buf).await.unwrap();
    }
    s.shutdown().await.unwrap();
    let mut count = [0u8; 8];
    s.read_exact(&mut count).await.unwrap();
    assert_eq!(u64::from_le_bytes(count), 32 << 20);
    assert_eq!(sink.await.unwrap(), h);
}
