//! `Engine`: the MVCC core plus the write-ahead log; writes are acknowledged once durable and
//! become visible to readers and watchers, in revision order, only then.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use futures::channel::mpsc;
use orch_core::runtime::Clock;

use super::codec::WalEntry;
use super::config::DurableKvConfig;
use super::fs::DurableFs;
use super::recovery;
use super::snapshot::{self, Snapshot};
use super::wal::{Wal, WalOptions};
use crate::kv::{KvError, KvStatus, LeaseGrant, RangeRequest, RangeResponse};
use crate::mvcc::{MvccCore, WriteRequest, WriteResponse};

/// State guarded by one lock: the core and what of it is durable.
pub(crate) struct State {
    pub core: MvccCore,
    /// Highest revision whose log record is durable: reads and watches see up to here.
    pub visible: i64,
    /// `(log index, revision)` of records written to the core but not yet durable, in order.
    pending: VecDeque<(u64, i64)>,
    /// Log index the newest snapshot (taken or in progress) ends at.
    snapshot_index: u64,
    /// Set after a log failure or close: every later call fails with it.
    failed: Option<KvError>,
}

impl State {
    /// The failure (or close) that stops the store, if any.
    pub fn failed(&self) -> Option<&KvError> {
        self.failed.as_ref()
    }
}

/// What the log writer thread shares with the store: the state and the watchers to wake.
pub(crate) struct Shared {
    pub state: RwLock<State>,
    /// One wake-up channel per watch stream.
    pub watchers: Mutex<Vec<mpsc::Sender<()>>>,
}

impl Shared {
    pub fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Called by the log writer once every record up to `index` is durable.
    fn made_durable(&self, index: u64) {
        let mut st = self.write();
        while let Some(&(i, revision)) = st.pending.front() {
            if i > index {
                break;
            }
            st.visible = st.visible.max(revision);
            st.pending.pop_front();
        }
        drop(st);
        let mut watchers = self.watchers.lock().unwrap_or_else(|e| e.into_inner());
        watchers.retain_mut(|tx| match tx.try_send(()) {
            Ok(()) => true,
            Err(e) => !e.is_disconnected(),
        });
    }
}

