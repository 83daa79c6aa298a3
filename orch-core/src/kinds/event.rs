//! `Event` (core/v1): a report of something that happened to an object.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{ObjectMeta, ObjectRef, Timestamp};

/// Something that happened to an object; repeats are aggregated by raising `count`.
///
/// ```
/// use orch_core::kinds::Event;
/// let e: Event = serde_json::from_value(serde_json::json!({
///     "metadata": {"name": "web.1", "namespace": "default"},
///     "involvedObject": {"kind": "Pod", "name": "web"},
///     "reason": "Scheduled", "message": "assigned to n1", "type": "Normal", "count": 1
/// })).unwrap();
/// assert_eq!(e.reason.as_deref(), Some("Scheduled"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Standard metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The object this event is about.
    #[serde(default)]
    pub involved_object: ObjectRef,
    /// Short CamelCase reason, e.g. `Scheduled`, `BackOff`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Component that reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<EventSource>,
    /// When it first happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_timestamp: Option<Timestamp>,
    /// When it last happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_timestamp: Option<Timestamp>,
    /// How many times it happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i32>,
    /// `Normal` or `Warning`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Precise time of the first occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_time: Option<Timestamp>,
    /// What action was taken or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Controller that emitted it, e.g. `orch.io/scheduler`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporting_component: Option<String>,
    /// Instance of that controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporting_instance: Option<String>,
    /// A second object involved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related: Option<ObjectRef>,
}

/// The component that reported an event.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EventSource {
    /// Component name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// Node name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

crate::resource!(
    Event,
    group = "",
    version = "v1",
    plural = "events",
    scope = Namespaced,
    validate = crate::validation::kinds::validate_event
);
