//! `PrioritySort`: the default queue order, higher priority first, then earlier.

use crate::{Plugin, QueueSortPlugin, QueuedPodInfo};

/// Orders the active queue by `spec.priority` (higher first), then by when the pod was queued.
#[derive(Clone, Copy, Debug, Default)]
pub struct PrioritySort;

/// The plugin's name.
pub const PRIORITY_SORT: &str = "PrioritySort";

impl Plugin for PrioritySort {
    fn name(&self) -> &str {
        PRIORITY_SORT
    }
}

impl QueueSortPlugin for PrioritySort {
    fn less(&self, a: &QueuedPodInfo, b: &QueuedPodInfo) -> bool {
        let (pa, pb) = (a.pod.priority, b.pod.priority);
        pa > pb || (pa == pb && a.timestamp < b.timestamp)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use orch_core::Timestamp;

    use super::*;
    use crate::PodInfo;
    use crate::plugins::testing::pod;

    fn queued(prio: i32, secs: i64) -> QueuedPodInfo {
        let mut p = pod("p", "", "");
        p.spec.priority = Some(prio);
        QueuedPodInfo::new(Arc::new(PodInfo::new(p)), Timestamp::from_unix(secs, 0))
    }

    #[test]
    fn higher_priority_then_older_goes_first() {
        let cases = [
            (queued(10, 5), queued(0, 1), true),
            (queued(0, 1), queued(10, 5), false),
            (queued(5, 1), queued(5, 2), true),
            (queued(5, 2), queued(5, 1), false),
            (queued(5, 1), queued(5, 1), false),
        ];
        for (i, (a, b, want)) in cases.iter().enumerate() {
            assert_eq!(PrioritySort.less(a, b), *want, "case {i}");
        }
    }
}
