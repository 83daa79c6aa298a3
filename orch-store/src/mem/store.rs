//! `MemKv`: the in-memory `KvStore`, an `MvccCore` behind a reader-writer lock plus a watcher hub.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError};
use std::time::Duration;

use async_trait::async_trait;
use futures::channel::mpsc;
use orch_core::runtime::{Clock, Spawn};

use super::compactor::AutoCompactor;
use super::hub::{Hub, WatcherCell, lock};
use super::stream::MemWatchStream;
use super::{MemKvConfig, tasks};
use crate::kv::{
    DeleteRequest, DeleteResponse, KvError, KvStatus, KvStore, KvWatchStream, LeaseGrant, PutRequest, PutResponse,
    RangeRequest, RangeResponse, TxnRequest, TxnResponse, WatchRequest,
};
use crate::mvcc::{Change, MvccConfig, MvccCore, WriteRequest, WriteResponse};

/// The in-memory [`KvStore`]: etcd v3 semantics, fast, nothing on disk. The default backend.
///
/// # Concurrency
/// The MVCC state sits behind a reader-writer lock held only for the state change itself
/// (reads share it). Watchers are notified after it is released, through a hub whose lock
/// writers only ever *try* to take: a writer that finds the hub busy leaves its events queued
/// for the current holder, so a writer never waits for watchers. Each watcher has a bounded
/// buffer; one that fills moves to the unsynced group and later catches up from history when
/// its consumer polls, or fails with `Compacted` if that history is gone.
///
/// # Background work
/// A task started on the given [`Spawn`] with the first lease revokes expired leases (their
/// keys are deleted, watchers see the deletes); another, started with the first watcher that
/// asks for progress notifications, sends them. Both end when the store is dropped.
///
/// ```
/// use std::sync::Arc;
/// use futures::StreamExt;
/// use orch_core::runtime::{DeterministicExecutor, ManualClock};
/// use orch_store::kv::{KvStore, PutRequest, RangeRequest, WatchMessage, WatchRequest};
/// use orch_store::mem::{MemKv, MemKvConfig};
///
/// let exec = DeterministicExecutor::new();
/// let kv = MemKv::with_runtime(MemKvConfig::default(), Arc::new(ManualClock::new()), Arc::new(exec.clone()));
/// exec.block_on(async {
///     let mut watch = kv.watch(WatchRequest::prefix("/a/")).await?;
///     let put = kv.put(PutRequest::new("/a/x", "1")).await?;
///     assert_eq!(put.revision, 2);
///     let Some(Ok(WatchMessage::Events(events))) = watch.next().await else { panic!("no events") };
///     assert_eq!(events[0].kv.value, "1");
///     assert_eq!(kv.range(RangeRequest::prefix("/a/")).await?.count, 1);
///     Ok::<(), orch_store::kv::KvError>(())
/// })?;
/// # Ok::<(), orch_store::kv::KvError>(())
/// ```
#[derive(Clone)]
pub struct MemKv {
    shared: Arc<Shared>,
}

/// Counters of a [`MemKv`], for tests and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemKvStats {
    /// The current revision.
    pub revision: i64,
    /// The compaction revision.
    pub compact_revision: i64,
    /// Versions held in history (the revision log).
    pub history_len: usize,
    /// Open watchers.
    pub watchers: usize,
    /// Watchers behind, catching up from history.
    pub unsynced_watchers: usize,
}

pub(crate) struct State {
    pub core: MvccCore,
    compactor: AutoCompactor,
}

pub(crate) struct Shared {
    state: RwLock<State>,
    /// One entry per revision written while watchers exist, waiting to be dispatched in order.
    pending: Mutex<VecDeque<Vec<Change>>>,
    hub: Mutex<Hub>,
    watcher_count: AtomicUsize,
    pub config: MemKvConfig,
    pub clock: Arc<dyn Clock>,
    spawn: Arc<dyn Spawn>,
    lease_wake: Mutex<Option<mpsc::Sender<()>>>,
    progress_started: AtomicBool,
}

impl MemKv {
    /// A store on the given clock and executor (deterministic tests use `ManualClock` and
    /// `DeterministicExecutor`).
    pub fn with_runtime(config: MemKvConfig, clock: Arc<dyn Clock>, spawn: Arc<dyn Spawn>) -> Self {
        let core = MvccCore::new(MvccConfig::default().max_value_size(config.max_value_size));
        let compactor = AutoCompactor::new(config.keep_revisions, config.keep_history_for);
        MemKv {
            shared: Arc::new(Shared {
                state: RwLock::new(State { core, compactor }),
                pending: Mutex::new(VecDeque::new()),
                hub: Mutex::new(Hub::default()),
                watcher_count: AtomicUsize::new(0),
                config,
                clock,
                spawn,
                lease_wake: Mutex::new(None),
                progress_started: AtomicBool::new(false),
            }),
        }
    }

