//! `AutoCompactor`: decides when and to which revision to compact (pure; the store applies it).

use std::collections::VecDeque;
use std::time::Duration;

use orch_core::Timestamp;

/// Keeps history within a revision window and a time window.
///
/// Compaction happens in steps of 1/64 of the revision window (at least 1, at most 1,024) so
/// its cost is spread evenly over writes; the time window is tracked with at most ~17
/// (time, revision) samples.
#[derive(Debug)]
pub(crate) struct AutoCompactor {
    keep_revisions: Option<i64>,
    keep_for: Option<Duration>,
    samples: VecDeque<(Timestamp, i64)>,
}

impl AutoCompactor {
    pub fn new(keep_revisions: Option<i64>, keep_for: Option<Duration>) -> Self {
        AutoCompactor { keep_revisions: keep_revisions.map(|r| r.max(1)), keep_for, samples: VecDeque::new() }
    }

    /// Whether [`after_write`](Self::after_write) needs the time.
    pub fn needs_time(&self) -> bool {
        self.keep_for.is_some()
    }

    /// After a write reached `revision` (at `now`, if timed), the revision to compact to, if any.
    pub fn after_write(&mut self, now: Option<Timestamp>, revision: i64, compacted: i64) -> Option<i64> {
        let mut target = 0;
        if let Some(keep) = self.keep_revisions {
            let step = (keep / 64).clamp(1, 1024);
            let t = revision - keep;
            if t >= compacted + step {
                target = t;
            }
        }
        if let (Some(keep_for), Some(now)) = (self.keep_for, now) {
            let every = keep_for / 16;
            if self.samples.back().is_none_or(|(t, _)| now.saturating_duration_since(*t) >= every) {
                self.samples.push_back((now, revision));
            }
            let cutoff = now - keep_for;
            while self.samples.len() > 1 && self.samples.get(1).is_some_and(|(t, _)| *t <= cutoff) {
                self.samples.pop_front();
            }
            if let Some(&(t, r)) = self.samples.front()
                && t <= cutoff
            {
                target = target.max(r);
            }
        }
        (target > compacted).then_some(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> Option<Timestamp> {
        Some(Timestamp::from_unix(1000, 0) + Duration::from_millis(ms as u64))
    }

    #[test]
    fn revision_window_compacts_in_steps() {
        let mut c = AutoCompactor::new(Some(128), None);
        // (revision, compacted, expected)
        let cases = [(100, 0, None), (129, 0, None), (130, 0, Some(2)), (131, 2, None), (132, 2, Some(4))];
        for (rev, compacted, want) in cases {
            assert_eq!(c.after_write(None, rev, compacted), want, "rev {rev}");
        }
    }

    #[test]
    fn time_window_compacts_history_older_than_it() {
        let mut c = AutoCompactor::new(None, Some(Duration::from_secs(16)));
        assert!(c.needs_time());
        assert_eq!(c.after_write(t(0), 10, 0), None);
        assert_eq!(c.after_write(t(1_000), 20, 0), None);
        assert_eq!(c.after_write(t(15_999), 30, 0), None);
        assert_eq!(c.after_write(t(16_000), 31, 0), Some(10));
        assert_eq!(c.after_write(t(17_000), 40, 10), Some(20));
        assert_eq!(c.after_write(t(17_500), 41, 20), None);
    }

    #[test]
    fn no_windows_never_compact() {
        let mut c = AutoCompactor::new(None, None);
        assert!(!c.needs_time());
        assert_eq!(c.after_write(t(0), 1_000_000, 0), None);
    }
}
