//! `Namespace` (core/v1): a scope for names.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ObjectMeta;

/// A namespace: a scope for the names of namespaced objects.
///
/// ```
/// use orch_core::{kinds::Namespace, ObjectMeta, Resource};
/// let ns = Namespace { metadata: ObjectMeta::named("team-a"), ..Default::default() };
/// assert_eq!(Namespace::PLURAL, "namespaces");
/// assert_eq!(ns.metadata.name.as_deref(), Some("team-a"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Namespace {
    /// Standard metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Desired state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<NamespaceSpec>,
    /// Observed state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<NamespaceStatus>,
}

/// Desired state of a namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceSpec {
    /// Finalizers that must be cleared before the namespace is removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finalizers: Vec<String>,
}

/// Observed state of a namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceStatus {
    /// `Active` or `Terminating`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
}

crate::resource!(
    Namespace,
    group = "",
    version = "v1",
    plural = "namespaces",
    scope = Cluster,
    validate = crate::validation::kinds::validate_namespace
);
