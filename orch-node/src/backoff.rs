//! Crash-loop backoff: how long a crashed container waits before its next start.

use std::collections::BTreeMap;
use std::time::Duration;

/// Annotation setting a pod's first restart delay in seconds (beyond Kubernetes).
pub const ANNOTATION_BACKOFF_INITIAL: &str = "orch.io/backoff-initial-seconds";
/// Annotation setting a pod's maximum restart delay in seconds.
pub const ANNOTATION_BACKOFF_MAX: &str = "orch.io/backoff-max-seconds";
/// Annotation setting how long a container must run for its backoff to reset, in seconds.
pub const ANNOTATION_BACKOFF_RESET: &str = "orch.io/backoff-reset-seconds";

/// Backoff timing: `initial`, doubling up to `max`, back to `initial` after `reset_after` running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackoffConfig {
    /// Delay before the first restart (Kubernetes: 10 s).
    pub initial: Duration,
    /// Largest delay (Kubernetes: 300 s).
    pub max: Duration,
    /// A container that ran at least this long starts over at `initial` (Kubernetes: 10 min).
    pub reset_after: Duration,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            initial: Duration::from_secs(10),
            max: Duration::from_secs(300),
            reset_after: Duration::from_secs(600),
        }
    }
}

impl BackoffConfig {
    /// Sets the first delay.
    pub fn initial(mut self, d: Duration) -> Self {
        self.initial = d;
        self
    }

    /// Sets the largest delay.
    pub fn max(mut self, d: Duration) -> Self {
        self.max = d;
        self
    }

    /// Sets the reset time.
    pub fn reset_after(mut self, d: Duration) -> Self {
        self.reset_after = d;
        self
    }

    /// This config with a pod's `orch.io/backoff-*-seconds` annotations applied (bad values
    /// are ignored with a warning).
    pub fn with_annotations(mut self, annotations: &BTreeMap<String, String>) -> Self {
        let read = |key: &str| {
            let v = annotations.get(key)?;
            match v.trim().parse::<f64>() {
                Ok(s) if s.is_finite() && s >= 0.0 => Some(Duration::from_secs_f64(s)),
                _ => {
                    tracing::warn!(annotation = key, value = %v, "ignoring a backoff annotation that is not a number of seconds");
                    None
                }
            }
        };
        if let Some(d) = read(ANNOTATION_BACKOFF_INITIAL) {
            self.initial = d;
        }
        if let Some(d) = read(ANNOTATION_BACKOFF_MAX) {
            self.max = d;
        }
        if let Some(d) = read(ANNOTATION_BACKOFF_RESET) {
            self.reset_after = d;
        }
        self
    }
}

/// The backoff state of one container.
///
/// ```
/// use std::time::Duration;
/// use orch_node::{BackoffConfig, CrashBackoff};
/// let mut b = CrashBackoff::new(BackoffConfig::default());
/// let s = Duration::from_secs;
/// assert_eq!(b.next_delay(s(1)), s(10));
/// assert_eq!(b.next_delay(s(1)), s(20));
/// assert_eq!(b.next_delay(s(1)), s(40));
/// assert_eq!(b.next_delay(s(700)), s(10)); // ran 10+ minutes: reset
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrashBackoff {
    config: BackoffConfig,
    last: Option<Duration>,
}

impl CrashBackoff {
    /// Fresh state.
    pub fn new(config: BackoffConfig) -> Self {
        CrashBackoff { config, last: None }
    }

    /// The delay before restarting a container that exited after running `ran_for`.
    pub fn next_delay(&mut self, ran_for: Duration) -> Duration {
        if ran_for >= self.config.reset_after {
            self.last = None;
        }
        let next = match self.last {
            None => self.config.initial,
            Some(d) => d.saturating_mul(2).min(self.config.max),
        };
        let next = next.min(self.config.max);
        self.last = Some(next);
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_doubles_up_to_the_max() {
        let mut b = CrashBackoff::new(BackoffConfig::default());
        let got: Vec<u64> = (0..7).map(|_| b.next_delay(Duration::ZERO).as_secs()).collect();
        assert_eq!(got, vec![10, 20, 40, 80, 160, 300, 300]);
    }

    #[test]
    fn annotations_override_the_agent_config() {
        let ann = [
            (ANNOTATION_BACKOFF_INITIAL.to_string(), "0.5".to_string()),
            (ANNOTATION_BACKOFF_MAX.to_string(), "2".to_string()),
            (ANNOTATION_BACKOFF_RESET.to_string(), "nonsense".to_string()),
        ]
        .into();
        let c = BackoffConfig::default().with_annotations(&ann);
        assert_eq!(c.initial, Duration::from_millis(500));
        assert_eq!(c.max, Duration::from_secs(2));
        assert_eq!(c.reset_after, Duration::from_secs(600));
    }
}
