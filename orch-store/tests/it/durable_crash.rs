//! `DurableKv` crash tests: a child process killed with SIGKILL at random moments, and power
//! cuts of the fault-injecting file system that drop everything not yet synced.
//!
//! After each crash: every acknowledged write is present with its whole value, and the store
//! holds exactly one revision per surviving write (nothing half-visible, no gaps).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use orch_core::runtime::{ManualClock, TokioSpawn};
use orch_store::durable::{DurableKv, DurableKvConfig, FaultyFs};
use orch_store::kv::{KvStore, PutRequest};

use super::durable_kv::{TempDir, full_state, open_with};

/// Set in the child: the store directory to write to.
const CHILD_ENV: &str = "ORCH_DURABLE_CRASH_CHILD_DIR";
const WRITERS: usize = 8;
/// Overrides the number of crash trials (the full count in RELIABILITY.md is 200 of each).
const TRIALS_ENV: &str = "ORCH_CRASH_TRIALS";

/// The number of trials: `ORCH_CRASH_TRIALS` if set, else the quick default.
fn trials(default: usize) -> usize {
    std::env::var(TRIALS_ENV).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn value(n: u64) -> String {
    format!("value-{n}-{}", "v".repeat((n % 200) as usize))
}

/// A small xorshift generator: seeded, so a failing trial can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn crash_config() -> DurableKvConfig {
    DurableKvConfig::default().segment_bytes(64 << 10).snapshot_every(700).compaction_window(0)
}

/// Checks the store against the acknowledged writes; returns the next key number to use.
async fn check(kv: &dyn KvStore, acked: &BTreeMap<u64, i64>, what: &str) -> u64 {
    let (kvs, status) = full_state(kv).await;
    let mut present = BTreeMap::new();
    for kv in &kvs {
        let key = String::from_utf8_lossy(&kv.key).into_owned();
        let n: u64 =
            key.strip_prefix("key").and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{what}: odd key {key}"));
        assert_eq!(String::from_utf8_lossy(&kv.value), value(n), "{what}: {key} is not whole");
        present.insert(n, kv.mod_revision);
    }
    for (n, rev) in acked {
        assert_eq!(present.get(n), Some(rev), "{what}: acknowledged key{n} (revision {rev}) lost");
    }
    // One revision per put of a new key, from revision 2: contiguous, nothing half-applied.
    assert_eq!(status.revision, kvs.len() as i64 + 1, "{what}: revisions are not contiguous");
    let mut revs: Vec<i64> = present.values().copied().collect();
    revs.sort_unstable();
    assert!(revs.iter().enumerate().all(|(i, r)| *r == i as i64 + 2), "{what}: revision gap");
    present.keys().next_back().map_or(0, |n| n + 1)
}

/// Child mode: writes keys from `start` with several writers, printing `ack n rev` after each
/// acknowledgement, until killed.
fn child_main(dir: &Path) -> ! {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let kv = open_with(dir, crash_config()).unwrap();
        let start = check(&kv, &BTreeMap::new(), "child start").await;
        let next = Arc::new(std::sync::atomic::AtomicU64::new(start));
        let out = Arc::new(Mutex::new(std::io::stdout()));
        let mut tasks = Vec::new();
        for _ in 0..WRITERS {
            let (kv, next, out) = (kv.clone(), next.clone(), out.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let rev = kv.put(PutRequest::new(format!("key{n}"), value(n))).await.unwrap().revision;
                    let mut out = out.lock().unwrap();
                    writeln!(out, "ack {n} {rev}").unwrap();
                    out.flush().unwrap();
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    });
    std::process::exit(0)
}

#[test]
fn sigkill_at_random_moments_loses_no_acknowledged_write() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        child_main(Path::new(&dir));
    }
    let dir = TempDir::new("sigkill");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut rng = Rng(0x5eed_2024);
    let mut acked = BTreeMap::new();
    let trials = trials(20);
    for trial in 0..trials {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "durable_crash::sigkill_at_random_moments_loses_no_acknowledged_write"])
            .args(["--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &dir.0)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let mut parts = line.split(' ');
                if parts.next() == Some("ack")
                    && let (Some(Ok(n)), Some(Ok(rev))) = (parts.next().map(str::parse), parts.next().map(str::parse))
                {
                    lines.push((n, rev));
                }
            }
            lines
        });
        std::thread::sleep(Duration::from_millis(50 + rng.below(250)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let new: Vec<(u64, i64)> = reader.join().unwrap();
        acked.extend(new.iter().copied());
        rt.block_on(async {
            let kv = open_with(&dir.0, crash_config()).unwrap();
            check(&kv, &acked, &format!("after kill {trial}")).await;
            kv.close();
        });
    }
    assert!(acked.len() > 100, "children acknowledged only {} writes", acked.len());
    println!("sigkill: {trials} kills, {} acknowledged writes checked after every kill, 0 lost", acked.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn power_cut_keeps_every_acknowledged_write_and_nothing_half_visible() {
    let fs = FaultyFs::new();
    let clock = Arc::new(ManualClock::new());
    let open = || {
        let config = crash_config().segment_bytes(16 << 10).snapshot_every(300);
        DurableKv::open("/db", config, clock.clone(), Arc::new(TokioSpawn::current()), Arc::new(fs.clone()))
    };
    let mut rng = Rng(0xc0ffee);
    let mut acked: BTreeMap<u64, i64> = BTreeMap::new();
    let mut next_key = 0;
    let trials = trials(30);
    for trial in 0..trials {
        let kv = open().unwrap();
        next_key = next_key.max(check(&kv, &acked, &format!("before trial {trial}")).await);
        let next = Arc::new(std::sync::atomic::AtomicU64::new(next_key));
        let acks = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (kv, next, acks) = (kv.clone(), next.clone(), acks.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    match kv.put(PutRequest::new(format!("key{n}"), value(n))).await {
                        Ok(r) => acks.lock().unwrap().push((n, r.revision)),
                        Err(_) => return,
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(5 + rng.below(40))).await;
        if trial % 2 == 0 {
            fs.power_cut()
        } else {
            fs.power_cut_torn(rng.next())
        }
        for t in tasks {
            t.await.unwrap();
        }
        acked.extend(acks.lock().unwrap().iter().copied());
        next_key = next.load(std::sync::atomic::Ordering::SeqCst);
        kv.close();
        drop(kv);
        let kv = open().unwrap();
        check(&kv, &acked, &format!("after power cut {trial}")).await;
    }
    assert!(acked.len() > 100, "only {} writes acknowledged", acked.len());
    println!("power cut: {trials} cuts (half torn), {} acknowledged writes checked after every cut, 0 lost", acked.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sync_fails_the_write_and_stops_the_store() {
    let fs = FaultyFs::new();
    let open = || {
        let clock = Arc::new(ManualClock::new());
        DurableKv::open("/db", crash_config(), clock, Arc::new(TokioSpawn::current()), Arc::new(fs.clone()))
    };
    let kv = open().unwrap();
    let first = kv.put(PutRequest::new("key0", value(0))).await.unwrap();
    fs.fail_nth_sync(1);
    assert!(kv.put(PutRequest::new("key1", value(1))).await.is_err(), "a write whose sync failed is not acknowledged");
    assert!(kv.put(PutRequest::new("key2", value(2))).await.is_err(), "the log is poisoned after a failed sync");
    drop(kv);
    fs.power_cut();
    let kv = open().unwrap();
    let acked = BTreeMap::from([(0, first.revision)]);
    check(&kv, &acked, "after failed sync").await;
}
