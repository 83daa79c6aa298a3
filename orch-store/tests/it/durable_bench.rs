//! `DurableKv` put throughput with 1 and 64 clients (256-byte values, fsync on), and the raw
//! fdatasync latency of the disk under the temp dir. Ignored by default; run in release:
//! `cargo test -p orch-store --release --all-features --test it durable_bench -- --ignored --nocapture`

use std::io::Write;
use std::time::{Duration, Instant};

use orch_store::durable::DurableKvConfig;
use orch_store::kv::{KvStore, PutRequest};

use super::durable_kv::{TempDir, open_with};

/// Puts/s with `clients` concurrent clients, each doing `per_client` puts.
async fn put_rate(clients: usize, per_client: usize, fsync: bool) -> f64 {
    let dir = TempDir::new("bench");
    let config = DurableKvConfig::default().fsync(fsync);
    let kv = open_with(&dir.0, config).unwrap();
    let value = vec![b'v'; 256];
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (kv, value) = (kv.clone(), value.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..per_client {
                kv.put(PutRequest::new(format!("k{c:02}{i:06}"), value.clone())).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let rate = (clients * per_client) as f64 / start.elapsed().as_secs_f64();
    kv.close();
    rate
}

/// Median fdatasync latency after a write of `size` bytes in the temp dir: appended (the file
/// grows, so metadata is synced too) or overwriting bytes already written and synced.
fn fdatasync_latency(size: usize, append: bool) -> Duration {
    use std::io::{Seek, SeekFrom};
    let dir = TempDir::new("fsync");
    let mut f = std::fs::File::create(dir.0.join("f")).unwrap();
    if !append {
        f.write_all(&vec![0u8; size * 200]).unwrap();
        f.sync_all().unwrap();
        f.seek(SeekFrom::Start(0)).unwrap();
    }
    let mut times: Vec<Duration> = (0..200)
        .map(|_| {
            f.write_all(&vec![7u8; size]).unwrap();
            let t = Instant::now();
            f.sync_data().unwrap();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run in release with --ignored"]
async fn durable_put_throughput() {
    let sync = fdatasync_latency(300, true);
    let sync_overwrite = fdatasync_latency(300, false);
    let sync_big = fdatasync_latency(64 * 300, true);
    let one = put_rate(1, 2_000, true).await;
    let many = put_rate(64, 500, true).await;
    let many_nosync = put_rate(64, 500, false).await;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "fdatasync p50: append 300 B {:.3} ms, overwrite 300 B {:.3} ms, append 19 KiB {:.3} ms",
        ms(sync),
        ms(sync_overwrite),
        ms(sync_big)
    );
    println!(
        "DurableKv puts/s: 1 client {one:.0}, 64 clients {many:.0} ({:.1}x), 64 clients fsync off {many_nosync:.0}",
        many / one
    );
    println!(
        "{{\"bench\":\"durable_put\",\"fdatasync_p50_ms\":{:.3},\"durable_put_per_s_1c\":{one:.0},\"durable_put_per_s_64c\":{many:.0},\"durable_put_per_s_64c_nofsync\":{many_nosync:.0}}}",
        sync.as_secs_f64() * 1e3
    );
}
