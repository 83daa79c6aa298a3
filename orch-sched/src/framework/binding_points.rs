//! Extension points after a node is chosen: Reserve/Unreserve, Permit, PreBind, Bind, PostBind.

use std::time::Duration;

use futures::future::BoxFuture;

use super::{CycleState, Plugin, Status};
use crate::PodInfo;

/// Claims per-node state for the chosen node before binding, and releases it on failure.
///
/// # Contract
/// `reserve` runs in the scheduling cycle; if it (or anything later) fails, `unreserve` is
/// called on every Reserve plugin in reverse order. `unreserve` must be idempotent and must not
/// fail.
///
/// ```
/// use std::sync::Mutex;
/// use orch_sched::*;
/// #[derive(Default)] struct Ledger(Mutex<Vec<String>>);
/// impl Plugin for Ledger { fn name(&self) -> &str { "Ledger" } }
/// impl ReservePlugin for Ledger {
///     fn reserve(&self, _: &mut CycleState, pod: &PodInfo, _: &str) -> Status {
///         self.0.lock().unwrap().push(pod.key.clone());
///         Status::success()
///     }
///     fn unreserve(&self, _: &mut CycleState, pod: &PodInfo, _: &str) {
///         self.0.lock().unwrap().retain(|k| k != &pod.key);
///     }
/// }
/// ```
pub trait ReservePlugin: Plugin {
    /// Reserves resources for `pod` on `node`.
    fn reserve(&self, state: &mut CycleState, pod: &PodInfo, node: &str) -> Status;
    /// Undoes `reserve`.
    fn unreserve(&self, state: &mut CycleState, pod: &PodInfo, node: &str);
}

/// A Permit plugin's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PermitDecision {
    /// Bind now (as far as this plugin is concerned).
    Allow,
    /// Do not bind: the pod is unreserved and requeued with this status.
    Reject(Status),
    /// Hold the pod until it is allowed or rejected through
    /// [`WaitingPods`](crate::WaitingPods), or until `timeout` passes (then it is rejected).
    Wait {
        /// How long to wait at most.
        timeout: Duration,
    },
}

/// The last say before binding: allow, reject, or hold the pod (gang scheduling, quotas).
///
/// # Contract
/// Called in the scheduling cycle; a `Wait` does not block the scheduler: the binding cycle of
/// this pod waits while the next pods are scheduled.
///
/// ```
/// use orch_sched::*;
/// struct NeverOnFriday(bool);
/// impl Plugin for NeverOnFriday { fn name(&self) -> &str { "NeverOnFriday" } }
/// impl PermitPlugin for NeverOnFriday {
///     fn permit(&self, _: &CycleState, _: &PodInfo, _: &str) -> PermitDecision {
///         if self.0 { PermitDecision::Reject(Status::unschedulable("it is Friday")) } else { PermitDecision::Allow }
///     }
/// }
/// ```
pub trait PermitPlugin: Plugin {
    /// Whether `pod` may be bound to `node`.
    fn permit(&self, state: &CycleState, pod: &PodInfo, node: &str) -> PermitDecision;
}

/// Work that must happen before the binding is written (attach a volume, ...).
///
/// # Contract
/// Runs in the binding cycle (asynchronously); a non-success status aborts the binding, which
/// is then rolled back (Unreserve, forget the assumed pod, requeue).
///
/// ```
/// use futures::future::BoxFuture;
/// use orch_sched::*;
/// struct Noop;
/// impl Plugin for Noop { fn name(&self) -> &str { "Noop" } }
/// impl PreBindPlugin for Noop {
///     fn pre_bind<'a>(&'a self, _: &'a CycleState, _: &'a PodInfo, _: &'a str) -> BoxFuture<'a, Status> {
///         Box::pin(async { Status::success() })
///     }
/// }
/// ```
pub trait PreBindPlugin: Plugin {
    /// Prepares the binding of `pod` to `node`.
    fn pre_bind<'a>(&'a self, state: &'a CycleState, pod: &'a PodInfo, node: &'a str) -> BoxFuture<'a, Status>;
}

/// Writes the binding.
///
/// # Contract
/// Bind plugins run in order until one returns something other than `Skip`; `Success` means
/// the pod is bound. Any other status rolls the placement back and requeues the pod.
///
/// ```
/// use futures::future::BoxFuture;
/// use orch_sched::*;
/// struct OnlyDryRun;
/// impl Plugin for OnlyDryRun { fn name(&self) -> &str { "OnlyDryRun" } }
/// impl BindPlugin for OnlyDryRun {
///     fn bind<'a>(&'a self, _: &'a CycleState, pod: &'a PodInfo, _: &'a str) -> BoxFuture<'a, Status> {
///         let dry = pod.pod.metadata.labels.contains_key("dry-run");
///         Box::pin(async move { if dry { Status::success() } else { Status::skip() } })
///     }
/// }
/// ```
pub trait BindPlugin: Plugin {
    /// Binds `pod` to `node`, or returns `Skip` to leave it to the next Bind plugin.
    fn bind<'a>(&'a self, state: &'a CycleState, pod: &'a PodInfo, node: &'a str) -> BoxFuture<'a, Status>;
}

/// Informational hook after a successful bind (cleanup, metrics).
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use orch_sched::*;
/// #[derive(Default)] struct Count(AtomicU64);
/// impl Plugin for Count { fn name(&self) -> &str { "Count" } }
/// impl PostBindPlugin for Count {
///     fn post_bind(&self, _: &CycleState, _: &PodInfo, _: &str) { self.0.fetch_add(1, Ordering::Relaxed); }
/// }
/// ```
pub trait PostBindPlugin: Plugin {
    /// Called once `pod` is bound to `node`.
    fn post_bind(&self, state: &CycleState, pod: &PodInfo, node: &str);
}

#[allow(dead_code)]
fn _obj_safe(
    _: &dyn ReservePlugin,
    _: &dyn PermitPlugin,
    _: &dyn PreBindPlugin,
    _: &dyn BindPlugin,
    _: &dyn PostBindPlugin,
) {
}
