//! MemKv measurements: puts/s with one sequential in-process client, and resident memory per
//! key at 1M keys (8-byte keys, 256-byte values: etcd's benchmark shape).
//!
//! `cargo run --release -p orch-store --example mem_kv_bench [-- --keys N --no-compaction]`
//!
//! Memory is the growth of the process's resident set (/proc/self/statm) over the raw key and
//! value bytes. Prints a table and, last, one JSON line.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures::executor::block_on;
use orch_core::runtime::{Clock, DeterministicExecutor, ManualClock};
use orch_store::kv::{KvStore, PutRequest, RangeRequest};
use orch_store::mem::{MemKv, MemKvConfig};

const VALUE: usize = 256;

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()).unwrap_or(0) * 4096
}

/// The i-th key: 8 hex digits of a permutation of i, so keys arrive in random order.
fn key(i: u64) -> [u8; 8] {
    let x = (i.wrapping_mul(0x9E37_79B9) & 0xffff_ffff) as u32;
    let mut out = [0u8; 8];
    for (j, b) in out.iter_mut().enumerate() {
        *b = b"0123456789abcdef"[((x >> (28 - 4 * j)) & 0xf) as usize];
    }
    out
}

fn value(i: u64, round: u8) -> Bytes {
    let mut v = [round; VALUE];
    v[..8].copy_from_slice(&i.to_le_bytes());
    Bytes::copy_from_slice(&v)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = args
        .iter()
        .position(|a| a == "--keys")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let no_compaction = args.iter().any(|a| a == "--no-compaction");
    let mut config = MemKvConfig::default();
    if no_compaction {
        config = config.no_auto_compaction();
    }
    let clock: Arc<dyn Clock> = if config.keep_history_for.is_some() {
        Arc::new(orch_core::runtime::SystemClock)
    } else {
        Arc::new(ManualClock::new())
    };
    let kv = MemKv::with_runtime(config, clock, Arc::new(DeterministicExecutor::new()));

    let rss0 = rss_bytes();
    let t0 = Instant::now();
    block_on(async {
        for i in 0..n {
            let r = kv.put(PutRequest::new(Bytes::copy_from_slice(&key(i)), value(i, 0))).await;
            assert!(r.is_ok());
        }
    });
    let create_s = t0.elapsed().as_secs_f64();
    let rss1 = rss_bytes();
    let t1 = Instant::now();
    block_on(async {
        for i in 0..n {
            let r = kv.put(PutRequest::new(Bytes::copy_from_slice(&key(i)), value(i, 1))).await;
            assert!(r.is_ok());
        }
    });
    let update_s = t1.elapsed().as_secs_f64();
    let t2 = Instant::now();
    let reads = n.min(1_000_000);
    block_on(async {
        for i in 0..reads {
            let r = kv.range(RangeRequest::key(Bytes::copy_from_slice(&key(i)))).await;
            assert!(r.is_ok_and(|r| r.count == 1));
        }
    });
    let read_s = t2.elapsed().as_secs_f64();

    let stats = kv.stats();
    let raw = n as f64 * (8 + VALUE) as f64;
    let per_key = (rss1.saturating_sub(rss0)) as f64 / n as f64;
    let ratio = (rss1.saturating_sub(rss0)) as f64 / raw;
    let (create, update, read) = (n as f64 / create_s, n as f64 / update_s, reads as f64 / read_s);
    println!(
        "MemKv, {n} keys of 8 bytes, {VALUE}-byte values, auto-compaction {}",
        if no_compaction { "off" } else { "default" }
    );
    println!("{:<34}{:>14.0}", "puts/s, new keys (1 client)", create);
    println!("{:<34}{:>14.0}", "puts/s, overwrites (1 client)", update);
    println!("{:<34}{:>14.0}", "single-key ranges/s (1 client)", read);
    println!("{:<34}{:>14.1}", "resident bytes per key", per_key);
    println!("{:<34}{:>14.3}", "over raw key+value bytes", ratio);
    println!("{:<34}{:>14}", "history kept (versions)", stats.history_len);
    println!(
        "{{\"bench\":\"mem_kv\",\"keys\":{n},\"auto_compaction\":{},\"mem_put_per_s_1c\":{create:.0},\"mem_update_per_s_1c\":{update:.0},\"mem_range_per_s_1c\":{read:.0},\"mem_bytes_per_key\":{per_key:.1},\"mem_bytes_per_key_over_raw\":{ratio:.3}}}",
        !no_compaction
    );
}
