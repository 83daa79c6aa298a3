//! The scheduler framework: one small trait per extension point, `Status`, `CycleState`, the
//! plugin registry, profiles, and `Framework`, which runs a profile's plugins.

mod binding_points;
mod cycle_state;
mod diagnosis;
mod filter_points;
mod find_nodes;
mod parallel;
mod plugin;
mod profile;
mod queue_points;
mod registry;
mod runtime;
mod score_points;
mod scoring;
mod status;
mod waiting_pods;

pub use binding_points::{BindPlugin, PermitDecision, PermitPlugin, PostBindPlugin, PreBindPlugin, ReservePlugin};
pub use cycle_state::CycleState;
pub use diagnosis::{Diagnosis, FitError};
pub use filter_points::{
    FilterPlugin, FilterRunner, PostFilterPlugin, PostFilterResult, PreFilterPlugin, PreFilterResult,
};
pub use find_nodes::{
    MIN_FEASIBLE_NODES_PERCENTAGE, MIN_FEASIBLE_NODES_TO_FIND, ScheduleError, ScheduleResult,
    num_feasible_nodes_to_find,
};
pub use plugin::{ClusterEvent, Plugin};
pub use profile::{DEFAULT_SCHEDULER_NAME, PluginConfig, Profile};
pub use queue_points::{PreEnqueuePlugin, QueueSortPlugin};
pub use registry::{PluginContext, PluginFactory, PluginRegistry, PluginSet};
pub use runtime::{DEFAULT_PARALLEL_THRESHOLD, Framework, PermitOutcome};
use runtime::{Named, run_filter_plugins};
pub use score_points::{MAX_NODE_SCORE, PreScorePlugin, ScorePlugin, default_normalize_score};
pub use status::{Code, Status};
pub use waiting_pods::WaitingPods;
