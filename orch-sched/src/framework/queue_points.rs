//! Extension points of the scheduling queue: PreEnqueue and QueueSort.

use super::{Plugin, Status};
use crate::{PodInfo, QueuedPodInfo};

/// Decides whether a pod may enter the active queue at all (scheduling gates).
///
/// # Contract
/// Return `Success` to admit the pod, or `UnschedulableAndUnresolvable` to park it among the
/// unschedulable pods until an update to the pod itself is seen. Must be cheap and pure.
///
/// ```
/// use orch_sched::{Plugin, PodInfo, PreEnqueuePlugin, Status};
/// struct RequireLabel;
/// impl Plugin for RequireLabel { fn name(&self) -> &str { "RequireLabel" } }
/// impl PreEnqueuePlugin for RequireLabel {
///     fn pre_enqueue(&self, pod: &PodInfo) -> Status {
///         if pod.pod.metadata.labels.contains_key("ready") { Status::success() }
///         else { Status::unresolvable("waiting for label ready") }
///     }
/// }
/// ```
pub trait PreEnqueuePlugin: Plugin {
    /// Whether the pod may be queued for scheduling.
    fn pre_enqueue(&self, pod: &PodInfo) -> Status;
}

/// Orders the active queue: the pod for which `less` holds against all others is scheduled next.
///
/// # Contract
/// `less` must be a strict weak order. Only one QueueSort plugin is in effect per scheduler.
///
/// ```
/// use orch_sched::{Plugin, QueueSortPlugin, QueuedPodInfo};
/// struct Fifo;
/// impl Plugin for Fifo { fn name(&self) -> &str { "Fifo" } }
/// impl QueueSortPlugin for Fifo {
///     fn less(&self, a: &QueuedPodInfo, b: &QueuedPodInfo) -> bool { a.timestamp < b.timestamp }
/// }
/// ```
pub trait QueueSortPlugin: Plugin {
    /// Whether `a` should be scheduled before `b`.
    fn less(&self, a: &QueuedPodInfo, b: &QueuedPodInfo) -> bool;
}

#[allow(dead_code)]
fn _obj_safe(_: &dyn PreEnqueuePlugin, _: &dyn QueueSortPlugin) {}
