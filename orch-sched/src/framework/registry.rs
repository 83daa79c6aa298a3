//! Plugins by name: `PluginSet` (one plugin's extension points), factories and `PluginRegistry`.

use std::collections::BTreeMap;
use std::sync::Arc;

use orch_core::ObjectStore;
use orch_core::runtime::Clock;

use super::*;
use crate::SchedError;

/// What a plugin factory gets besides its args: the waiting pods (for Permit plugins), the
/// clock, and the object store when the scheduler has one.
#[derive(Clone)]
pub struct PluginContext {
    /// Pods held by Permit `Wait`.
    pub waiting_pods: WaitingPods,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// The control plane (for binders and preemption); `None` in pure simulations.
    pub store: Option<Arc<dyn ObjectStore>>,
}

/// The extension points one plugin instance implements. A factory builds the plugin once and
/// lists it under each point.
///
/// ```
/// use std::sync::Arc;
/// use orch_sched::*;
/// struct Both;
/// impl Plugin for Both { fn name(&self) -> &str { "Both" } }
/// impl FilterPlugin for Both {
///     fn filter(&self, _: &CycleState, _: &PodInfo, _: &NodeInfo) -> Status { Status::success() }
/// }
/// impl ScorePlugin for Both {
///     fn score(&self, _: &CycleState, _: &PodInfo, _: &NodeInfo) -> Result<i64, Status> { Ok(0) }
/// }
/// let p = Arc::new(Both);
/// let set = PluginSet::default().filter(p.clone()).score(p);
/// assert!(set.filter.is_some() && set.score.is_some() && set.bind.is_none());
/// ```
#[derive(Clone, Default)]
pub struct PluginSet {
    /// PreEnqueue.
    pub pre_enqueue: Option<Arc<dyn PreEnqueuePlugin>>,
    /// QueueSort.
    pub queue_sort: Option<Arc<dyn QueueSortPlugin>>,
    /// PreFilter.
    pub pre_filter: Option<Arc<dyn PreFilterPlugin>>,
    /// Filter.
    pub filter: Option<Arc<dyn FilterPlugin>>,
    /// PostFilter.
    pub post_filter: Option<Arc<dyn PostFilterPlugin>>,
    /// PreScore.
    pub pre_score: Option<Arc<dyn PreScorePlugin>>,
    /// Score (and NormalizeScore).
    pub score: Option<Arc<dyn ScorePlugin>>,
    /// Reserve/Unreserve.
    pub reserve: Option<Arc<dyn ReservePlugin>>,
    /// Permit.
    pub permit: Option<Arc<dyn PermitPlugin>>,
    /// PreBind.
    pub pre_bind: Option<Arc<dyn PreBindPlugin>>,
    /// Bind.
    pub bind: Option<Arc<dyn BindPlugin>>,
    /// PostBind.
    pub post_bind: Option<Arc<dyn PostBindPlugin>>,
    /// Union of the events the plugin registered (filled by the builder methods).
    pub events: Vec<ClusterEvent>,
}

macro_rules! point {
    ($(#[$doc:meta])* $fn:ident, $tr:ident) => {
        $(#[$doc])*
        pub fn $fn(mut self, plugin: Arc<dyn $tr>) -> Self {
            for e in plugin.events_to_register() {
                if !self.events.contains(&e) {
                    self.events.push(e);
                }
            }
            self.$fn = Some(plugin);
            self
        }
    };
}

impl PluginSet {
    point!(/// Adds the PreEnqueue point.
        pre_enqueue, PreEnqueuePlugin);
    point!(/// Adds the QueueSort point.
        queue_sort, QueueSortPlugin);
    point!(/// Adds the PreFilter point.
        pre_filter, PreFilterPlugin);
    point!(/// Adds the Filter point.
        filter, FilterPlugin);
    point!(/// Adds the PostFilter point.
        post_filter, PostFilterPlugin);
    point!(/// Adds the PreScore point.
        pre_score, PreScorePlugin);
    point!(/// Adds the Score point.
        score, ScorePlugin);
    point!(/// Adds the Reserve point.
        reserve, ReservePlugin);
    point!(/// Adds the Permit point.
        permit, PermitPlugin);
    point!(/// Adds the PreBind point.
        pre_bind, PreBindPlugin);
    point!(/// Adds the Bind point.
        bind, BindPlugin);
    point!(/// Adds the PostBind point.
        post_bind, PostBindPlugin);
}

/// Builds a plugin from its args (the profile's JSON, `null` when none) and the context.
pub type PluginFactory = Arc<dyn Fn(&serde_json::Value, &PluginContext) -> Result<PluginSet, SchedError> + Send + Sync>;

/// Plugin factories by name. [`PluginRegistry::with_defaults`] holds the built-in plugins; add
/// your own beside them and name them in a [`Profile`](crate::Profile).
///
/// ```
/// use std::sync::Arc;
/// use orch_sched::*;
/// struct Noop;
/// impl Plugin for Noop { fn name(&self) -> &str { "Noop" } }
/// impl FilterPlugin for Noop {
///     fn filter(&self, _: &CycleState, _: &PodInfo, _: &NodeInfo) -> Status { Status::success() }
/// }
/// let mut registry = PluginRegistry::with_defaults();
/// registry.register("Noop", |_args, _ctx| Ok(PluginSet::default().filter(Arc::new(Noop)))).unwrap();
/// assert!(registry.contains("Noop") && registry.contains("NodeResourcesFit"));
/// assert!(registry.register("Noop", |_, _| Ok(PluginSet::default())).is_err());
/// ```
#[derive(Clone, Default)]
pub struct PluginRegistry {
    factories: BTreeMap<String, PluginFactory>,
}

impl PluginRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The built-in plugins.
    pub fn with_defaults() -> Self {
        let mut r = Self::new();
        crate::plugins::register_defaults(&mut r);
        r
    }

    /// Registers a factory under `name`.
    ///
    /// # Errors
    /// [`SchedError::DuplicatePlugin`] when the name is taken.
    pub fn register(
        &mut self,
        name: &str,
        factory: impl Fn(&serde_json::Value, &PluginContext) -> Result<PluginSet, SchedError> + Send + Sync + 'static,
    ) -> Result<(), SchedError> {
        if self.factories.contains_key(name) {
            return Err(SchedError::DuplicatePlugin(name.to_owned()));
        }
        self.factories.insert(name.to_owned(), Arc::new(factory));
        Ok(())
    }

    /// Whether `name` is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.factories.contains_key(name)
    }

    /// The factory of `name`.
    pub fn get(&self, name: &str) -> Option<&PluginFactory> {
        self.factories.get(name)
    }

    /// Registered names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.factories.keys().map(String::as_str)
    }
}
