//! `Deployment` (apps/v1): declarative rollouts of a pod template through replica sets.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Condition, IntOrString, PodTemplateSpec};
use crate::{LabelSelector, ObjectMeta};

/// Rolls a pod template out through replica sets, `RollingUpdate` or `Recreate`.
///
/// ```
/// use orch_core::kinds::{Deployment, IntOrString};
/// let d: Deployment = serde_json::from_value(serde_json::json!({
///     "metadata": {"name": "web"},
///     "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
///              "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": "25%"}},
///              "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}
/// })).unwrap();
/// assert_eq!(d.spec.strategy.max_surge(4), 1);
/// assert_eq!(d.spec.strategy.max_unavailable(4), 1);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// Standard metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Desired state.
    #[serde(default)]
    pub spec: DeploymentSpec,
    /// Observed state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DeploymentStatus>,
}

/// Desired state of a deployment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentSpec {
    /// Desired number of pods (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Which pods belong to this deployment; must match the template's labels.
    #[serde(default)]
    pub selector: LabelSelector,
    /// Template of the pods.
    #[serde(default)]
    pub template: PodTemplateSpec,
    /// How old pods are replaced by new ones.
    #[serde(default, skip_serializing_if = "DeploymentStrategy::is_unset")]
    pub strategy: DeploymentStrategy,
    /// Seconds a pod must be ready to count as available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ready_seconds: Option<i32>,
    /// Old replica sets kept for rollback (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_history_limit: Option<i32>,
    /// When true, changes to the template do not roll out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
    /// Seconds without progress before the rollout is reported failed (default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_deadline_seconds: Option<i32>,
}

/// The rollout strategy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentStrategy {
    /// `RollingUpdate` (default) or `Recreate`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Parameters of a rolling update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling_update: Option<RollingUpdateDeployment>,
}

impl DeploymentStrategy {
    fn is_unset(&self) -> bool {
        *self == DeploymentStrategy::default()
    }

    /// Whether this is a `Recreate` rollout.
    pub fn is_recreate(&self) -> bool {
        self.type_.as_deref() == Some("Recreate")
    }

    /// Pods allowed above `replicas` during a rolling update (default 25%, rounded up).
    pub fn max_surge(&self, replicas: i32) -> i32 {
        if self.is_recreate() {
            return 0;
        }
        let v = self.rolling_update.as_ref().and_then(|r| r.max_surge.clone());
        v.unwrap_or_else(|| IntOrString::from("25%")).scaled_value(replicas, true).unwrap_or(0).max(0)
    }

    /// Pods allowed below `replicas` during a rolling update (default 25%, rounded down).
    /// As in Kubernetes, when both surge and unavailability resolve to 0, one pod may be unavailable.
    pub fn max_unavailable(&self, replicas: i32) -> i32 {
        if self.is_recreate() {
            return replicas;
        }
        let v = self.rolling_update.as_ref().and_then(|r| r.max_unavailable.clone());
        let u = v.unwrap_or_else(|| IntOrString::from("25%")).scaled_value(replicas, false).unwrap_or(0).max(0);
        if u == 0 && self.max_surge(replicas) == 0 { 1.min(replicas) } else { u.min(replicas) }
    }
}

/// Parameters of a rolling update, each an absolute number or a percentage of `replicas`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RollingUpdateDeployment {
    /// Pods allowed above `replicas` (default 25%).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_surge: Option<IntOrString>,
    /// Pods allowed to be unavailable (default 25%).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrString>,
}

/// Observed state of a deployment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentStatus {
    /// The generation this status reflects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Pods of all its replica sets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Pods made from the current template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_replicas: Option<i32>,
    /// Ready pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<i32>,
    /// Pods ready for at least `minReadySeconds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_replicas: Option<i32>,
    /// Pods still needed for full availability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable_replicas: Option<i32>,
    /// `Available`, `Progressing`, `ReplicaFailure`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Hash collisions seen when naming replica sets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collision_count: Option<i32>,
}

crate::resource!(
    Deployment,
    group = "apps",
    version = "v1",
    plural = "deployments",
    scope = Namespaced,
    validate = crate::validation::kinds::validate_deployment
);
