//! `Wal`: the write-ahead log with pipelined group commit.
//!
//! Writers call [`Wal::append`], which frames the record into the pending batch and returns its
//! index, then await [`Wal::wait`] for it. One writer thread loops: take the whole pending batch,
//! write it with one `write`, issue one `fdatasync`, report the new durable index, then ack every
//! record of the batch. While it waits for the sync, new records gather in the next batch, so one
//! sync serves every writer that arrived meanwhile and throughput grows with concurrency.
//!
//! ```text
//! writers:  a b c   d e f g h          i
//! batch:   [a b c]-write-sync-ack [d e f g h]-write-sync-ack [i]...
//! ```
//!
//! A record is acknowledged only after the sync that covered it returned `Ok`. After a failed
//! write or sync the log is poisoned: the failed batch, everything queued and every later append
//! fail, since what reached the disk is unknown (what is known to be durable stays so).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use futures::channel::oneshot;

use super::fs::{DurableFile, DurableFs};
use super::record;
use super::segment::{Recovered, Segment, storage};
use crate::kv::KvError;

/// Resolves `Ok` once a record is durable, `Err` if the log failed first.
pub(crate) type Ack = oneshot::Receiver<Result<(), KvError>>;

/// Called by the writer thread with the highest durable index, before the batch is acked.
pub(crate) type OnDurable = Box<dyn Fn(u64) + Send>;

/// Settings of the log.
#[derive(Clone, Debug)]
pub(crate) struct WalOptions {
    /// Start a new segment once the current one is at least this long.
    pub segment_bytes: u64,
    /// Issue fdatasync (off only for benchmarks: acks then mean "written", not "durable").
    pub fsync: bool,
}

struct Queue {
    batch: Vec<u8>,
    next_index: u64,
    closed: bool,
    failed: Option<KvError>,
}

/// The durable watermark and who waits for it.
struct Durable {
    index: u64,
    failed: Option<KvError>,
    waiters: BTreeMap<u64, Vec<oneshot::Sender<Result<(), KvError>>>>,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    durable: Mutex<Durable>,
    /// Segments on disk, in order; the last is being appended to.
    segments: Mutex<Vec<Segment>>,
    fs: Arc<dyn DurableFs>,
    dir: PathBuf,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The write-ahead log: appends, group commit on a thread, segment release after snapshots.
pub(crate) struct Wal {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// Deletes segments a snapshot covers; usable from another thread than the log's owner.
pub(crate) struct Releaser {
    shared: Arc<Shared>,
}

impl Wal {
    /// Starts the writer after recovery (see [`segment::recover`]).
    ///
    /// # Errors
    /// `Storage` when a new segment cannot be created or the last one opened.
    pub fn start(
        fs: Arc<dyn DurableFs>,
        dir: &Path,
        recovered: Recovered,
        opts: WalOptions,
        on_durable: OnDurable,
    ) -> Result<Wal, KvError> {
        let Recovered { mut segments, last_len, next_index, append_to_last } = recovered;
        let (file, len) = match segments.last() {
            Some(last) if append_to_last => {
                (fs.open_append(&last.path(dir)).map_err(|e| storage("open wal segment", e))?, last_len)
            }
            _ => {
                let seq = segments.last().map_or(0, |s| s.seq + 1);
                let seg = Segment { seq, first: next_index };
                let file = new_segment(&*fs, dir, &seg)?;
                segments.push(seg);
                (file, 0)
            }
        };
        let queue = Queue { batch: Vec::new(), next_index, closed: false, failed: None };
        let durable = Durable { index: next_index - 1, failed: None, waiters: BTreeMap::new() };
        let shared = Arc::new(Shared {
            queue: Mutex::new(queue),
            wake: Condvar::new(),
            durable: Mutex::new(durable),
            segments: Mutex::new(segments),
            fs,
            dir: dir.to_path_buf(),
        });
        let writer = Writer { shared: shared.clone(), file, len, opts, on_durable };
        let thread = std::thread::Builder::new()
            .name("orch-wal".into())
            .spawn(move || writer.run())
            .map_err(|e| storage("start wal thread", e))?;
        Ok(Wal { shared, thread: Mutex::new(Some(thread)) })
    }

    /// Queues `payload` as the next record; returns its index (wait for it with [`wait`](Self::wait)).
    ///
    /// Callers that need the log order to match some other order call this under their own lock.
    ///
    /// # Errors
    /// `Storage` once the log is poisoned; `Unavailable` once it is closed.
    pub fn append(&self, payload: &[u8]) -> Result<u64, KvError> {
        let mut q = lock(&self.shared.queue);
        if let Some(e) = &q.failed {
            return Err(e.clone());
        }
        if q.closed {
            return Err(KvError::Unavailable { reason: "store is closed".into() });
        }
        let index = q.next_index;
        q.next_index += 1;
        let mut body = Vec::with_capacity(8 + payload.len());
        body.extend_from_slice(&index.to_le_bytes());
        body.extend_from_slice(payload);
        record::encode(&mut q.batch, &body);
        drop(q);
        self.shared.wake.notify_one();
        Ok(index)
    }