    /// A store with the default configuration on the system clock and the current tokio runtime.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use orch_store::kv::{KvStore, PutRequest};
    /// let kv = orch_store::mem::MemKv::new();
    /// assert_eq!(kv.put(PutRequest::new("k", "v")).await.unwrap().revision, 2);
    /// # }
    /// ```
    #[cfg(feature = "tokio")]
    pub fn new() -> Self {
        Self::with_config(MemKvConfig::default())
    }

    /// A store with `config` on the system clock and the current tokio runtime.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    #[cfg(feature = "tokio")]
    pub fn with_config(config: MemKvConfig) -> Self {
        use orch_core::runtime::{SystemClock, TokioSpawn};
        Self::with_runtime(config, Arc::new(SystemClock), Arc::new(TokioSpawn::current()))
    }

    /// Current counters.
    pub fn stats(&self) -> MemKvStats {
        let (watchers, unsynced_watchers) = {
            let hub = lock(&self.shared.hub);
            (hub.len(), hub.unsynced_len())
        };
        let st = self.shared.read();
        MemKvStats {
            revision: st.core.revision(),
            compact_revision: st.core.compact_revision(),
            history_len: st.core.history_len(),
            watchers,
            unsynced_watchers,
        }
    }

    /// Revokes every lease whose deadline has passed (the background task does this on its
    /// own; this is for callers driving time by hand).
    pub fn expire_leases(&self) {
        self.shared.expire_leases();
    }
}

/// The same as [`MemKv::new`].
///
/// # Panics
/// Outside a tokio runtime.
#[cfg(feature = "tokio")]
impl Default for MemKv {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for MemKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemKv").field("stats", &self.stats()).finish()
    }
}

