//! `QueuedPodInfo`: a pod in the scheduling queue with its attempts and failure record.

use std::collections::BTreeSet;
use std::sync::Arc;

use orch_core::Timestamp;

use crate::PodInfo;

/// A pod waiting to be scheduled.
#[derive(Clone, Debug)]
pub struct QueuedPodInfo {
    /// The pod.
    pub pod: Arc<PodInfo>,
    /// When the pod was (last) added to the active queue; the tie-breaker of the default order.
    pub timestamp: Timestamp,
    /// When the pod first entered the queue.
    pub initial_timestamp: Timestamp,
    /// Scheduling attempts so far.
    pub attempts: u32,
    /// Plugins that rejected the pod in its last attempt.
    pub unschedulable_plugins: BTreeSet<String>,
    /// The PreEnqueue plugin that gated the pod, if any.
    pub gated_by: Option<String>,
}

impl QueuedPodInfo {
    /// A fresh entry for `pod` at `now`.
    pub fn new(pod: Arc<PodInfo>, now: Timestamp) -> Self {
        QueuedPodInfo {
            pod,
            timestamp: now,
            initial_timestamp: now,
            attempts: 0,
            unschedulable_plugins: BTreeSet::new(),
            gated_by: None,
        }
    }

    /// `namespace/name`.
    pub fn key(&self) -> &str {
        &self.pod.key
    }
}
