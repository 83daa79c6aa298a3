//! The fuzz targets (`fuzz/src/lib.rs`) on stable: every file of every committed seed corpus,
//! and the regression inputs of crashes the fuzzers found, must run clean. `cargo fuzz` grows
//! these corpora on nightly (see `fuzz/README.md`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use orch_core::{DeterministicExecutor, ManualClock};
use orch_store::durable::{DurableFs, DurableKv, DurableKvConfig, FaultyFs};
use orch_store::kv::{Compare, CompareOp, DeleteRequest, KvStore, PutRequest, TxnOp, TxnRequest};

#[allow(dead_code)]
#[path = "../../fuzz/src/lib.rs"]
mod targets;

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target)
}

#[test]
fn every_seed_of_every_fuzz_target_runs_without_a_panic() {
    let mut failures = Vec::new();
    for (target, run) in targets::TARGETS {
        let dir = corpus_dir(target);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("corpus entry").path())
            .collect();
        files.sort();
        assert!(files.len() >= 10, "{target}: only {} seeds", files.len());
        for file in files {
            let data = std::fs::read(&file).expect("read seed");
            if std::panic::catch_unwind(|| run(&data)).is_err() {
                failures.push(file.display().to_string());
            }
        }
    }
    assert!(failures.is_empty(), "fuzz inputs that panic: {failures:#?}");
}

/// Logs written by a real `DurableKv`, in each of the `durable_log` target's input modes: for
/// `steps` 0 to 3, puts; then a transaction; then a lease and a range delete; then compaction,
/// a revoke and a snapshot.
fn durable_seeds() -> Vec<(String, Vec<u8>)> {
    (0..4).flat_map(durable_seeds_of).collect()
}

fn durable_seeds_of(steps: u8) -> Vec<(String, Vec<u8>)> {
    let fs = FaultyFs::new();
    let dir = Path::new("/db");
    let exec = Arc::new(DeterministicExecutor::new());
    let config = DurableKvConfig::default().snapshot_every(12);
    let kv = DurableKv::open(dir, config, Arc::new(ManualClock::new()), exec, Arc::new(fs.clone())).expect("open");
    futures::executor::block_on(async {
        for i in 0..10 {
            kv.put(PutRequest::new(format!("k{}", i % 4), format!("v{i}"))).await.expect("put");
        }
        if steps == 0 {
            return;
        }
        let txn = TxnRequest {
            compare: vec![Compare::value("k1", CompareOp::Equal, "v9")],
            success: vec![TxnOp::Put(PutRequest::new("k1", "swapped")), TxnOp::Delete(DeleteRequest::key("k2"))],
            failure: vec![TxnOp::Put(PutRequest::new("k5", "missed"))],
        };
        kv.txn(txn).await.expect("txn");
        if steps == 1 {
            return;
        }
        let lease = kv.lease_grant(std::time::Duration::from_secs(30), 0).await.expect("lease");
        kv.put(PutRequest::new("leased", "x").with_lease(lease.id)).await.expect("leased put");
        kv.delete(DeleteRequest::prefix("k")).await.expect("delete");
        if steps == 2 {
            return;
        }
        let rev = kv.status().await.expect("status").revision;
        kv.compact(rev - 2).await.expect("compact");
        kv.lease_revoke(lease.id).await.expect("revoke");
        kv.put(PutRequest::new("after", "snapshot")).await.expect("put");
    });
    kv.close();
    drop(kv);
    let mut seeds = Vec::new();
    let mut names = fs.list(dir).expect("list");
    names.sort();
    for name in names {
        let bytes = fs.read(&dir.join(&name)).expect("read");
        if name.starts_with("snap-") {
            seeds.push((format!("{steps}-snapshot-{name}"), [&[3u8][..], &bytes].concat()));
            continue;
        }
        seeds.push((format!("{steps}-raw-{name}"), [&[0u8][..], &bytes].concat()));
        // The same records as length-prefixed payloads, without and with their indexes.
        let (mut unnumbered, mut numbered) = (vec![1u8], vec![2u8]);
        let mut at = 0;
        while let Some(header) = bytes.get(at..at + 8) {
            let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
            let body = &bytes[at + 8..at + 8 + len];
            for (out, part) in [(&mut unnumbered, &body[8..]), (&mut numbered, body)] {
                out.extend_from_slice(&u16::try_from(part.len()).expect("small record").to_le_bytes());
                out.extend_from_slice(part);
            }
            at += 8 + len;
        }
        seeds.push((format!("{steps}-records-{name}"), unnumbered));
        seeds.push((format!("{steps}-indexed-records-{name}"), numbered));
    }
    seeds
}

/// Runs the `durable_log` target on logs a real store wrote, intact and damaged at every
/// position (a flipped byte, a cut), so the target's invariants (a log that opens reopens to
/// the same state) hold on realistic files and not only on the committed seeds. With
/// `ORCH_FUZZ_WRITE_SEEDS=1` it also writes the intact ones into the seed corpus.
#[test]
fn durable_log_target_holds_on_real_logs_and_their_damaged_copies() {
    let seeds = durable_seeds();
    assert!(seeds.iter().any(|(name, _)| name.contains("-snapshot-")), "no snapshot was taken");
    if std::env::var_os("ORCH_FUZZ_WRITE_SEEDS").is_some() {
        for (name, bytes) in &seeds {
            std::fs::write(corpus_dir("durable_log").join(name), bytes).expect("write seed");
        }
    }
    for (name, bytes) in &seeds {
        targets::durable_log(bytes);
        for at in (1..bytes.len()).step_by(7) {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x5a;
            targets::durable_log(&flipped);
            targets::durable_log(&bytes[..at]);
        }
        assert!(!name.is_empty());
    }
}
