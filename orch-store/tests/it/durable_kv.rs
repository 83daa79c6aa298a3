//! `DurableKv` on the real file system: the KV contract suite, restart recovery, torn tails,
//! corruption, and bounded disk under churn.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use orch_core::runtime::{SystemClock, TokioSpawn};
use orch_store::durable::{DurableKv, DurableKvConfig, OsFs};
use orch_store::kv::{
    Compare, CompareOp, DeleteRequest, KeyRange, KeyValue, KvError, KvStatus, KvStore, PutRequest, RangeRequest, TxnOp,
    TxnRequest,
};

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A fresh, empty directory named after `name`.
    pub fn new(name: &str) -> TempDir {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!("orch-durable-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Opens a store in `dir` on tokio with `config`.
pub fn open_with(dir: &Path, config: DurableKvConfig) -> Result<DurableKv, KvError> {
    DurableKv::open(dir, config, Arc::new(SystemClock), Arc::new(TokioSpawn::current()), Arc::new(OsFs))
}

/// Every live key-value and the status.
pub async fn full_state(kv: &dyn KvStore) -> (Vec<KeyValue>, KvStatus) {
    let all = kv.range(RangeRequest::range(KeyRange::from_key(vec![0u8]))).await.expect("range all");
    (all.kvs, kv.status().await.expect("status"))
}

#[cfg(feature = "testkit")]
mod contract {
    use orch_store::testkit::kv as kit;

    use super::*;

    fn cfg() -> kit::KvKitConfig {
        kit::KvKitConfig::default().lease_ttl(Duration::from_secs(1))
    }

    macro_rules! contract {
        ($($check:ident),* $(,)?) => {$(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let dir = TempDir::new(stringify!($check));
                let config = DurableKvConfig::default().segment_bytes(256 << 10).snapshot_every(2_000);
                let kv = open_with(&dir.0, config).expect("open");
                kit::$check(Arc::new(kv.clone()), &cfg()).await;
                kv.close();
            }
        )*};
    }

    contract!(
        writes_make_one_revision_each,
        versions_follow_etcd,
        range_at_revision_sees_past_writes,
        range_limit_count_and_more,
        invalid_requests_are_rejected,
        large_values_up_to_the_limit,
        txn_compares_on_every_target,
        txn_is_all_or_nothing,
        txn_cas_race_loses_no_update,
        watch_delivers_every_event_once_in_order,
        watch_resumes_from_last_seen_revision,
        watch_from_old_revision_replays_history,
        watch_prev_kv_carries_previous_values,
        watch_key_sees_only_that_key,
        slow_watcher_blocks_no_one,
        compaction_fails_old_reads_and_watches,
        lease_expiry_deletes_keys_and_notifies_watchers,
        lease_revoke_deletes_keys_in_one_revision,
        lease_keep_alive_extends_the_lease,
        put_with_unknown_lease_fails,
    );
}

/// Puts, deletes, a txn, a lease with keys and a compaction.
async fn mixed_writes(kv: &DurableKv, n: usize) {
    let lease = kv.lease_grant(Duration::from_secs(600), 0).await.unwrap().id;
    for i in 0..n {
        kv.put(PutRequest::new(format!("k/{i:04}"), format!("v{i}"))).await.unwrap();
        if i % 7 == 0 {
            kv.delete(DeleteRequest::key(format!("k/{:04}", i / 2))).await.unwrap();
        }
        if i % 11 == 0 {
            let txn = TxnRequest {
                compare: vec![Compare::create_revision(format!("t/{i}"), CompareOp::Equal, 0)],
                success: vec![TxnOp::Put(PutRequest::new(format!("t/{i}"), "x").with_lease(lease))],
                failure: vec![],
            };
            assert!(kv.txn(txn).await.unwrap().succeeded);
        }
    }
    let rev = kv.status().await.unwrap().revision;
    kv.compact(rev - 5).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_recovers_every_acknowledged_write() {
    for (segment, snapshot) in [(1 << 20, 1_000_000), (4 << 10, 50)] {
        let dir = TempDir::new("restart");
        let config = DurableKvConfig::default().segment_bytes(segment).snapshot_every(snapshot).compaction_window(0);
        let kv = open_with(&dir.0, config.clone()).unwrap();
        mixed_writes(&kv, 300).await;
        let before = full_state(&kv).await;
        kv.close();
        drop(kv);
        let kv = open_with(&dir.0, config.clone()).unwrap();
        let after = full_state(&kv).await;
        assert_eq!(after.0, before.0, "segment {segment}, snapshot every {snapshot}");
        assert_eq!(after.1.revision, before.1.revision);
        // Writing goes on where it left off, and survives another restart.
        let next = kv.put(PutRequest::new("after", "restart")).await.unwrap().revision;
        assert_eq!(next, before.1.revision + 1);
        drop(kv);
        let kv = open_with(&dir.0, config).unwrap();
        assert_eq!(kv.status().await.unwrap().revision, next);
    }
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut segs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    segs.sort();
    segs
}

async fn write_keys(dir: &Path, config: &DurableKvConfig, n: usize) {
    let kv = open_with(dir, config.clone()).unwrap();
    for i in 0..n {
        kv.put(PutRequest::new(format!("key{i:04}"), format!("value-{i}"))).await.unwrap();
    }
    kv.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torn_or_corrupt_last_record_is_dropped_and_the_rest_kept() {
    let config = DurableKvConfig::default().snapshot_every(1_000_000);
    for damage in ["truncate", "flip"] {
        let dir = TempDir::new("torn");
        write_keys(&dir.0, &config, 20).await;
        let seg = segments(&dir.0).pop().unwrap();
        let mut bytes = std::fs::read(&seg).unwrap();
        let len = bytes.len();
        match damage {
            "truncate" => bytes.truncate(len - 3),
            _ => bytes[len - 2] ^= 0x10,
        }
        std::fs::write(&seg, &bytes).unwrap();
        let kv = open_with(&dir.0, config.clone()).unwrap();
        let (kvs, status) = full_state(&kv).await;
        assert_eq!(kvs.len(), 19, "{damage}: the damaged last record is not served");
        assert_eq!(status.revision, 20);
        assert_eq!(&kvs[18].value[..], b"value-18");
        // The tail was cut off on disk: new writes follow the good records.
        assert_eq!(kv.put(PutRequest::new("new", "1")).await.unwrap().revision, 21);
        drop(kv);
        assert_eq!(full_state(&open_with(&dir.0, config.clone()).unwrap()).await.1.revision, 21);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corruption_in_an_older_segment_is_a_clear_error() {
    let dir = TempDir::new("corrupt");
    let config = DurableKvConfig::default().segment_bytes(512).snapshot_every(1_000_000);
    write_keys(&dir.0, &config, 100).await;
    let segs = segments(&dir.0);
    assert!(segs.len() >= 3, "small segments rotate");
    let victim = &segs[1];
    let mut bytes = std::fs::read(victim).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(victim, &bytes).unwrap();
    match open_with(&dir.0, config) {
        Err(KvError::Corrupt { file, reason, .. }) => {
            assert!(file.ends_with(&*victim.file_name().unwrap().to_string_lossy()), "{file}: {reason}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_stays_bounded_under_churn() {
    let dir = TempDir::new("churn");
    let config = DurableKvConfig::default().segment_bytes(32 << 10).snapshot_every(500).compaction_window(200);
    let kv = open_with(&dir.0, config.clone()).unwrap();
    for i in 0..5_000 {
        kv.put(PutRequest::new(format!("k{}", i % 20), vec![b'x'; 100])).await.unwrap();
    }
    let status = kv.status().await.unwrap();
    assert!(status.compact_revision >= status.revision - 300, "{status:?}");
    kv.close();
    let bytes: u64 = std::fs::read_dir(&dir.0).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
    assert!(bytes < 200 << 10, "{bytes} bytes on disk after 5,000 writes of 20 keys");
    let kv = open_with(&dir.0, config).unwrap();
    assert_eq!(full_state(&kv).await.0.len(), 20);
}
