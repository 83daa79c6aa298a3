//! The node snapshot cache: resources, pod and node infos, the cache and its per-cycle snapshot.

mod node_info;
mod nominator;
mod pod_info;
mod resources;
mod scheduler_cache;
mod snapshot;

pub use node_info::{NodeInfo, normalize_image_name};
pub use nominator::Nominator;
pub use pod_info::{AffinityTerm, PodInfo, WeightedAffinityTerm};
pub use resources::{DEFAULT_MEMORY_REQUEST, DEFAULT_MILLI_CPU_REQUEST, Resources};
pub use scheduler_cache::{CacheError, SchedulerCache};
pub use snapshot::Snapshot;
