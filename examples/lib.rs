//! Shared helpers for the orch examples and benchmarks.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use orch_core::kinds::Pod;
use orch_core::store::{ListParams, WatchEvent, WatchParams};
use orch_core::{DynamicObject, ObjectStore, Resource};

/// Every example and benchmark linking this crate allocates through mimalloc (feature
/// `mimalloc`, on by default): with glibc's allocator a third of the cluster benchmark's CPU went
/// to `malloc` and `free`. Embedders choose their own allocator the same way.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Peak resident set size of this process in MiB (`VmHWM` of `/proc/self/status`).
pub fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn is_running(p: &DynamicObject) -> bool {
    let status = p.status();
    let phase = status.and_then(|s| s.get("phase")).and_then(|v| v.as_str());
    let ready = status.and_then(|s| s.get("conditions")).and_then(|c| c.as_array()).is_some_and(|cs| {
        cs.iter().any(|c| {
            c.get("type").and_then(|t| t.as_str()) == Some("Ready")
                && c.get("status").and_then(|t| t.as_str()) == Some("True")
        })
    });
    phase == Some("Running") && ready
}

/// Counts the pods of `namespace` that are Running and Ready, from one raw watch (no typed
/// decoding; relisting should the store close the watch for falling behind). The count is
/// published on the returned channel; the task runs until aborted.
pub fn count_running_pods(
    store: Arc<dyn ObjectStore>,
    namespace: &str,
) -> (tokio::sync::watch::Receiver<usize>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = tokio::sync::watch::channel(0usize);
    let ns = namespace.to_string();
    let task = tokio::spawn(async move {
        let rt = Pod::resource_type();
        loop {
            // Only pods in phase Running are sent (the API server filters), so the counter does
            // not decode every create and bind it is not interested in.
            let running_only = "status.phase=Running";
            let Ok(list) = store.list(&rt, Some(&ns), &ListParams::default().fields(running_only)).await else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            let mut running: HashSet<String> =
                list.items.iter().filter(|p| is_running(p)).map(|p| p.name().to_owned()).collect();
            tx.send_replace(running.len());
            let params = WatchParams::default().fields(running_only).from_version(list.resource_version);
            let Ok(mut events) = store.watch(&rt, Some(&ns), &params).await else { continue };
            while let Some(ev) = events.next().await {
                match ev {
                    WatchEvent::Added(p) | WatchEvent::Modified(p)
                        if is_running(&p) && running.insert(p.name().to_owned()) =>
                    {
                        tx.send_replace(running.len());
                    }
                    WatchEvent::Error(e) => {
                        eprintln!("  (counting watch closed: {e}; relisting)");
                        break;
                    }
                    _ => {}
                }
            }
        }
    });
    (rx, task)
}

/// Waits until `count` reaches `want`, printing progress every second; `Err` with the count
/// reached after `limit`.
pub async fn wait_for_count(
    count: &mut tokio::sync::watch::Receiver<usize>,
    want: usize,
    start: Instant,
    limit: Duration,
) -> Result<(), usize> {
    let mut last_report = Instant::now();
    loop {
        let n = *count.borrow_and_update();
        if n >= want {
            return Ok(());
        }
        if start.elapsed() > limit {
            return Err(n);
        }
        if last_report.elapsed() > Duration::from_secs(1) {
            eprintln!("  {n:>6} pods running after {:.1}s", start.elapsed().as_secs_f64());
            last_report = Instant::now();
        }
        let _ = tokio::time::timeout(Duration::from_millis(100), count.changed()).await;
    }
}

/// A bearer token nobody can guess: 128 bits from two randomly keyed hashers (the standard
/// library seeds each from the operating system) over the clock and the process id.
pub fn random_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    let mut halves = [0u64; 2];
    for half in &mut halves {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(now);
        h.write_u32(std::process::id());
        *half = h.finish();
    }
    format!("orch-{:016x}{:016x}", halves[0], halves[1])
}

/// The pods matching `selector` that are not being deleted and are Ready.
pub async fn ready_pods(pods: &orch_core::Api<Pod>, selector: &str) -> Vec<Pod> {
    let list = pods.list(&ListParams::default().labels(selector)).await.map(|l| l.items).unwrap_or_default();
    list.into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| orch_core::kinds::find_condition(&p.status.conditions, "Ready").is_some_and(|c| c.is_true()))
        .collect()
}
