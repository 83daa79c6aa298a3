//! Rows of workload kinds: pods (READY, STATUS, RESTARTS as kubectl computes them), deployments and replica sets.

use orch_core::{DynamicObject, Timestamp};
use serde_json::Value;

use super::{field, int, list, object_age, or_none, text};

/// Pod columns.
pub const POD_COLUMNS: &[&str] = &["NAME", "READY", "STATUS", "RESTARTS", "AGE"];
/// Extra pod columns with `-o wide`.
pub const POD_WIDE: &[&str] = &["IP", "NODE"];
/// Deployment columns.
pub const DEPLOY_COLUMNS: &[&str] = &["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"];
/// Replica set columns.
pub const RS_COLUMNS: &[&str] = &["NAME", "DESIRED", "CURRENT", "READY", "AGE"];
/// Extra columns of kinds with a pod template, with `-o wide`.
pub const TEMPLATE_WIDE: &[&str] = &["CONTAINERS", "IMAGES", "SELECTOR"];

/// One pod row.
pub fn pod_row(pod: &DynamicObject, wide: bool, now: Timestamp) -> Vec<String> {
    let statuses = list(pod, "status.containerStatuses");
    let ready = statuses.iter().filter(|s| s.get("ready").and_then(Value::as_bool) == Some(true)).count();
    let restarts: i64 = statuses.iter().filter_map(|s| s.get("restartCount").and_then(Value::as_i64)).sum();
    let mut row = vec![
        pod.name().to_owned(),
        format!("{ready}/{}", list(pod, "spec.containers").len()),
        pod_status(pod),
        restarts.to_string(),
        object_age(pod, now),
    ];
    if wide {
        row.push(or_none(text(pod, "status.podIP").unwrap_or("")));
        row.push(or_none(text(pod, "spec.nodeName").unwrap_or("")));
    }
    row
}

/// The STATUS column of a pod: the phase, refined by init progress, container waiting or
/// terminated reasons, and `Terminating` while deletion is pending (kubectl's `printPod`).
pub fn pod_status(pod: &DynamicObject) -> String {
    let mut reason = text(pod, "status.reason").or_else(|| text(pod, "status.phase")).unwrap_or("Pending").to_owned();
    let init_total = list(pod, "spec.initContainers").len();
    let mut initializing = false;
    for (i, s) in list(pod, "status.initContainerStatuses").iter().enumerate() {
        let terminated = s.pointer("/state/terminated");
        if terminated.and_then(|t| t.get("exitCode")).and_then(Value::as_i64) == Some(0) {
            continue;
        }
        initializing = true;
        let waiting = s.pointer("/state/waiting/reason").and_then(Value::as_str).filter(|r| *r != "PodInitializing");
        reason = match (terminated, waiting) {
            (Some(t), _) => format!("Init:{}", terminated_reason(t)),
            (None, Some(w)) => format!("Init:{w}"),
            (None, None) => format!("Init:{i}/{init_total}"),
        };
        break;
    }
    if !initializing {
        let mut running = false;
        for s in list(pod, "status.containerStatuses").iter().rev() {
            if let Some(w) = s.pointer("/state/waiting/reason").and_then(Value::as_str).filter(|r| !r.is_empty()) {
                reason = w.to_owned();
            } else if let Some(t) = s.pointer("/state/terminated") {
                reason = terminated_reason(t);
            } else if s.get("ready").and_then(Value::as_bool) == Some(true) && s.pointer("/state/running").is_some() {
                running = true;
            }
        }
        if reason == "Completed" && running {
            reason = "Running".to_owned();
        }
    }
    if pod.metadata.is_deleting() {
        reason = if text(pod, "status.reason") == Some("NodeLost") { "Unknown" } else { "Terminating" }.to_owned();
    }
    reason
}

fn terminated_reason(t: &Value) -> String {
    if let Some(r) = t.get("reason").and_then(Value::as_str).filter(|r| !r.is_empty()) {
        return r.to_owned();
    }
    match t.get("signal").and_then(Value::as_i64).filter(|s| *s != 0) {
        Some(sig) => format!("Signal:{sig}"),
        None => format!("ExitCode:{}", t.get("exitCode").and_then(Value::as_i64).unwrap_or(0)),
    }
}

/// One deployment row.
pub fn deployment_row(d: &DynamicObject, wide: bool, now: Timestamp) -> Vec<String> {
    let desired = field(d, "spec.replicas").and_then(Value::as_i64).unwrap_or(1);
    let mut row = vec![
        d.name().to_owned(),
        format!("{}/{desired}", int(d, "status.readyReplicas")),
        int(d, "status.updatedReplicas").to_string(),
        int(d, "status.availableReplicas").to_string(),
        object_age(d, now),
    ];
    if wide {
        row.extend(template_columns(d));
    }
    row
}

