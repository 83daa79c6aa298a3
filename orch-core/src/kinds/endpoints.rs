//! `Endpoints` (core/v1): the ready and not-ready addresses behind a service.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{ObjectMeta, ObjectRef};

/// The addresses behind a service, maintained by the endpoints controller (same name as the service).
///
/// ```
/// use orch_core::kinds::Endpoints;
/// let ep: Endpoints = serde_json::from_value(serde_json::json!({
///     "metadata": {"name": "web"},
///     "subsets": [{"addresses": [{"ip": "127.64.0.5", "nodeName": "n1"}], "ports": [{"port": 8080}]}]
/// })).unwrap();
/// assert_eq!(ep.subsets[0].addresses[0].node_name.as_deref(), Some("n1"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    /// Standard metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Sets of addresses sharing the same ports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subsets: Vec<EndpointSubset>,
}

/// Addresses that share one set of ports.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointSubset {
    /// Ready addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<EndpointAddress>,
    /// Addresses not ready to serve.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_ready_addresses: Vec<EndpointAddress>,
    /// Ports of these addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<EndpointPort>,
}

/// One endpoint address.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointAddress {
    /// The IP.
    pub ip: String,
    /// Hostname of the endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Node hosting the endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    /// The pod behind it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_ref: Option<ObjectRef>,
}

/// One endpoint port.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointPort {
    /// Name, matching the service port's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Port number.
    pub port: i32,
    /// `TCP` (default), `UDP` or `SCTP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Application protocol hint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
}

crate::resource!(
    Endpoints,
    group = "",
    version = "v1",
    plural = "endpoints",
    scope = Namespaced,
    validate = crate::validation::kinds::validate_endpoints
);