/// The store behind a [`DurableKv`](super::DurableKv) handle.
pub(crate) struct Engine {
    pub shared: Arc<Shared>,
    wal: Wal,
    fs: Arc<dyn DurableFs>,
    dir: PathBuf,
    pub config: DurableKvConfig,
    pub clock: Arc<dyn Clock>,
    snapshotter: Mutex<Option<JoinHandle<()>>>,
    /// Wakes the lease expiry task after a grant.
    pub lease_wake: Mutex<mpsc::Sender<()>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Engine {
    /// Recovers the state in `dir` and starts the log writer.
    pub fn open(
        dir: &Path,
        config: DurableKvConfig,
        clock: Arc<dyn Clock>,
        fs: Arc<dyn DurableFs>,
        lease_wake: mpsc::Sender<()>,
    ) -> Result<Engine, KvError> {
        let restored = recovery::restore(&*fs, dir, config.mvcc, clock.now())?;
        let visible = restored.core.revision();
        let state = State {
            core: restored.core,
            visible,
            pending: VecDeque::new(),
            snapshot_index: restored.snapshot_index,
            failed: None,
        };
        let shared = Arc::new(Shared { state: RwLock::new(state), watchers: Mutex::new(Vec::new()) });
        let hook = shared.clone();
        let opts = WalOptions { segment_bytes: config.segment_bytes.max(1), fsync: config.fsync };
        let wal = Wal::start(fs.clone(), dir, restored.log, opts, Box::new(move |i| hook.made_durable(i)))?;
        wal.release_through(restored.snapshot_index)?;
        Ok(Engine {
            shared,
            wal,
            fs,
            dir: dir.to_path_buf(),
            config,
            clock,
            snapshotter: Mutex::new(None),
            lease_wake: Mutex::new(lease_wake),
        })
    }

    /// Validates and applies a write to the core, logs it in the same order, and returns the
    /// response once it (and everything before it) is durable.
    pub async fn write(&self, req: WriteRequest) -> Result<WriteResponse, KvError> {
        let payload = WalEntry::Write(req.clone()).encode();
        let (response, wait_for) = {
            let mut st = self.shared.write();
            check(&st)?;
            let applied = st.core.apply(req)?;
            let wait_for = if applied.changes.is_empty() {
                // Nothing to log, but the answer may depend on writes not yet durable.
                self.wal.last_index()
            } else {
                let index = self.append(&mut st, &payload)?;
                st.pending.push_back((index, applied.revision));
                self.after_write(&mut st);
                index
            };
            (applied.response, wait_for)
        };
        self.wait(wait_for).await?;
        Ok(response)
    }

    /// Grants a lease and logs it; resolves once durable.
    pub async fn lease_grant(&self, ttl: Duration, id: i64) -> Result<LeaseGrant, KvError> {
        let now = self.clock.now();
        let (grant, index) = {
            let mut st = self.shared.write();
            check(&st)?;
            let grant = st.core.lease_grant(id, ttl, now)?;
            let index = self.append(&mut st, &WalEntry::LeaseGrant { id: grant.id, ttl }.encode())?;
            (grant, index)
        };
        let _ = lock(&self.lease_wake).try_send(());
        self.wait(index).await?;
        Ok(grant)
    }

    /// Renews a lease (in memory only: after a restart every lease gets its full TTL, as in etcd).
    pub fn lease_keep_alive(&self, id: i64) -> Result<i64, KvError> {
        let now = self.clock.now();
        let mut st = self.shared.write();
        check(&st)?;
        st.core.lease_keep_alive(id, now)
    }

    /// Compacts at `revision` (at most the visible revision) and logs it.
    pub async fn compact(&self, revision: i64) -> Result<(), KvError> {
        let index = {
            let mut st = self.shared.write();
            check(&st)?;
            if revision > st.visible {
                return Err(KvError::FutureRevision { requested: revision, current: st.visible });
            }
            st.core.compact(revision)?;
            self.append(&mut st, &WalEntry::Compact { revision }.encode())?
        };
        self.wait(index).await
    }

    /// Reads at the visible revision (or an older one).
    pub fn range(&self, req: RangeRequest) -> Result<RangeResponse, KvError> {
        let st = self.shared.read();
        check(&st)?;
        let revision = match req.revision {
            0 => st.visible,
            r if r > st.visible => return Err(KvError::FutureRevision { requested: r, current: st.visible }),
            r => r,
        };
        let mut resp = st.core.range(&req.at_revision(revision))?;
        resp.revision = st.visible;
        Ok(resp)
    }

    /// The visible and compaction revisions.
    pub fn status(&self) -> Result<KvStatus, KvError> {
        let st = self.shared.read();
        check(&st)?;
        Ok(KvStatus { revision: st.visible, compact_revision: st.core.compact_revision() })
    }

    fn append(&self, st: &mut State, payload: &[u8]) -> Result<u64, KvError> {
        self.wal.append(payload).inspect_err(|e| {
            // The core is now ahead of the log: refuse everything from here on.
            st.failed = Some(e.clone());
        })
    }

    async fn wait(&self, index: u64) -> Result<(), KvError> {
        match self.wal.wait(index).await {
            Ok(result) => result,
            Err(_) => Err(KvError::Unavailable { reason: "store closed".into() }),
        }
    }

    /// Automatic compaction and snapshots, after a logged write (under the state lock). Never
    /// fails the write that triggered it: a log failure here poisons the store (see `append`),
    /// which that write's wait then reports.
    fn after_write(&self, st: &mut State) {
        let window = self.config.compaction_window;
        if window > 0 {
            let target = st.visible - window;
            let slack = (window / 8).max(1);
            if target >= st.core.compact_revision() + slack && st.core.compact(target).is_ok() {
                let _ = self.append(st, &WalEntry::Compact { revision: target }.encode());
            }
        }
        let last = self.wal.last_index();
        if last.saturating_sub(st.snapshot_index) >= self.config.snapshot_interval.max(1) {
            let mut running = lock(&self.snapshotter);
            if running.as_ref().is_none_or(|h| h.is_finished()) {
                let snap = Snapshot {
                    revision: st.core.revision(),
                    index: last,
                    kvs: st.core.snapshot().collect(),
                    leases: st.core.leases().map(|l| (l.id, l.ttl)).collect(),
                };
                st.snapshot_index = last;
                *running = Some(self.start_snapshot(snap));
            }
        }
    }

    /// Writes a snapshot on its own thread; once installed, drops the log segments it covers.
    fn start_snapshot(&self, snap: Snapshot) -> JoinHandle<()> {
        let (fs, dir) = (self.fs.clone(), self.dir.clone());
        let wait = self.wal.wait(snap.index);
        let releaser = self.wal.releaser();
        std::thread::spawn(move || {
            let installed = snapshot::write(&*fs, &dir, &snap, || {
                futures::executor::block_on(wait).unwrap_or(Err(KvError::Unavailable { reason: "closed".into() }))
            });
            if installed.is_ok() {
                // Failing to delete old segments only costs disk; the next snapshot retries.
                let _ = releaser.release_through(snap.index);
            }
        })
    }

    /// Stops accepting calls, waits for a running snapshot, and flushes and stops the log.
    pub fn close(&self) {
        {
            let mut st = self.shared.write();
            if st.failed.is_none() {
                st.failed = Some(KvError::Unavailable { reason: "store closed".into() });
            }
        }
        if let Some(h) = lock(&self.snapshotter).take() {
            let _ = h.join();
        }
        self.wal.close();
        lock(&self.shared.watchers).clear();
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.close();
    }
}

fn check(st: &State) -> Result<(), KvError> {
    match &st.failed {
        Some(e) => Err(e.clone()),
        None => Ok(()),
    }
}
