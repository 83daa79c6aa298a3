//! `DurableKvConfig`: where and how `DurableKv` keeps its files.

use std::time::Duration;

use crate::mvcc::MvccConfig;

/// Settings of a [`DurableKv`](super::DurableKv): plain data with by-value builders (the
/// directory is an argument of [`DurableKv::open`](super::DurableKv::open)).
///
/// ```
/// use orch_store::durable::DurableKvConfig;
/// let c = DurableKvConfig::default()
///     .segment_bytes(16 << 20)
///     .snapshot_every(50_000)
///     .compaction_window(100_000);
/// assert!(c.fsync, "durability is on unless turned off for a benchmark");
/// assert_eq!(c.snapshot_interval, 50_000);
/// ```
#[derive(Clone, Debug)]
pub struct DurableKvConfig {
    /// Start a new log segment once the current one reaches this many bytes (default 64 MiB).
    pub segment_bytes: u64,
    /// Take a snapshot (and drop the log before it) every this many log records (default 10,000).
    pub snapshot_interval: u64,
    /// fdatasync before acknowledging (default on). Off only for benchmarks: acknowledged writes
    /// may then be lost on power failure.
    pub fsync: bool,
    /// Keep this many revisions of history; older ones are compacted automatically
    /// (default 10,000; 0 turns automatic compaction off).
    pub compaction_window: i64,
    /// Idle interval between progress notifications to watches that ask for them (default 5 s).
    pub progress_interval: Duration,
    /// Limits of the MVCC core (largest value).
    pub mvcc: MvccConfig,
}

impl Default for DurableKvConfig {
    fn default() -> Self {
        DurableKvConfig {
            segment_bytes: 64 << 20,
            snapshot_interval: 10_000,
            fsync: true,
            compaction_window: 10_000,
            progress_interval: Duration::from_secs(5),
            mvcc: MvccConfig::default(),
        }
    }
}

impl DurableKvConfig {
    /// Sets the segment size in bytes.
    pub fn segment_bytes(mut self, bytes: u64) -> Self {
        self.segment_bytes = bytes;
        self
    }
    /// Sets the snapshot interval in log records.
    pub fn snapshot_every(mut self, records: u64) -> Self {
        self.snapshot_interval = records;
        self
    }
    /// Turns fdatasync on or off (off for benchmarks only).
    pub fn fsync(mut self, on: bool) -> Self {
        self.fsync = on;
        self
    }
    /// Sets the automatic compaction window in revisions (0: off).
    pub fn compaction_window(mut self, revisions: i64) -> Self {
        self.compaction_window = revisions;
        self
    }
    /// Sets the progress notification interval.
    pub fn progress_interval(mut self, every: Duration) -> Self {
        self.progress_interval = every;
        self
    }
    /// Sets the MVCC core's limits.
    pub fn mvcc(mut self, mvcc: MvccConfig) -> Self {
        self.mvcc = mvcc;
        self
    }
}
