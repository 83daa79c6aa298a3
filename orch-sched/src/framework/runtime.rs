//! `Framework`: a profile's plugins instantiated, and the runners of the per-pod extension points.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::time::Duration;

use super::parallel::Parallelizer;
use super::*;
use crate::{NodeInfo, PodInfo, SchedError};

/// From how many nodes to evaluate on Filter and Score use several threads; below it they run
/// on the calling thread, where handing work to other threads costs more than it saves.
pub const DEFAULT_PARALLEL_THRESHOLD: usize = 1000;

pub(super) struct Named<T: ?Sized> {
    pub(super) name: Arc<str>,
    pub(super) plugin: Arc<T>,
}

/// What the Permit plugins decided together.
#[derive(Debug)]
pub enum PermitOutcome {
    /// Every plugin allowed the pod.
    Allow,
    /// A plugin rejected it.
    Reject(Status),
    /// Some plugins want to wait: the shortest timeout and the waiting plugins.
    Wait(Duration, HashSet<String>),
}

/// The plugins of one [`Profile`], ready to run. One scheduling cycle calls
/// [`schedule_pod`](Self::schedule_pod) (PreFilter → Filter → PreScore → Score → select), which
/// is a pure function of the pod and the [`Snapshot`](crate::Snapshot); the scheduler then runs
/// Reserve and Permit, and the binding cycle PreBind → Bind → PostBind.
///
/// ```
/// use std::sync::Arc;
/// use orch_core::{ObjectMeta, kinds::{Node, Pod}, runtime::ManualClock};
/// use orch_sched::*;
/// let ctx = PluginContext { waiting_pods: WaitingPods::default(), clock: Arc::new(ManualClock::new()), store: None };
/// let profile = Profile::default_profile().without_plugin("DefaultBinder");
/// let fw = Framework::new(&profile, &PluginRegistry::with_defaults(), &ctx).unwrap();
/// let mut node = Node { metadata: ObjectMeta::named("n1"), ..Default::default() };
/// node.status.allocatable.insert("pods".into(), "10".into());
/// let snapshot = Snapshot::from_nodes([NodeInfo::new(node)]);
/// let pod = PodInfo::new(Pod { metadata: ObjectMeta::named("p").in_namespace("default"), ..Default::default() });
/// let placed = fw.schedule_pod(&mut CycleState::new(), &pod, &snapshot).unwrap();
/// assert_eq!(placed.node, "n1");
/// ```
pub struct Framework {
    pub(super) name: String,
    pub(super) pre_enqueue: Vec<Named<dyn PreEnqueuePlugin>>,
    pub(super) queue_sort: Option<Arc<dyn QueueSortPlugin>>,
    pub(super) pre_filter: Vec<Named<dyn PreFilterPlugin>>,
    pub(super) filter: Vec<Named<dyn FilterPlugin>>,
    pub(super) post_filter: Vec<Named<dyn PostFilterPlugin>>,
    pub(super) pre_score: Vec<Named<dyn PreScorePlugin>>,
    pub(super) score: Vec<(Named<dyn ScorePlugin>, i64)>,
    pub(super) reserve: Vec<Named<dyn ReservePlugin>>,
    pub(super) permit: Vec<Named<dyn PermitPlugin>>,
    pub(super) pre_bind: Vec<Named<dyn PreBindPlugin>>,
    pub(super) bind: Vec<Named<dyn BindPlugin>>,
    pub(super) post_bind: Vec<Named<dyn PostBindPlugin>>,
    pub(super) events: HashMap<ClusterEvent, HashSet<String>>,
    pub(super) waiting_pods: WaitingPods,
    pub(super) percentage_of_nodes_to_score: Option<u32>,
    pub(super) parallelizer: Parallelizer,
    pub(super) parallel_threshold: usize,
    pub(super) next_start_node: AtomicUsize,
    pub(super) rng: AtomicU64,
}

impl std::fmt::Debug for Framework {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Framework").field("name", &self.name).finish_non_exhaustive()
    }
}

fn named<T: ?Sized>(name: &str, plugin: Option<Arc<T>>) -> Option<Named<T>> {
    plugin.map(|plugin| Named { name: Arc::from(name), plugin })
}

