//! `DurableKv`: the embedded, on-disk `KvStore`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::channel::mpsc;
use orch_core::runtime::{Clock, Spawn};

use super::config::DurableKvConfig;
use super::engine::Engine;
use super::fs::DurableFs;
use super::{lease_expiry, watch};
use crate::kv::{
    DeleteRequest, DeleteResponse, KvError, KvStatus, KvStore, KvWatchStream, LeaseGrant, PutRequest, PutResponse,
    RangeRequest, RangeResponse, TxnRequest, TxnResponse, WatchRequest,
};
use crate::mvcc::{WriteRequest, WriteResponse};

/// The embedded, on-disk [`KvStore`]: the MVCC core in memory, every write in a write-ahead log
/// (group-committed, fdatasync'd before it is acknowledged), periodic snapshots. See the
/// [module docs](super) for the design.
///
/// Cloning shares the store; it closes (flushing the log) when the last clone is dropped or on
/// [`close`](Self::close).
///
/// ```
/// use std::sync::Arc;
/// use orch_core::runtime::{DeterministicExecutor, ManualClock};
/// use orch_store::durable::{DurableKv, DurableKvConfig, FaultyFs};
/// use orch_store::kv::{KvStore, PutRequest, RangeRequest};
///
/// use futures::executor::block_on;
///
/// let exec = Arc::new(DeterministicExecutor::new()); // runs the lease expiry task
/// let fs = FaultyFs::new(); // in memory; power cuts drop unsynced bytes
/// let open = || {
///     let (clock, fs) = (Arc::new(ManualClock::new()), Arc::new(fs.clone()));
///     DurableKv::open("/db", DurableKvConfig::default(), clock, exec.clone(), fs)
/// };
/// let kv = open()?;
/// let rev = block_on(kv.put(PutRequest::new("greeting", "hello")))?.revision; // durable now
/// fs.power_cut(); // acknowledged writes survive
/// drop(kv);
/// let kv = open()?;
/// let got = block_on(kv.range(RangeRequest::key("greeting")))?;
/// assert_eq!((got.revision, &got.kvs[0].value[..]), (rev, &b"hello"[..]));
/// # Ok::<(), orch_store::KvError>(())
/// ```
#[derive(Clone)]
pub struct DurableKv {
    engine: Arc<Engine>,
}

impl std::fmt::Debug for DurableKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.engine.shared.read();
        f.debug_struct("DurableKv").field("revision", &st.visible).finish()
    }
}

impl DurableKv {
    /// Opens (or creates) the store in `dir`: loads the newest intact snapshot, replays the log
    /// after it (cutting off a torn tail), and starts the log writer thread and, on `spawn`, the
    /// lease expiry task. Blocks while it reads the files.
    ///
    /// # Errors
    /// `Corrupt { file, offset, reason }` for damage before the log's tail (never served);
    /// `Storage` for I/O errors.
    pub fn open(
        dir: impl AsRef<Path>,
        config: DurableKvConfig,
        clock: Arc<dyn Clock>,
        spawn: Arc<dyn Spawn>,
        fs: Arc<dyn DurableFs>,
    ) -> Result<DurableKv, KvError> {
        let (wake_tx, wake_rx) = mpsc::channel(0);
        let engine = Arc::new(Engine::open(dir.as_ref(), config, clock, fs, wake_tx)?);
        spawn.spawn_boxed("durable-kv-lease-expiry", Box::pin(lease_expiry::run(Arc::downgrade(&engine), wake_rx)));
        Ok(DurableKv { engine })
    }

    /// Opens the store in `dir` on the real file system, the system clock and the current tokio
    /// runtime, with the default configuration.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    ///
    /// # Panics
    /// Outside a tokio runtime.
    ///
    /// ```
    /// use orch_store::durable::DurableKv;
    /// use orch_store::kv::{KvStore, PutRequest};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), orch_store::KvError> {
    /// let dir = std::env::temp_dir().join(format!("orch-durable-doc-{}", std::process::id()));
    /// let kv = DurableKv::open_default(&dir)?;
    /// assert_eq!(kv.put(PutRequest::new("k", "v")).await?.revision, 2);
    /// kv.close();
    /// std::fs::remove_dir_all(&dir).ok();
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "tokio")]
    pub fn open_default(dir: impl AsRef<Path>) -> Result<DurableKv, KvError> {
        use orch_core::runtime::{SystemClock, TokioSpawn};
        Self::open(
            dir,
            DurableKvConfig::default(),
            Arc::new(SystemClock),
            Arc::new(TokioSpawn::current()),
            Arc::new(super::OsFs),
        )
    }

    /// Stops the store: later calls fail with `Unavailable`, watches end, a running snapshot
    /// finishes, and everything queued is written and synced before this returns.
    pub fn close(&self) {
        self.engine.close();
    }
}

fn mismatch() -> KvError {
    KvError::Unavailable { reason: "internal error: response of the wrong kind".into() }
}

#[async_trait]
impl KvStore for DurableKv {
    async fn range(&self, req: RangeRequest) -> Result<RangeResponse, KvError> {
        self.engine.range(req)
    }

    async fn put(&self, req: PutRequest) -> Result<PutResponse, KvError> {
        match self.engine.write(WriteRequest::Put(req)).await? {
            WriteResponse::Put(r) => Ok(r),
            _ => Err(mismatch()),
        }
    }

    async fn delete(&self, req: DeleteRequest) -> Result<DeleteResponse, KvError> {
        match self.engine.write(WriteRequest::Delete(req)).await? {
            WriteResponse::Delete(r) => Ok(r),
            _ => Err(mismatch()),
        }
    }

    async fn txn(&self, req: TxnRequest) -> Result<TxnResponse, KvError> {
        match self.engine.write(WriteRequest::Txn(req)).await? {
            WriteResponse::Txn(r) => Ok(r),
            _ => Err(mismatch()),
        }
    }

    async fn watch(&self, req: WatchRequest) -> Result<KvWatchStream, KvError> {
        watch::open(&self.engine, req)
    }

    async fn lease_grant(&self, ttl: Duration, id: i64) -> Result<LeaseGrant, KvError> {
        self.engine.lease_grant(ttl, id).await
    }

    async fn lease_keep_alive(&self, id: i64) -> Result<i64, KvError> {
        self.engine.lease_keep_alive(id)
    }

    async fn lease_revoke(&self, id: i64) -> Result<(), KvError> {
        self.engine.write(WriteRequest::LeaseRevoke { id }).await.map(drop)
    }

    async fn compact(&self, revision: i64) -> Result<(), KvError> {
        self.engine.compact(revision).await
    }

    async fn status(&self) -> Result<KvStatus, KvError> {
        self.engine.status()
    }
}
