//! `ReplicaSet` (apps/v1): keeps a number of identical pods running.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Condition, PodTemplateSpec};
use crate::{LabelSelector, ObjectMeta};

/// Keeps `replicas` pods matching `selector` running, made from `template`.
///
/// ```
/// use orch_core::kinds::ReplicaSet;
/// let rs: ReplicaSet = serde_json::from_value(serde_json::json!({
///     "metadata": {"name": "web-1"},
///     "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
///              "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}
/// })).unwrap();
/// assert_eq!(rs.spec.replicas, Some(3));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaSet {
    /// Standard metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Desired state.
    #[serde(default)]
    pub spec: ReplicaSetSpec,
    /// Observed state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ReplicaSetStatus>,
}

/// Desired state of a replica set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaSetSpec {
    /// Desired number of pods (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Seconds a pod must be ready to count as available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ready_seconds: Option<i32>,
    /// Which pods belong to this set; must match the template's labels.
    #[serde(default)]
    pub selector: LabelSelector,
    /// Template of new pods.
    #[serde(default)]
    pub template: PodTemplateSpec,
}

/// Observed state of a replica set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaSetStatus {
    /// Pods that exist.
    #[serde(default)]
    pub replicas: i32,
    /// Pods whose labels match the template's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fully_labeled_replicas: Option<i32>,
    /// Pods that are ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<i32>,
    /// Pods ready for at least `minReadySeconds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_replicas: Option<i32>,
    /// The generation this status reflects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions, e.g. `ReplicaFailure`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

crate::resource!(
    ReplicaSet,
    group = "apps",
    version = "v1",
    plural = "replicasets",
    scope = Namespaced,
    validate = crate::validation::kinds::validate_replica_set
);