impl Framework {
    /// Instantiates every plugin of `profile` from `registry`.
    ///
    /// # Errors
    /// [`SchedError::UnknownPlugin`], [`SchedError::InvalidProfile`] (percentage out of range), or
    /// whatever a plugin factory reports (bad args, missing store).
    pub fn new(profile: &Profile, registry: &PluginRegistry, ctx: &PluginContext) -> Result<Self, SchedError> {
        if let Some(p) = profile.percentage_of_nodes_to_score
            && p > 100
        {
            return Err(SchedError::InvalidProfile {
                profile: profile.scheduler_name.clone(),
                reason: format!("percentageOfNodesToScore {p} is not in 0..=100"),
            });
        }
        let mut fw = Framework {
            name: profile.scheduler_name.clone(),
            pre_enqueue: Vec::new(),
            queue_sort: None,
            pre_filter: Vec::new(),
            filter: Vec::new(),
            post_filter: Vec::new(),
            pre_score: Vec::new(),
            score: Vec::new(),
            reserve: Vec::new(),
            permit: Vec::new(),
            pre_bind: Vec::new(),
            bind: Vec::new(),
            post_bind: Vec::new(),
            events: HashMap::new(),
            waiting_pods: ctx.waiting_pods.clone(),
            percentage_of_nodes_to_score: profile.percentage_of_nodes_to_score.filter(|p| *p > 0),
            parallelizer: Parallelizer::new(std::thread::available_parallelism().map_or(1, |n| n.get()).min(16)),
            parallel_threshold: DEFAULT_PARALLEL_THRESHOLD,
            next_start_node: AtomicUsize::new(0),
            rng: AtomicU64::new(0x9E37_79B9_7F4A_7C15),
        };
        for cfg in &profile.plugins {
            let factory = registry.get(&cfg.name).ok_or_else(|| SchedError::UnknownPlugin {
                profile: profile.scheduler_name.clone(),
                plugin: cfg.name.clone(),
            })?;
            let set = factory(&cfg.args, ctx)?;
            let n = cfg.name.as_str();
            for e in &set.events {
                fw.events.entry(*e).or_default().insert(cfg.name.clone());
            }
            fw.pre_enqueue.extend(named(n, set.pre_enqueue));
            if set.queue_sort.is_some() {
                fw.queue_sort = set.queue_sort;
            }
            fw.pre_filter.extend(named(n, set.pre_filter));
            fw.filter.extend(named(n, set.filter));
            fw.post_filter.extend(named(n, set.post_filter));
            fw.pre_score.extend(named(n, set.pre_score));
            if let Some(s) = named(n, set.score) {
                fw.score.push((s, cfg.weight));
            }
            fw.reserve.extend(named(n, set.reserve));
            fw.permit.extend(named(n, set.permit));
            fw.pre_bind.extend(named(n, set.pre_bind));
            fw.bind.extend(named(n, set.bind));
            fw.post_bind.extend(named(n, set.post_bind));
        }
        Ok(fw)
    }

    /// Sets how many threads Filter and Score may use (1 = the calling thread only).
    pub fn with_parallelism(mut self, threads: usize) -> Self {
        self.parallelizer = Parallelizer::new(threads);
        self
    }

    /// Sets from how many nodes on Filter and Score run in parallel.
    pub fn with_parallel_threshold(mut self, nodes: usize) -> Self {
        self.parallel_threshold = nodes.max(1);
        self
    }

    /// Seeds the tie-breaking among equally scored nodes (deterministic per seed).
    pub fn with_seed(self, seed: u64) -> Self {
        self.rng.store(seed | 1, std::sync::atomic::Ordering::Relaxed);
        self
    }

    /// The profile's scheduler name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The QueueSort plugin, if the profile has one.
    pub fn queue_sort(&self) -> Option<Arc<dyn QueueSortPlugin>> {
        self.queue_sort.clone()
    }

    /// The Filter plugins whose PreFilter did not skip them this cycle, picked out once per
    /// cycle so the per-node loop looks nothing up.
    pub(super) fn active_filters(&self, state: &CycleState) -> Vec<&Named<dyn FilterPlugin>> {
        self.filter.iter().filter(|p| !state.is_filter_skipped(&p.name)).collect()
    }

    /// The pods held by Permit.
    pub fn waiting_pods(&self) -> &WaitingPods {
        &self.waiting_pods
    }

    /// Whether a pod rejected by `plugins` is worth retrying after `event` (an empty set —
    /// rejected by nothing in particular — always is).
    pub fn is_interested(&self, event: ClusterEvent, plugins: &std::collections::BTreeSet<String>) -> bool {
        if plugins.is_empty() {
            return true;
        }
        self.events.get(&event).is_some_and(|names| plugins.iter().any(|p| names.contains(p)))
    }

