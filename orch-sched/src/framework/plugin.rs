//! `Plugin`, the base of every extension point trait, and the cluster events plugins react to.

/// A change in the cluster that may make unschedulable pods schedulable.
///
/// When a pod fails, the queue records which plugins rejected it; the pod leaves the
/// unschedulable pool when an event arrives that one of those plugins registered for
/// ([`Plugin::events_to_register`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClusterEvent {
    /// A node appeared.
    NodeAdd,
    /// A node's labels changed.
    NodeLabelChange,
    /// A node's taints changed.
    NodeTaintChange,
    /// A node's allocatable resources changed.
    NodeAllocatableChange,
    /// A node's `spec.unschedulable` changed.
    NodeSchedulableChange,
    /// A node's images changed.
    NodeImageChange,
    /// A node was deleted.
    NodeDelete,
    /// A pod was bound (or assumed) to a node.
    AssignedPodAdd,
    /// A bound pod's labels changed.
    AssignedPodUpdate,
    /// A bound pod was deleted or finished, freeing its resources.
    AssignedPodDelete,
    /// An unscheduled pod changed (it is retried itself).
    UnscheduledPodUpdate,
}

impl ClusterEvent {
    /// Every event.
    pub const ALL: [ClusterEvent; 11] = [
        ClusterEvent::NodeAdd,
        ClusterEvent::NodeLabelChange,
        ClusterEvent::NodeTaintChange,
        ClusterEvent::NodeAllocatableChange,
        ClusterEvent::NodeSchedulableChange,
        ClusterEvent::NodeImageChange,
        ClusterEvent::NodeDelete,
        ClusterEvent::AssignedPodAdd,
        ClusterEvent::AssignedPodUpdate,
        ClusterEvent::AssignedPodDelete,
        ClusterEvent::UnscheduledPodUpdate,
    ];
}

/// What every plugin has: a unique name and the cluster events that may undo its rejections.
///
/// Each extension point is its own trait with `Plugin` as supertrait; a plugin implements the
/// points it needs and lists them in its [`PluginSet`](crate::PluginSet).
///
/// ```
/// use orch_sched::{ClusterEvent, Plugin};
/// struct Quiet;
/// impl Plugin for Quiet {
///     fn name(&self) -> &str { "Quiet" }
///     fn events_to_register(&self) -> Vec<ClusterEvent> { vec![ClusterEvent::NodeAdd] }
/// }
/// assert_eq!(Quiet.name(), "Quiet");
/// ```
pub trait Plugin: Send + Sync {
    /// The plugin's name, as registered and configured.
    fn name(&self) -> &str;

    /// Events after which a pod this plugin rejected is worth retrying (default: every event).
    fn events_to_register(&self) -> Vec<ClusterEvent> {
        ClusterEvent::ALL.to_vec()
    }
}

#[allow(dead_code)]
fn _obj_safe(_: &dyn Plugin) {}