    /// The index of the last record appended (0 before any).
    pub fn last_index(&self) -> u64 {
        lock(&self.shared.queue).next_index - 1
    }

    /// Resolves once every record up to `index` is durable (at once if already so).
    pub fn wait(&self, index: u64) -> Ack {
        let (tx, rx) = oneshot::channel();
        let mut d = lock(&self.shared.durable);
        if let Some(e) = &d.failed {
            let _ = tx.send(Err(e.clone()));
        } else if index <= d.index {
            let _ = tx.send(Ok(()));
        } else {
            d.waiters.entry(index).or_default().push(tx);
        }
        rx
    }

    /// Deletes every segment whose records all have index `<= through` (see [`Releaser`]).
    ///
    /// # Errors
    /// `Storage` when a removal or the directory sync fails.
    pub fn release_through(&self, through: u64) -> Result<(), KvError> {
        self.releaser().release_through(through)
    }

    /// A handle that deletes covered segments.
    pub fn releaser(&self) -> Releaser {
        Releaser { shared: self.shared.clone() }
    }

    /// Writes and syncs everything queued, then stops the writer thread.
    pub fn close(&self) {
        lock(&self.shared.queue).closed = true;
        self.shared.wake.notify_one();
        if let Some(t) = lock(&self.thread).take() {
            let _ = t.join();
        }
    }
}

impl Releaser {
    /// Deletes every segment whose records all have index `<= through` (a snapshot covers them).
    /// The segment being written is never deleted.
    ///
    /// # Errors
    /// `Storage` when a removal or the directory sync fails.
    pub fn release_through(&self, through: u64) -> Result<(), KvError> {
        let mut segs = lock(&self.shared.segments);
        let mut removed = 0;
        while segs.len() > 1 && segs[1].first <= through + 1 {
            let seg = segs.remove(0);
            self.shared.fs.remove(&seg.path(&self.shared.dir)).map_err(|e| storage("remove wal segment", e))?;
            removed += 1;
        }
        if removed > 0 {
            self.shared.fs.sync_dir(&self.shared.dir).map_err(|e| storage("sync wal directory", e))?;
        }
        Ok(())
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        self.close();
    }
}

fn new_segment(fs: &dyn DurableFs, dir: &Path, seg: &Segment) -> Result<Box<dyn DurableFile>, KvError> {
    let file = fs.create(&seg.path(dir)).map_err(|e| storage("create wal segment", e))?;
    // The new name must be durable before any record in it is acknowledged.
    fs.sync_dir(dir).map_err(|e| storage("sync wal directory", e))?;
    Ok(file)
}

struct Writer {
    shared: Arc<Shared>,
    file: Box<dyn DurableFile>,
    len: u64,
    opts: WalOptions,
    on_durable: OnDurable,
}

impl Writer {
    fn run(mut self) {
        let mut spare = Vec::new();
        loop {
            let (batch, last_index) = {
                let mut q = lock(&self.shared.queue);
                while q.batch.is_empty() && !q.closed {
                    q = self.shared.wake.wait(q).unwrap_or_else(|e| e.into_inner());
                }
                if q.batch.is_empty() {
                    return;
                }
                let last = q.next_index - 1;
                (std::mem::replace(&mut q.batch, std::mem::take(&mut spare)), last)
            };
            match self.commit(&batch, last_index) {
                Ok(()) => {
                    (self.on_durable)(last_index);
                    let mut d = lock(&self.shared.durable);
                    d.index = last_index;
                    let later = d.waiters.split_off(&(last_index + 1));
                    let done = std::mem::replace(&mut d.waiters, later);
                    drop(d);
                    for tx in done.into_values().flatten() {
                        let _ = tx.send(Ok(()));
                    }
                }
                Err(e) => {
                    lock(&self.shared.queue).failed = Some(e.clone());
                    let mut d = lock(&self.shared.durable);
                    d.failed = Some(e.clone());
                    let all = std::mem::take(&mut d.waiters);
                    drop(d);
                    for tx in all.into_values().flatten() {
                        let _ = tx.send(Err(e.clone()));
                    }
                    return;
                }
            }
            spare = batch;
            spare.clear();
        }
    }

    /// Writes one batch, syncs it, and rotates the segment when it is full.
    fn commit(&mut self, batch: &[u8], last_index: u64) -> Result<(), KvError> {
        self.file.write_all(batch).map_err(|e| storage("write wal", e))?;
        if self.opts.fsync {
            self.file.sync_data().map_err(|e| storage("fdatasync wal", e))?;
        }
        self.len += batch.len() as u64;
        if self.len >= self.opts.segment_bytes {
            let first = last_index + 1;
            let mut segs = lock(&self.shared.segments);
            let seq = segs.last().map_or(0, |s| s.seq + 1);
            let seg = Segment { seq, first };
            self.file = new_segment(&*self.shared.fs, &self.shared.dir, &seg)?;
            segs.push(seg);
            self.len = 0;
        }
        Ok(())
    }
}
