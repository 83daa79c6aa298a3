//! Counters of a work queue and its reconciles, readable as a snapshot or Prometheus text.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Live counters; shared by a queue and the controller running it.
#[derive(Debug, Default)]
pub struct QueueMetrics {
    adds: AtomicU64,
    retries: AtomicU64,
    reconciles: AtomicU64,
    errors: AtomicU64,
    timeouts: AtomicU64,
    latency_nanos: AtomicU64,
    max_latency_nanos: AtomicU64,
}

/// A point-in-time copy of [`QueueMetrics`] plus the queue depth.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Keys waiting to be processed now.
    pub depth: u64,
    /// Keys queued (not counting ones already waiting).
    pub adds: u64,
    /// Keys re-queued with backoff after a failure.
    pub retries: u64,
    /// Reconciles finished (successfully or not).
    pub reconciles: u64,
    /// Reconciles that failed (including timeouts).
    pub errors: u64,
    /// Reconciles cut off by the reconcile timeout.
    pub timeouts: u64,
    /// Sum of reconcile latencies.
    pub latency_total: Duration,
    /// Longest reconcile.
    pub latency_max: Duration,
}

impl QueueMetrics {
    pub(crate) fn add(&self) {
        self.adds.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }
    /// Records one finished reconcile.
    pub fn reconciled(&self, latency: Duration, failed: bool, timed_out: bool) {
        self.reconciles.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        if timed_out {
            self.timeouts.fetch_add(1, Ordering::Relaxed);
        }
        let n = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        self.latency_nanos.fetch_add(n, Ordering::Relaxed);
        self.max_latency_nanos.fetch_max(n, Ordering::Relaxed);
    }

    /// A copy of the counters with the given depth.
    pub fn snapshot(&self, depth: usize) -> MetricsSnapshot {
        MetricsSnapshot {
            depth: depth as u64,
            adds: self.adds.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            reconciles: self.reconciles.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
            latency_total: Duration::from_nanos(self.latency_nanos.load(Ordering::Relaxed)),
            latency_max: Duration::from_nanos(self.max_latency_nanos.load(Ordering::Relaxed)),
        }
    }
}

impl MetricsSnapshot {
    /// The counters in Prometheus text exposition form, labelled with the controller name.
    ///
    /// ```
    /// use orch_controllers::MetricsSnapshot;
    /// let text = MetricsSnapshot { adds: 3, ..Default::default() }.to_prometheus("replicaset");
    /// assert!(text.contains("orch_workqueue_adds_total{controller=\"replicaset\"} 3"));
    /// ```
    pub fn to_prometheus(&self, controller: &str) -> String {
        let mut out = String::new();
        let rows: [(&str, &str, String); 7] = [
            ("orch_workqueue_depth", "gauge", self.depth.to_string()),
            ("orch_workqueue_adds_total", "counter", self.adds.to_string()),
            ("orch_workqueue_retries_total", "counter", self.retries.to_string()),
            ("orch_reconcile_total", "counter", self.reconciles.to_string()),
            ("orch_reconcile_errors_total", "counter", self.errors.to_string()),
            ("orch_reconcile_timeouts_total", "counter", self.timeouts.to_string()),
            ("orch_reconcile_seconds_sum", "counter", self.latency_total.as_secs_f64().to_string()),
        ];
        for (name, kind, value) in rows {
            let _ = writeln!(out, "# TYPE {name} {kind}\n{name}{{controller=\"{controller}\"}} {value}");
        }
        out
    }
}