/// One replica set row.
pub fn replica_set_row(rs: &DynamicObject, wide: bool, now: Timestamp) -> Vec<String> {
    let desired = field(rs, "spec.replicas").and_then(Value::as_i64).unwrap_or(1);
    let mut row = vec![
        rs.name().to_owned(),
        desired.to_string(),
        int(rs, "status.replicas").to_string(),
        int(rs, "status.readyReplicas").to_string(),
        object_age(rs, now),
    ];
    if wide {
        row.extend(template_columns(rs));
    }
    row
}

/// CONTAINERS, IMAGES and SELECTOR of a kind with `spec.template` and `spec.selector`.
fn template_columns(obj: &DynamicObject) -> [String; 3] {
    let containers = list(obj, "spec.template.spec.containers");
    let join =
        |key: &str| containers.iter().filter_map(|c| c.get(key).and_then(Value::as_str)).collect::<Vec<_>>().join(",");
    [or_none(join("name")), or_none(join("image")), or_none(selector(field(obj, "spec.selector")))]
}

/// A label selector in its string form: `app=web,tier in (a,b)`.
pub fn selector(sel: Option<&Value>) -> String {
    let Some(sel) = sel else { return String::new() };
    let mut parts: Vec<String> = sel
        .get("matchLabels")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect())
        .unwrap_or_default();
    for e in sel.get("matchExpressions").and_then(Value::as_array).map_or(&[][..], Vec::as_slice) {
        let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
        let values: Vec<&str> = e
            .get("values")
            .and_then(Value::as_array)
            .map(|v| v.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        parts.push(match e.get("operator").and_then(Value::as_str).unwrap_or_default() {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_owned(),
            "DoesNotExist" => format!("!{key}"),
            other => format!("{key} {other} ({})", values.join(",")),
        });
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> DynamicObject {
        DynamicObject::from_value(v).unwrap()
    }

    #[test]
    fn running_pod_shows_ready_count_restarts_and_wide_columns() {
        let pod = obj(
            json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","creationTimestamp":"2024-01-01T00:00:00Z"},
            "spec":{"nodeName":"n1","containers":[{"name":"a","image":"x"},{"name":"b","image":"y"}]},
            "status":{"phase":"Running","podIP":"127.64.0.5","containerStatuses":[
                {"name":"a","ready":true,"restartCount":2,"state":{"running":{}}},
                {"name":"b","ready":false,"restartCount":1,"state":{"running":{}}}]}}),
        );
        let now: Timestamp = "2024-01-01T00:03:00Z".parse().unwrap();
        assert_eq!(pod_row(&pod, true, now), ["web", "1/2", "Running", "3", "3m", "127.64.0.5", "n1"]);
    }

    #[test]
    fn pod_status_prefers_waiting_reasons_init_progress_and_terminating() {
        let waiting = obj(json!({"metadata":{"name":"p"},"spec":{"containers":[{"name":"a"}]},
            "status":{"phase":"Pending","containerStatuses":[{"name":"a","state":{"waiting":{"reason":"CrashLoopBackOff"}}}]}}));
        assert_eq!(pod_status(&waiting), "CrashLoopBackOff");
        let init = obj(json!({"metadata":{"name":"p"},"spec":{"initContainers":[{"name":"i"},{"name":"j"}]},
            "status":{"phase":"Pending","initContainerStatuses":[{"name":"i","state":{"terminated":{"exitCode":0}}},{"name":"j","state":{"running":{}}}]}}));
        assert_eq!(pod_status(&init), "Init:1/2");
        let failed = obj(
            json!({"metadata":{"name":"p"},"status":{"phase":"Failed","containerStatuses":[{"name":"a","state":{"terminated":{"exitCode":137}}}]}}),
        );
        assert_eq!(pod_status(&failed), "ExitCode:137");
        let deleting = obj(
            json!({"metadata":{"name":"p","deletionTimestamp":"2024-01-01T00:00:00Z"},"status":{"phase":"Running"}}),
        );
        assert_eq!(pod_status(&deleting), "Terminating");
        let fresh = obj(json!({"metadata":{"name":"p"}}));
        assert_eq!(pod_status(&fresh), "Pending");
    }

    #[test]
    fn deployment_row_counts_replicas_and_wide_shows_template() {
        let d = obj(json!({"metadata":{"name":"web"},"spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"},
            "matchExpressions":[{"key":"tier","operator":"In","values":["a","b"]}]},
            "template":{"spec":{"containers":[{"name":"c","image":"nginx:1"}]}}},
            "status":{"readyReplicas":2,"updatedReplicas":3,"availableReplicas":2}}));
        let row = deployment_row(&d, true, Timestamp::EPOCH);
        assert_eq!(row, ["web", "2/3", "3", "2", "<unknown>", "c", "nginx:1", "app=web,tier in (a,b)"]);
    }

    #[test]
    fn replica_set_row_defaults_to_one_desired() {
        let rs = obj(json!({"metadata":{"name":"web-1"},"spec":{},"status":{"replicas":1}}));
        assert_eq!(replica_set_row(&rs, false, Timestamp::EPOCH), ["web-1", "1", "1", "0", "<unknown>"]);
    }
}
