//! # orch-sched
//!
//! The scheduler of orch, after Kubernetes' scheduling framework: pods without a node are
//! queued, each cycle filters and scores the nodes of an immutable snapshot through plugins,
//! and the chosen node is bound through the object-store contract's `binding` operation.
//!
//! - [`framework`]: one small, object-safe trait per extension point ([`FilterPlugin`],
//!   [`ScorePlugin`], [`PermitPlugin`], ...), [`Status`], [`CycleState`], the
//!   [`PluginRegistry`] and [`Profile`]s, and [`Framework`], which runs a profile.
//! - [`cache`]: [`SchedulerCache`] (nodes and pods from watch events, assumed pods) and the
//!   per-cycle [`Snapshot`] of [`NodeInfo`]s.
//! - [`queue`]: [`SchedulingQueue`] (active heap, backoff, unschedulable pool).
//! - [`plugins`]: the default plugins.
//! - [`scheduler`]: [`Scheduler`], which wires it all to an [`ObjectStore`](orch_core::ObjectStore).
//!
//! Everything runs on orch-core's `Clock` and `Spawn`; tokio is not required.

pub mod cache;
mod error;
pub mod framework;
pub mod plugins;
pub mod queue;
pub mod scheduler;

pub use cache::{
    AffinityTerm, CacheError, NodeInfo, Nominator, PodInfo, Resources, SchedulerCache, Snapshot, WeightedAffinityTerm,
};
pub use error::SchedError;
pub use framework::*;
pub use queue::{QueueConfig, QueuedPodInfo, SchedulingQueue};
pub use scheduler::{Scheduler, SchedulerConfig, SchedulerStats};
