//! Extension points that decide where a pod may go: PreFilter, Filter and PostFilter.

use std::collections::HashSet;
use std::sync::Arc;

use super::{CycleState, Diagnosis, Plugin, Status};
use crate::{NodeInfo, PodInfo, Snapshot};

/// What a PreFilter returns: a status, and optionally the only nodes worth filtering.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PreFilterResult {
    /// `Success`, `Skip` (the plugin's Filter is skipped this cycle), or a rejection/error that
    /// ends the cycle for this pod.
    pub status: Status,
    /// When set, only these nodes can fit (results of several plugins are intersected).
    pub node_names: Option<HashSet<String>>,
}

impl From<Status> for PreFilterResult {
    fn from(status: Status) -> Self {
        PreFilterResult { status, node_names: None }
    }
}

impl PreFilterResult {
    /// Success, restricted to `nodes`.
    pub fn only(nodes: impl IntoIterator<Item = String>) -> Self {
        PreFilterResult { status: Status::success(), node_names: Some(nodes.into_iter().collect()) }
    }
}

/// Runs once per pod per cycle before Filter: checks the pod, precomputes what Filter needs
/// and writes it to the [`CycleState`].
///
/// # Contract
/// Pure: read the pod and the snapshot, write only the cycle state. `Skip` means the plugin has
/// nothing to check for this pod (its Filter is not called); a rejection fails the pod on every
/// node with this status.
///
/// ```
/// use orch_sched::{CycleState, Plugin, PodInfo, PreFilterPlugin, PreFilterResult, Snapshot, Status};
/// struct CpuRequest(i64);
/// struct NeedsCpu;
/// impl Plugin for NeedsCpu { fn name(&self) -> &str { "NeedsCpu" } }
/// impl PreFilterPlugin for NeedsCpu {
///     fn pre_filter(&self, state: &mut CycleState, pod: &PodInfo, _: &Snapshot) -> PreFilterResult {
///         if pod.requests.milli_cpu == 0 { return Status::skip().into(); }
///         state.write(CpuRequest(pod.requests.milli_cpu));
///         Status::success().into()
///     }
/// }
/// ```
pub trait PreFilterPlugin: Plugin {
    /// Prepares the cycle for this pod.
    fn pre_filter(&self, state: &mut CycleState, pod: &PodInfo, snapshot: &Snapshot) -> PreFilterResult;
}

/// Decides whether the pod can run on one node.
///
/// # Contract
/// Pure and thread-safe: called for many nodes, possibly on several threads at once, with the
/// state PreFilter wrote. Return `Success`, `Unschedulable` (preemption may help),
/// `UnschedulableAndUnresolvable` (it cannot), or `Error`. Reasons end up in the pod's
/// `PodScheduled` message, aggregated across nodes, so keep them short and node-independent
/// (`Insufficient cpu`).
///
/// ```
/// use orch_sched::{CycleState, FilterPlugin, NodeInfo, Plugin, PodInfo, Status};
/// struct NoGpuNodes;
/// impl Plugin for NoGpuNodes { fn name(&self) -> &str { "NoGpuNodes" } }
/// impl FilterPlugin for NoGpuNodes {
///     fn filter(&self, _: &CycleState, _: &PodInfo, node: &NodeInfo) -> Status {
///         if node.labels().contains_key("gpu") { Status::unresolvable("node(s) had a gpu") } else { Status::success() }
///     }
/// }
/// fn _obj_safe(_: &dyn FilterPlugin) {}
/// ```
pub trait FilterPlugin: Plugin {
    /// Whether `pod` fits on `node`.
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status;
}

/// Runs the Filter plugins of a profile against one node; PostFilter plugins use it to
/// simulate (for example a node with its lower-priority pods removed).
pub trait FilterRunner: Send + Sync {
    /// Every Filter plugin on `node`; the first rejection, or `Success`.
    fn run_filters(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status;
}

/// What a PostFilter decided: usually a node to nominate and the pods to evict from it.
#[derive(Clone, Debug, Default)]
pub struct PostFilterResult {
    /// `Success` when the plugin made the pod schedulable (after the evictions); otherwise why not.
    pub status: Status,
    /// The node the pod should wait for.
    pub nominated_node: Option<String>,
    /// Pods to evict so that the pod fits on the nominated node.
    pub victims: Vec<Arc<PodInfo>>,
}

/// Runs when no node fits the pod (preemption lives here).
///
/// # Contract
/// Pure: the scheduler applies the result (evicts victims, records the nominated node); the
/// pod is retried once the cluster changes. Return `Unschedulable` with no victims to decline.
///
/// ```
/// use orch_sched::*;
/// struct GiveUp;
/// impl Plugin for GiveUp { fn name(&self) -> &str { "GiveUp" } }
/// impl PostFilterPlugin for GiveUp {
///     fn post_filter(&self, _: &CycleState, _: &PodInfo, _: &Snapshot, _: &Diagnosis, _: &dyn FilterRunner) -> PostFilterResult {
///         PostFilterResult { status: Status::unschedulable("not trying"), ..Default::default() }
///     }
/// }
/// ```
pub trait PostFilterPlugin: Plugin {
    /// Tries to make room for the pod.
    fn post_filter(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        diagnosis: &Diagnosis,
        filters: &dyn FilterRunner,
    ) -> PostFilterResult;
}

#[allow(dead_code)]
fn _obj_safe(_: &dyn PreFilterPlugin, _: &dyn FilterPlugin, _: &dyn PostFilterPlugin, _: &dyn FilterRunner) {}
