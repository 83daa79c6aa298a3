//! `Profile`: one scheduler (by `schedulerName`) with its plugins, weights, args and sampling.

use serde::{Deserialize, Serialize};

/// The default profile's name, and what pods without `spec.schedulerName` ask for.
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";

/// One enabled plugin: its name, Score weight and args.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginConfig {
    /// Registered plugin name.
    pub name: String,
    /// Weight of its Score (ignored for plugins without Score).
    #[serde(default = "one")]
    pub weight: i64,
    /// Plugin-specific configuration, passed to its factory.
    #[serde(default)]
    pub args: serde_json::Value,
}

fn one() -> i64 {
    1
}

impl PluginConfig {
    /// A plugin with weight 1 and no args.
    pub fn new(name: impl Into<String>) -> Self {
        PluginConfig { name: name.into(), weight: 1, args: serde_json::Value::Null }
    }

    /// Sets the Score weight.
    pub fn weight(mut self, weight: i64) -> Self {
        self.weight = weight;
        self
    }

    /// Sets the args.
    pub fn args(mut self, args: serde_json::Value) -> Self {
        self.args = args;
        self
    }
}

/// A scheduling profile: pods whose `spec.schedulerName` equals `scheduler_name` are placed by
/// these plugins (in this order at each extension point).
///
/// ```
/// use orch_sched::{PluginConfig, Profile};
/// let p = Profile::default_profile()
///     .without_plugin("ImageLocality")
///     .with_plugin(PluginConfig::new("MyPlugin").weight(5))
///     .with_args("NodeResourcesFit", serde_json::json!({"scoringStrategy": {"type": "MostAllocated"}}))
///     .percentage_of_nodes_to_score(100);
/// assert!(p.plugins.iter().all(|c| c.name != "ImageLocality"));
/// assert_eq!(p.plugins.last().unwrap().weight, 5);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// The `schedulerName` this profile serves.
    pub scheduler_name: String,
    /// Enabled plugins in order.
    pub plugins: Vec<PluginConfig>,
    /// Percentage of nodes to evaluate once enough feasible nodes are found; `None` (or 0) is
    /// Kubernetes' adaptive default (50% minus 1% per 125 nodes, at least 5%, at least 100 nodes).
    #[serde(default)]
    pub percentage_of_nodes_to_score: Option<u32>,
}

impl Profile {
    /// An empty profile.
    pub fn new(scheduler_name: impl Into<String>) -> Self {
        Profile { scheduler_name: scheduler_name.into(), plugins: Vec::new(), percentage_of_nodes_to_score: None }
    }

    /// `default-scheduler` with the default plugins and weights.
    pub fn default_profile() -> Self {
        Profile { plugins: crate::plugins::default_plugin_configs(), ..Profile::new(DEFAULT_SCHEDULER_NAME) }
    }

    /// Appends a plugin (replacing one of the same name).
    pub fn with_plugin(mut self, plugin: PluginConfig) -> Self {
        self.plugins.retain(|p| p.name != plugin.name);
        self.plugins.push(plugin);
        self
    }

    /// Removes a plugin.
    pub fn without_plugin(mut self, name: &str) -> Self {
        self.plugins.retain(|p| p.name != name);
        self
    }

    /// Sets a plugin's args.
    pub fn with_args(mut self, name: &str, args: serde_json::Value) -> Self {
        if let Some(p) = self.plugins.iter_mut().find(|p| p.name == name) {
            p.args = args;
        }
        self
    }

    /// Sets a plugin's Score weight.
    pub fn with_weight(mut self, name: &str, weight: i64) -> Self {
        if let Some(p) = self.plugins.iter_mut().find(|p| p.name == name) {
            p.weight = weight;
        }
        self
    }

    /// Sets `percentageOfNodesToScore` (1..=100).
    pub fn percentage_of_nodes_to_score(mut self, percentage: u32) -> Self {
        self.percentage_of_nodes_to_score = Some(percentage);
        self
    }

    /// Renames the profile.
    pub fn scheduler_name(mut self, name: impl Into<String>) -> Self {
        self.scheduler_name = name.into();
        self
    }
}
