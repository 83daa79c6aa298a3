//! `Condition`: the `status.conditions[]` entry shared by pods, nodes, deployments and replica sets.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// One observed condition (`type`, `status` `"True"`/`"False"`/`"Unknown"`, reason, message, times).
///
/// The time fields of every Kubernetes condition flavour are here, all optional, so one type
/// serves `PodCondition`, `NodeCondition`, `DeploymentCondition` and `ReplicaSetCondition`.
///
/// ```
/// use orch_core::kinds::Condition;
/// let c = Condition::new("Ready", true);
/// assert_eq!(c.status, "True");
/// assert!(c.is_true());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Condition type, e.g. `Ready`, `PodScheduled`, `Available`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `"True"`, `"False"` or `"Unknown"`.
    pub status: String,
    /// A one-word CamelCase reason for the last transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the status last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Timestamp>,
    /// When the condition was last probed (pods).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_probe_time: Option<Timestamp>,
    /// When the node last reported it (nodes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_heartbeat_time: Option<Timestamp>,
    /// When it was last updated (deployments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<Timestamp>,
}

impl Condition {
    /// A condition of `type_` with status `"True"` or `"False"`.
    pub fn new(type_: impl Into<String>, status: bool) -> Self {
        Condition {
            type_: type_.into(),
            status: if status { "True" } else { "False" }.to_owned(),
            ..Default::default()
        }
    }

    /// Whether the status is `"True"`.
    pub fn is_true(&self) -> bool {
        self.status == "True"
    }
}

/// The condition of the given type in a list, if present.
pub fn find_condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}