    /// PreEnqueue: the first rejection, or success.
    pub fn run_pre_enqueue(&self, pod: &PodInfo) -> Status {
        for p in &self.pre_enqueue {
            let s = p.plugin.pre_enqueue(pod);
            if !s.is_success() {
                return s.with_plugin(p.name.clone());
            }
        }
        Status::success()
    }

    /// Reserve on every plugin; on a failure, Unreserve runs on all of them (in reverse).
    pub fn run_reserve(&self, state: &mut CycleState, pod: &PodInfo, node: &str) -> Status {
        for p in &self.reserve {
            let s = p.plugin.reserve(state, pod, node);
            if !s.is_success() {
                self.run_unreserve(state, pod, node);
                return s.with_plugin(p.name.clone());
            }
        }
        Status::success()
    }

    /// Unreserve on every Reserve plugin, in reverse order.
    pub fn run_unreserve(&self, state: &mut CycleState, pod: &PodInfo, node: &str) {
        for p in self.reserve.iter().rev() {
            p.plugin.unreserve(state, pod, node);
        }
    }

    /// Permit on every plugin: a rejection wins; otherwise waits are combined (shortest timeout).
    pub fn run_permit(&self, state: &CycleState, pod: &PodInfo, node: &str) -> PermitOutcome {
        let mut wait: Option<(Duration, HashSet<String>)> = None;
        for p in &self.permit {
            match p.plugin.permit(state, pod, node) {
                PermitDecision::Allow => {}
                PermitDecision::Reject(s) => return PermitOutcome::Reject(s.with_plugin(p.name.clone())),
                PermitDecision::Wait { timeout } => {
                    let w = wait.get_or_insert_with(|| (timeout, HashSet::new()));
                    w.0 = w.0.min(timeout);
                    w.1.insert(p.name.to_string());
                }
            }
        }
        match wait {
            None => PermitOutcome::Allow,
            Some((t, plugins)) => PermitOutcome::Wait(t, plugins),
        }
    }

    /// PreBind on every plugin; the first failure.
    pub async fn run_pre_bind(&self, state: &CycleState, pod: &PodInfo, node: &str) -> Status {
        for p in &self.pre_bind {
            let s = p.plugin.pre_bind(state, pod, node).await;
            if !s.is_success() {
                return s.with_plugin(p.name.clone());
            }
        }
        Status::success()
    }

    /// Bind plugins in order until one does not `Skip`.
    pub async fn run_bind(&self, state: &CycleState, pod: &PodInfo, node: &str) -> Status {
        for p in &self.bind {
            let s = p.plugin.bind(state, pod, node).await;
            if !s.is_skip() {
                return if s.is_success() { s } else { s.with_plugin(p.name.clone()) };
            }
        }
        Status::error("no bind plugin bound the pod")
    }

    /// PostBind on every plugin.
    pub fn run_post_bind(&self, state: &CycleState, pod: &PodInfo, node: &str) {
        for p in &self.post_bind {
            p.plugin.post_bind(state, pod, node);
        }
    }

    /// PostFilter plugins in order until one succeeds; the last result otherwise.
    pub fn run_post_filter(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        snapshot: &crate::Snapshot,
        diagnosis: &Diagnosis,
    ) -> Option<PostFilterResult> {
        let mut last = None;
        for p in &self.post_filter {
            let r = p.plugin.post_filter(state, pod, snapshot, diagnosis, self);
            if r.status.is_success() {
                return Some(r);
            }
            last = Some(r);
        }
        last
    }
}

/// Runs `plugins`' Filter on `node`: the first rejection (with the plugin named), or success.
pub(super) fn run_filter_plugins<'a>(
    plugins: impl IntoIterator<Item = &'a Named<dyn FilterPlugin>>,
    state: &CycleState,
    pod: &PodInfo,
    node: &NodeInfo,
) -> Status {
    for p in plugins {
        let s = p.plugin.filter(state, pod, node);
        if !s.is_success() {
            return s.with_plugin(p.name.clone());
        }
    }
    Status::success()
}

impl FilterRunner for Framework {
    fn run_filters(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        run_filter_plugins(self.filter.iter().filter(|p| !state.is_filter_skipped(&p.name)), state, pod, node)
    }
}
