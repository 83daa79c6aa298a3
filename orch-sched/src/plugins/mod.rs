//! The built-in plugins, and the default profile's plugin list with Kubernetes' weights.

mod balanced_allocation;
mod default_binder;
mod default_preemption;
mod image_locality;
mod inter_pod_affinity;
mod node_affinity;
mod node_name;
mod node_resources_fit;
mod node_unschedulable;
mod pod_topology_spread;
mod queue_sort;
mod taint_toleration;
#[cfg(test)]
pub(crate) mod testing;

use std::sync::Arc;

pub use balanced_allocation::{NODE_RESOURCES_BALANCED_ALLOCATION, NodeResourcesBalancedAllocation};
pub use default_binder::{DEFAULT_BINDER, DefaultBinder};
pub use default_preemption::{DEFAULT_PREEMPTION, DefaultPreemption};
pub use image_locality::{IMAGE_LOCALITY, ImageLocality};
pub use inter_pod_affinity::{
    ERR_REASON_AFFINITY_RULES_NOT_MATCH, ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH,
    ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH, INTER_POD_AFFINITY, InterPodAffinity,
};
pub use node_affinity::{
    ERR_REASON_POD_NOT_MATCH_NODE_SELECTOR, NODE_AFFINITY, NodeAffinity, pod_matches_node, term_matches,
};
pub use node_name::{ERR_REASON_NODE_NAME, NODE_NAME, NodeName};
pub use node_resources_fit::{
    NODE_RESOURCES_FIT, NodeResourcesFit, NodeResourcesFitArgs, ResourceSpec, ScoringStrategy, ScoringStrategyType,
};
pub use node_unschedulable::{
    ERR_REASON_UNSCHEDULABLE, NODE_UNSCHEDULABLE, NodeUnschedulable, TAINT_NODE_UNSCHEDULABLE,
};
pub use pod_topology_spread::{
    ERR_REASON_CONSTRAINTS_NOT_MATCH, ERR_REASON_NODE_LABEL_NOT_MATCH, POD_TOPOLOGY_SPREAD, PodTopologySpread,
};
pub use queue_sort::{PRIORITY_SORT, PrioritySort};
pub use taint_toleration::{TAINT_TOLERATION, TaintToleration};

use crate::{PluginConfig, PluginRegistry, PluginSet, SchedError};

fn no_args(name: &str, args: &serde_json::Value) -> Result<(), SchedError> {
    if args.is_null() || args.as_object().is_some_and(|o| o.is_empty()) {
        Ok(())
    } else {
        Err(SchedError::InvalidArgs { plugin: name.to_owned(), reason: "this plugin takes no args".into() })
    }
}

/// Registers every built-in plugin under its name.
pub fn register_defaults(r: &mut PluginRegistry) {
    let mut add =
        |name: &'static str, f: fn(&serde_json::Value, &crate::PluginContext) -> Result<PluginSet, SchedError>| {
            // Built-in names are distinct, so this cannot collide on a fresh registry.
            let _ = r.register(name, f);
        };
    add(PRIORITY_SORT, |a, _| {
        no_args(PRIORITY_SORT, a).map(|_| PluginSet::default().queue_sort(Arc::new(PrioritySort)))
    });
    add(NODE_NAME, |a, _| no_args(NODE_NAME, a).map(|_| PluginSet::default().filter(Arc::new(NodeName))));
    add(NODE_UNSCHEDULABLE, |a, _| {
        no_args(NODE_UNSCHEDULABLE, a).map(|_| PluginSet::default().filter(Arc::new(NodeUnschedulable)))
    });
    add(NODE_RESOURCES_FIT, |a, _| {
        let p = Arc::new(NodeResourcesFit::from_json(a)?);
        Ok(PluginSet::default().filter(p.clone()).score(p))
    });
    add(NODE_RESOURCES_BALANCED_ALLOCATION, |a, _| {
        no_args(NODE_RESOURCES_BALANCED_ALLOCATION, a)
            .map(|_| PluginSet::default().score(Arc::new(NodeResourcesBalancedAllocation::default())))
    });
    add(NODE_AFFINITY, |a, _| {
        no_args(NODE_AFFINITY, a)?;
        let p = Arc::new(NodeAffinity);
        Ok(PluginSet::default().pre_filter(p.clone()).filter(p.clone()).pre_score(p.clone()).score(p))
    });
    add(TAINT_TOLERATION, |a, _| {
        no_args(TAINT_TOLERATION, a)?;
        let p = Arc::new(TaintToleration);
        Ok(PluginSet::default().filter(p.clone()).score(p))
    });
    add(IMAGE_LOCALITY, |a, _| {
        no_args(IMAGE_LOCALITY, a)?;
        let p = Arc::new(ImageLocality);
        Ok(PluginSet::default().pre_score(p.clone()).score(p))
    });
    add(POD_TOPOLOGY_SPREAD, |a, _| {
        no_args(POD_TOPOLOGY_SPREAD, a)?;
        let p = Arc::new(PodTopologySpread);
        Ok(PluginSet::default().pre_filter(p.clone()).filter(p.clone()).pre_score(p.clone()).score(p))
    });
    add(INTER_POD_AFFINITY, |a, _| {
        no_args(INTER_POD_AFFINITY, a)?;
        let p = Arc::new(InterPodAffinity);
        Ok(PluginSet::default().pre_filter(p.clone()).filter(p.clone()).pre_score(p.clone()).score(p))
    });
    add(DEFAULT_PREEMPTION, |a, _| {
        no_args(DEFAULT_PREEMPTION, a).map(|_| PluginSet::default().post_filter(Arc::new(DefaultPreemption::default())))
    });
    add(DEFAULT_BINDER, |a, ctx| {
        no_args(DEFAULT_BINDER, a)?;
        let store = ctx.store.clone().ok_or_else(|| SchedError::MissingStore(DEFAULT_BINDER.into()))?;
        Ok(PluginSet::default().bind(Arc::new(DefaultBinder::new(store))))
    });
}

/// The default profile's plugins, in Kubernetes' order, with its Score weights
/// (TaintToleration 3, NodeAffinity 2, PodTopologySpread 2, InterPodAffinity 2, others 1).
pub fn default_plugin_configs() -> Vec<PluginConfig> {
    [
        (PRIORITY_SORT, 1),
        (NODE_UNSCHEDULABLE, 1),
        (NODE_NAME, 1),
        (TAINT_TOLERATION, 3),
        (NODE_AFFINITY, 2),
        (NODE_RESOURCES_FIT, 1),
        (POD_TOPOLOGY_SPREAD, 2),
        (INTER_POD_AFFINITY, 2),
        (DEFAULT_PREEMPTION, 1),
        (NODE_RESOURCES_BALANCED_ALLOCATION, 1),
        (IMAGE_LOCALITY, 1),
        (DEFAULT_BINDER, 1),
    ]
    .into_iter()
    .map(|(name, w)| PluginConfig::new(name).weight(w))
    .collect()
}
