//! `Lease` (coordination.k8s.io/v1): node heartbeats and leader election.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{ObjectMeta, Timestamp};

/// A lease held by one holder at a time, renewed to stay valid.
///
/// ```
/// use orch_core::kinds::Lease;
/// let l: Lease = serde_json::from_value(serde_json::json!({
///     "metadata": {"name": "n1", "namespace": "kube-node-lease"},
///     "spec": {"holderIdentity": "n1", "leaseDurationSeconds": 40, "renewTime": "2024-05-01T12:00:00.000000Z"}
/// })).unwrap();
/// assert_eq!(l.spec.lease_duration_seconds, Some(40));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    /// Standard metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The lease.
    #[serde(default)]
    pub spec: LeaseSpec,
}

/// Holder and timing of a lease.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeaseSpec {
    /// Who holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_identity: Option<String>,
    /// How long a renewal keeps it valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_duration_seconds: Option<i32>,
    /// When the current holder acquired it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acquire_time: Option<Timestamp>,
    /// When it was last renewed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renew_time: Option<Timestamp>,
    /// How many times it changed hands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_transitions: Option<i32>,
}

crate::resource!(
    Lease,
    group = "coordination.k8s.io",
    version = "v1",
    plural = "leases",
    scope = Namespaced,
    validate = crate::validation::kinds::validate_lease
);