impl Shared {
    pub fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_lock(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies a write, then hands its events to the watchers without waiting for them.
    pub fn write(&self, req: WriteRequest) -> Result<WriteResponse, KvError> {
        let mut st = self.write_lock();
        let now = st.compactor.needs_time().then(|| self.clock.now());
        let applied = st.core.apply(req)?;
        if applied.changes.is_empty() {
            return Ok(applied.response);
        }
        let queued = self.watcher_count.load(Ordering::SeqCst) > 0;
        if queued {
            lock(&self.pending).push_back(applied.changes);
        }
        let (revision, compacted) = (st.core.revision(), st.core.compact_revision());
        if let Some(target) = st.compactor.after_write(now, revision, compacted) {
            let _ = st.core.compact(target); // target is in (compacted, revision]: cannot fail
        }
        drop(st);
        if queued {
            self.notify();
        }
        Ok(applied.response)
    }

    /// Dispatches queued revisions if the hub is free; if it is busy, its holder will.
    fn notify(&self) {
        loop {
            let mut hub = match self.hub.try_lock() {
                Ok(hub) => hub,
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
                Err(TryLockError::WouldBlock) => return,
            };
            self.drain(&mut hub);
            drop(hub);
            if lock(&self.pending).is_empty() {
                return;
            }
        }
    }

    fn drain(&self, hub: &mut Hub) {
        loop {
            let Some(changes) = lock(&self.pending).pop_front() else { return };
            hub.dispatch(&changes, self.config.watch_buffer_events);
        }
    }

    /// Runs `f` on the hub, then dispatches whatever writers queued meanwhile.
    fn with_hub<R>(&self, f: impl FnOnce(&mut Hub) -> R) -> R {
        let r = f(&mut lock(&self.hub));
        self.notify();
        r
    }

    pub fn add_watcher(self: &Arc<Self>, req: WatchRequest) -> Result<Arc<WatcherCell>, KvError> {
        if req.range.start.is_empty() && req.range.end.is_empty() {
            return Err(KvError::InvalidRequest { reason: "watch key must not be empty".into() });
        }
        if req.start_revision < 0 {
            return Err(KvError::InvalidRequest {
                reason: format!("start revision {} is negative", req.start_revision),
            });
        }
        let cell = self.with_hub(|hub| {
            // Holding the state lock: no write is in flight, so after draining the queue every
            // revision up to the current one has been offered to the synced group.
            let st = self.read();
            self.drain(hub);
            let (current, compacted) = (st.core.revision(), st.core.compact_revision());
            hub.notified = current;
            if req.start_revision != 0 && req.start_revision < compacted {
                return Err(KvError::Compacted { requested: req.start_revision, compacted });
            }
            let start = if req.start_revision == 0 { current + 1 } else { req.start_revision };
            self.watcher_count.fetch_add(1, Ordering::SeqCst);
            Ok(hub.add(req.range, start, req.prev_kv, req.progress_notify))
        })?;
        if req.progress_notify && !self.progress_started.swap(true, Ordering::SeqCst) {
            tasks::start_progress(self);
        }
        Ok(cell)
    }

    pub fn remove_watcher(&self, cell: &WatcherCell) {
        if self.with_hub(|hub| hub.remove(cell)) {
            self.watcher_count.fetch_sub(1, Ordering::SeqCst);
        }
    }

    pub fn catch_up(&self, cell: &WatcherCell) -> Result<Vec<crate::kv::KvEvent>, KvError> {
        let max = self.config.watch_catch_up_events;
        self.with_hub(|hub| hub.catch_up(&self.read().core, cell, max))
    }

    pub fn progress_tick(&self) {
        self.with_hub(Hub::progress_tick);
    }

    pub fn expire_leases(&self) {
        let expired = self.read().core.expired_leases(self.clock.now());
        for id in expired {
            // LeaseNotFound means someone revoked it meanwhile: nothing left to do.
            let _ = self.write(WriteRequest::LeaseRevoke { id });
        }
    }

    fn wake_lease_task(self: &Arc<Self>) {
        let mut wake = lock(&self.lease_wake);
        match wake.as_mut() {
            Some(tx) => {
                let _ = tx.try_send(()); // full: a wake-up is already pending
            }
            None => *wake = Some(tasks::start_lease_expiry(self)),
        }
    }

    pub fn spawn(&self) -> &dyn Spawn {
        &*self.spawn
    }
}

fn unexpected(what: &str) -> KvError {
    KvError::Unavailable { reason: format!("internal error: unexpected response to {what}") }
}

#[async_trait]
impl KvStore for MemKv {
    async fn range(&self, req: RangeRequest) -> Result<RangeResponse, KvError> {
        self.shared.read().core.range(&req)
    }

    async fn put(&self, req: PutRequest) -> Result<PutResponse, KvError> {
        match self.shared.write(WriteRequest::Put(req))? {
            WriteResponse::Put(r) => Ok(r),
            _ => Err(unexpected("put")),
        }
    }

    async fn delete(&self, req: DeleteRequest) -> Result<DeleteResponse, KvError> {
        match self.shared.write(WriteRequest::Delete(req))? {
            WriteResponse::Delete(r) => Ok(r),
            _ => Err(unexpected("delete")),
        }
    }

    async fn txn(&self, req: TxnRequest) -> Result<TxnResponse, KvError> {
        match self.shared.write(WriteRequest::Txn(req))? {
            WriteResponse::Txn(r) => Ok(r),
            _ => Err(unexpected("txn")),
        }
    }

    async fn watch(&self, req: WatchRequest) -> Result<KvWatchStream, KvError> {
        let cell = self.shared.add_watcher(req)?;
        Ok(Box::pin(MemWatchStream { shared: self.shared.clone(), cell, done: false }))
    }

    async fn lease_grant(&self, ttl: Duration, id: i64) -> Result<LeaseGrant, KvError> {
        let now = self.shared.clock.now();
        let grant = self.shared.write_lock().core.lease_grant(id, ttl, now)?;
        self.shared.wake_lease_task();
        Ok(grant)
    }

    async fn lease_keep_alive(&self, id: i64) -> Result<i64, KvError> {
        let now = self.shared.clock.now();
        self.shared.write_lock().core.lease_keep_alive(id, now)
    }

    async fn lease_revoke(&self, id: i64) -> Result<(), KvError> {
        self.shared.write(WriteRequest::LeaseRevoke { id }).map(|_| ())
    }

    async fn compact(&self, revision: i64) -> Result<(), KvError> {
        self.shared.write_lock().core.compact(revision)
    }

    async fn status(&self) -> Result<KvStatus, KvError> {
        let st = self.shared.read();
        Ok(KvStatus { revision: st.core.revision(), compact_revision: st.core.compact_revision() })
    }
}
