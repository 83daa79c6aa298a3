//! `MemKvConfig`: limits, automatic compaction and watch buffering of `MemKv`.

use std::time::Duration;

/// Configuration of [`MemKv`](super::MemKv).
///
/// Automatic compaction keeps history only as far back as *both* windows allow: at most
/// `keep_revisions` revisions and at most `keep_history_for` of time (`None` disables a window;
/// with both `None` history grows until [`compact`](crate::kv::KvStore::compact) is called).
///
/// ```
/// use std::time::Duration;
/// use orch_store::mem::MemKvConfig;
/// let c = MemKvConfig::default()
///     .max_value_size(64 * 1024)
///     .keep_revisions(Some(10_000))
///     .keep_history_for(Some(Duration::from_secs(60)))
///     .watch_buffer_events(256)
///     .progress_notify_interval(Duration::from_secs(1));
/// assert_eq!(c.watch_buffer_events, 256);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemKvConfig {
    /// Largest value accepted, in bytes (default 1.5 MiB, etcd's request limit).
    pub max_value_size: usize,
    /// Revisions of history kept by automatic compaction (default 100,000).
    pub keep_revisions: Option<i64>,
    /// Age of history kept by automatic compaction (default 5 minutes, Kubernetes' interval).
    pub keep_history_for: Option<Duration>,
    /// Events buffered per watcher before it falls back to catching up from history (default 1,024).
    pub watch_buffer_events: usize,
    /// Most events one catch-up step reads from history for one watcher (default 1,024).
    pub watch_catch_up_events: usize,
    /// How often idle watchers that asked for it get a progress notification (default 10 minutes, as etcd).
    pub progress_notify_interval: Duration,
}

impl Default for MemKvConfig {
    fn default() -> Self {
        MemKvConfig {
            max_value_size: 1536 * 1024,
            keep_revisions: Some(100_000),
            keep_history_for: Some(Duration::from_secs(300)),
            watch_buffer_events: 1024,
            watch_catch_up_events: 1024,
            progress_notify_interval: Duration::from_secs(600),
        }
    }
}

impl MemKvConfig {
    /// Sets the largest value accepted.
    pub fn max_value_size(mut self, bytes: usize) -> Self {
        self.max_value_size = bytes;
        self
    }

    /// Sets the revision window of automatic compaction (`None`: no limit by revisions).
    pub fn keep_revisions(mut self, revisions: Option<i64>) -> Self {
        self.keep_revisions = revisions;
        self
    }

    /// Sets the time window of automatic compaction (`None`: no limit by time).
    pub fn keep_history_for(mut self, window: Option<Duration>) -> Self {
        self.keep_history_for = window;
        self
    }

    /// Turns automatic compaction off.
    pub fn no_auto_compaction(self) -> Self {
        self.keep_revisions(None).keep_history_for(None)
    }

    /// Sets the per-watcher event buffer.
    pub fn watch_buffer_events(mut self, events: usize) -> Self {
        self.watch_buffer_events = events.max(1);
        self
    }

    /// Sets the events read per catch-up step.
    pub fn watch_catch_up_events(mut self, events: usize) -> Self {
        self.watch_catch_up_events = events.max(1);
        self
    }

    /// Sets the progress notification interval.
    pub fn progress_notify_interval(mut self, interval: Duration) -> Self {
        self.progress_notify_interval = interval;
        self
    }
}
