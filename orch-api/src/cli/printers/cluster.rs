//! Rows of cluster kinds: nodes (status, roles, version), namespaces, events and leases.

use orch_core::{DynamicObject, Timestamp};
use serde_json::Value;

use super::{age, field, list, object_age, or_none, text, timestamp};

/// Node columns.
pub const NODE_COLUMNS: &[&str] = &["NAME", "STATUS", "ROLES", "AGE", "VERSION"];
/// Extra node columns with `-o wide`.
pub const NODE_WIDE: &[&str] = &["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"];
/// Namespace columns.
pub const NAMESPACE_COLUMNS: &[&str] = &["NAME", "STATUS", "AGE"];
/// Event columns.
pub const EVENT_COLUMNS: &[&str] = &["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"];
/// Lease columns.
pub const LEASE_COLUMNS: &[&str] = &["NAME", "HOLDER", "AGE"];

/// Label prefix that gives a node a role (`node-role.kubernetes.io/control-plane`).
const ROLE_PREFIX: &str = "node-role.kubernetes.io/";

/// One node row.
pub fn node_row(node: &DynamicObject, wide: bool, now: Timestamp) -> Vec<String> {
    let ready = list(node, "status.conditions")
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))
        .and_then(|c| c.get("status").and_then(Value::as_str));
    let mut status = match ready {
        Some("True") => "Ready",
        Some("False") => "NotReady",
        _ => "Unknown",
    }
    .to_owned();
    if field(node, "spec.unschedulable").and_then(Value::as_bool) == Some(true) {
        status.push_str(",SchedulingDisabled");
    }
    let roles: Vec<&str> =
        node.metadata.labels.keys().filter_map(|k| k.strip_prefix(ROLE_PREFIX)).filter(|r| !r.is_empty()).collect();
    let mut row = vec![
        node.name().to_owned(),
        status,
        or_none(roles.join(",")),
        object_age(node, now),
        or_none(text(node, "status.nodeInfo.kubeletVersion").unwrap_or("")),
    ];
    if wide {
        let address = |kind: &str| {
            list(node, "status.addresses")
                .iter()
                .find(|a| a.get("type").and_then(Value::as_str) == Some(kind))
                .and_then(|a| a.get("address").and_then(Value::as_str))
                .unwrap_or("")
                .to_owned()
        };
        row.push(or_none(address("InternalIP")));
        row.push(or_none(address("ExternalIP")));
        for key in ["osImage", "kernelVersion", "containerRuntimeVersion"] {
            row.push(or_none(text(node, &format!("status.nodeInfo.{key}")).unwrap_or("")));
        }
    }
    row
}

/// One namespace row.
pub fn namespace_row(ns: &DynamicObject, _wide: bool, now: Timestamp) -> Vec<String> {
    let phase = text(ns, "status.phase").unwrap_or(if ns.metadata.is_deleting() { "Terminating" } else { "Active" });
    vec![ns.name().to_owned(), phase.to_owned(), object_age(ns, now)]
}

/// One event row.
pub fn event_row(ev: &DynamicObject, _wide: bool, now: Timestamp) -> Vec<String> {
    let last = timestamp(ev, "lastTimestamp").or_else(|| timestamp(ev, "eventTime")).or(ev.metadata.creation_timestamp);
    let object = format!(
        "{}/{}",
        text(ev, "involvedObject.kind").unwrap_or("").to_ascii_lowercase(),
        text(ev, "involvedObject.name").unwrap_or("")
    );
    vec![
        age(last, now),
        text(ev, "type").unwrap_or("Normal").to_owned(),
        text(ev, "reason").unwrap_or("").to_owned(),
        object,
        text(ev, "message").unwrap_or("").to_owned(),
    ]
}

/// One lease row.
pub fn lease_row(lease: &DynamicObject, _wide: bool, now: Timestamp) -> Vec<String> {
    vec![lease.name().to_owned(), or_none(text(lease, "spec.holderIdentity").unwrap_or("")), object_age(lease, now)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn node_row_shows_readiness_cordon_roles_and_version() {
        let node = DynamicObject::from_value(json!({"metadata":{"name":"n1",
            "labels":{"node-role.kubernetes.io/control-plane":""}},"spec":{"unschedulable":true},
            "status":{"conditions":[{"type":"Ready","status":"True"}],"nodeInfo":{"kubeletVersion":"v0.1.0"},
            "addresses":[{"type":"InternalIP","address":"127.1.0.1"}]}}))
        .unwrap();
        let row = node_row(&node, true, Timestamp::EPOCH);
        assert_eq!(row[..5], ["n1", "Ready,SchedulingDisabled", "control-plane", "<unknown>", "v0.1.0"]);
        assert_eq!(row[5..7], ["127.1.0.1", "<none>"]);
    }

    #[test]
    fn node_without_conditions_is_unknown() {
        let node = DynamicObject::from_value(json!({"metadata":{"name":"n2"}})).unwrap();
        assert_eq!(node_row(&node, false, Timestamp::EPOCH)[1..3], ["Unknown", "<none>"]);
    }

    #[test]
    fn event_row_names_the_object() {
        let ev =
            DynamicObject::from_value(json!({"metadata":{"name":"e"},"involvedObject":{"kind":"Pod","name":"web"},
            "reason":"Scheduled","message":"assigned to n1","lastTimestamp":"1970-01-01T00:00:10Z"}))
            .unwrap();
        assert_eq!(
            event_row(&ev, false, Timestamp::from_unix(70, 0)),
            ["60s", "Normal", "Scheduled", "pod/web", "assigned to n1"]
        );
    }
}
