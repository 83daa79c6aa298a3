//! The pure probe state machine: fed probe results, it says when to probe next and what holds.

use std::time::Duration;

use orch_core::kinds::Probe;
use tokio::time::Instant;

/// Timing and thresholds of a probe, with Kubernetes' defaults filled in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeTiming {
    /// Wait after the container starts before the first probe.
    pub initial_delay: Duration,
    /// Between probes (default 10 s).
    pub period: Duration,
    /// For one probe (default 1 s).
    pub timeout: Duration,
    /// Consecutive successes to count as passing (default 1).
    pub success_threshold: u32,
    /// Consecutive failures to count as failing (default 3).
    pub failure_threshold: u32,
}

impl ProbeTiming {
    /// The timing of a probe spec.
    pub fn of(probe: &Probe) -> Self {
        let secs = |v: Option<i32>, d: i32| Duration::from_secs(v.unwrap_or(d).max(0) as u64);
        ProbeTiming {
            initial_delay: secs(probe.initial_delay_seconds, 0),
            period: secs(probe.period_seconds, 10).max(Duration::from_millis(100)),
            timeout: secs(probe.timeout_seconds, 1).max(Duration::from_millis(100)),
            success_threshold: probe.success_threshold.unwrap_or(1).max(1) as u32,
            failure_threshold: probe.failure_threshold.unwrap_or(3).max(1) as u32,
        }
    }
}

/// One probe of one running container.
///
/// ```
/// use std::time::Duration;
/// use orch_node::probe::{ProbeState, ProbeTiming};
/// use tokio::time::Instant;
/// let timing = ProbeTiming { initial_delay: Duration::ZERO, period: Duration::from_secs(1),
///     timeout: Duration::from_secs(1), success_threshold: 1, failure_threshold: 2 };
/// let now = Instant::now();
/// let mut p = ProbeState::new(timing, now, true); // liveness: healthy until proven otherwise
/// assert!(p.is_due(now));
/// assert_eq!(p.record(false, now), None);          // one failure: below the threshold
/// assert_eq!(p.record(false, now), Some(false));   // second: it flips to failing
/// assert_eq!(p.record(true, now), Some(true));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeState {
    timing: ProbeTiming,
    passing: bool,
    successes: u32,
    failures: u32,
    next_at: Instant,
}

impl ProbeState {
    /// A probe of a container started at `started`, `passing` until results say otherwise
    /// (liveness starts passing; readiness and startup start failing).
    pub fn new(timing: ProbeTiming, started: Instant, passing: bool) -> Self {
        ProbeState { timing, passing, successes: 0, failures: 0, next_at: started + timing.initial_delay }
    }

    /// Its timing.
    pub fn timing(&self) -> &ProbeTiming {
        &self.timing
    }

    /// Whether the probe currently counts as passing.
    pub fn passing(&self) -> bool {
        self.passing
    }

    /// When the next probe is due.
    pub fn next_at(&self) -> Instant {
        self.next_at
    }

    /// Whether a probe is due at `now`.
    pub fn is_due(&self, now: Instant) -> bool {
        now >= self.next_at
    }

    /// Records one result taken at `now`; `Some(new)` when the passing state flipped.
    pub fn record(&mut self, ok: bool, now: Instant) -> Option<bool> {
        self.next_at = now + self.timing.period;
        if ok {
            self.successes += 1;
            self.failures = 0;
            if !self.passing && self.successes >= self.timing.success_threshold {
                self.passing = true;
                return Some(true);
            }
        } else {
            self.failures += 1;
            self.successes = 0;
            if self.passing && self.failures >= self.timing.failure_threshold {
                self.passing = false;
                return Some(false);
            }
        }
        None
    }

    /// Consecutive failures so far (startup probes fail the container at the threshold even
    /// though they never passed).
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(success: u32, failure: u32) -> ProbeTiming {
        ProbeTiming {
            initial_delay: Duration::from_secs(5),
            period: Duration::from_secs(2),
            timeout: Duration::from_secs(1),
            success_threshold: success,
            failure_threshold: failure,
        }
    }

    #[test]
    fn first_probe_waits_for_the_initial_delay() {
        let t0 = Instant::now();
        let p = ProbeState::new(timing(1, 3), t0, false);
        assert!(!p.is_due(t0 + Duration::from_secs(4)));
        assert!(p.is_due(t0 + Duration::from_secs(5)));
    }

    #[test]
    fn readiness_needs_success_threshold_in_a_row() {
        let t0 = Instant::now();
        let mut p = ProbeState::new(timing(2, 3), t0, false);
        assert_eq!(p.record(true, t0), None);
        assert_eq!(p.record(false, t0), None);
        assert_eq!(p.record(true, t0), None);
        assert_eq!(p.record(true, t0), Some(true));
        assert_eq!(p.next_at(), t0 + Duration::from_secs(2));
    }

    #[test]
    fn liveness_fails_after_failure_threshold_in_a_row() {
        let t0 = Instant::now();
        let mut p = ProbeState::new(timing(1, 3), t0, true);
        let results: Vec<_> = [false, false, true, false, false, false].iter().map(|ok| p.record(*ok, t0)).collect();
        assert_eq!(results, vec![None, None, None, None, None, Some(false)]);
        assert!(!p.passing());
    }
}
