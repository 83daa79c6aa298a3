//! `SchedulerStats`: counters and per-pod latencies of a running scheduler.

use std::time::Duration;

/// What the scheduler has done so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SchedulerStats {
    /// Scheduling attempts (cycles run).
    pub attempts: u64,
    /// Pods bound.
    pub bound: u64,
    /// Attempts that found no node.
    pub unschedulable: u64,
    /// Attempts that failed with a plugin error.
    pub errors: u64,
    /// Bindings that failed and were rolled back.
    pub bind_failures: u64,
    /// Pods evicted by preemption.
    pub preemption_victims: u64,
    /// Watch objects that could not be decoded.
    pub decode_errors: u64,
    /// For each bound pod: from the start of its successful scheduling cycle until its binding
    /// was written (Kubernetes' scheduling attempt duration including binding).
    pub bind_latencies: Vec<Duration>,
}

impl SchedulerStats {
    /// The latency at quantile `q` (0.0..=1.0) of `bind_latencies`.
    pub fn latency_quantile(&self, q: f64) -> Option<Duration> {
        let mut v = self.bind_latencies.clone();
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        let i = ((v.len() as f64 * q) as usize).min(v.len() - 1);
        Some(v[i])
    }
}
