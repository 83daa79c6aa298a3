//! Kind-specific parts of `describe`: pods (node, status, containers, conditions), deployments and replica sets (replicas, strategy, template), services and nodes.

use orch_core::{DynamicObject, KindInfo};
use serde_json::Value;

use super::describe::Report;
use super::printers::{pod_status, selector};

/// Adds the sections of the kinds that have them; `false` for other kinds (then the generic
/// describer prints every field).
pub fn describe_sections(info: &KindInfo, obj: &DynamicObject, r: &mut Report) -> bool {
    let rt = &info.resource_type;
    match (rt.group.as_ref(), rt.kind.as_ref()) {
        ("", "Pod") => pod(obj, r),
        ("apps", "Deployment") => replicated(obj, r, true),
        ("apps", "ReplicaSet") => replicated(obj, r, false),
        ("", "Service") => service(obj, r),
        ("", "Node") => node(obj, r),
        _ => return false,
    }
    true
}

fn get<'a>(obj: &'a DynamicObject, pointer: &str) -> Option<&'a Value> {
    let (top, rest) = pointer.trim_start_matches('/').split_once('/').unwrap_or((pointer.trim_start_matches('/'), ""));
    let v = obj.data.get(top)?;
    if rest.is_empty() { Some(v) } else { v.pointer(&format!("/{rest}")) }
}

fn text(obj: &DynamicObject, pointer: &str) -> String {
    match get(obj, pointer) {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => "<none>".into(),
    }
}

fn array(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn pod(obj: &DynamicObject, r: &mut Report) {
    r.field(0, "Node", text(obj, "/spec/nodeName"));
    r.field(0, "Start Time", text(obj, "/status/startTime"));
    r.field(0, "Status", pod_status(obj));
    r.field(0, "IP", text(obj, "/status/podIP"));
    let statuses = array(get(obj, "/status/containerStatuses"));
    r.section(0, "Containers");
    for c in array(get(obj, "/spec/containers")) {
        let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
        r.section(1, name);
        r.field(2, "Image", c.get("image").and_then(Value::as_str).unwrap_or_default());
        let ports: Vec<String> = array(c.get("ports"))
            .iter()
            .filter_map(|p| p.get("containerPort").and_then(Value::as_i64))
            .map(|p| format!("{p}/TCP"))
            .collect();
        r.field(2, "Port", if ports.is_empty() { "<none>".into() } else { ports.join(", ") });
        let status = statuses.iter().find(|s| s.get("name").and_then(Value::as_str) == Some(name));
        let state = status.and_then(|s| s.get("state")).and_then(Value::as_object).and_then(|m| m.iter().next());
        match state {
            Some((k, detail)) => {
                let reason = detail.get("reason").and_then(Value::as_str);
                r.field(2, "State", capitalised(k));
                if let Some(reason) = reason {
                    r.field(3, "Reason", reason);
                }
            }
            None => r.field(2, "State", "Waiting"),
        }
        let ready = status.and_then(|s| s.get("ready")).and_then(Value::as_bool).unwrap_or(false);
        r.field(2, "Ready", if ready { "True" } else { "False" });
        let restarts = status.and_then(|s| s.get("restartCount")).and_then(Value::as_i64).unwrap_or(0);
        r.field(2, "Restart Count", restarts.to_string());
    }
    conditions(obj, r);
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

fn conditions(obj: &DynamicObject, r: &mut Report) {
    let conds = array(get(obj, "/status/conditions"));
    if conds.is_empty() {
        return;
    }
    r.section(0, "Conditions");
    let mut t = super::table::Table::new(["Type", "Status", "Reason"]);
    for c in conds {
        let f = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        t.push(vec![f("type"), f("status"), f("reason")]);
    }
    for line in t.render().lines() {
        r.raw(1, line);
    }
}

fn replicated(obj: &DynamicObject, r: &mut Report, deployment: bool) {
    r.field(0, "Selector", selector(get(obj, "/spec/selector")));
    let n = |p: &str| get(obj, p).and_then(Value::as_i64).unwrap_or(0);
    let desired = get(obj, "/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
    if deployment {
        r.field(
            0,
            "Replicas",
            format!(
                "{desired} desired | {} updated | {} total | {} available | {} unavailable",
                n("/status/updatedReplicas"),
                n("/status/replicas"),
                n("/status/availableReplicas"),
                n("/status/unavailableReplicas")
            ),
        );
        let strategy = get(obj, "/spec/strategy/type").and_then(Value::as_str).unwrap_or("RollingUpdate");
        r.field(0, "StrategyType", strategy);
    } else {
        r.field(0, "Replicas", format!("{} current / {desired} desired", n("/status/replicas")));
        r.field(0, "Pods Status", format!("{} Ready", n("/status/readyReplicas")));
    }
    r.section(0, "Pod Template");
    let labels = get(obj, "/spec/template/metadata/labels").and_then(Value::as_object);
    if let Some(labels) = labels {
        let text: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect();
        for (i, l) in text.into_iter().enumerate() {
            r.field(1, if i == 0 { "Labels" } else { "" }, l);
        }
    }
    r.section(1, "Containers");
    for c in array(get(obj, "/spec/template/spec/containers")) {
        r.section(2, c.get("name").and_then(Value::as_str).unwrap_or_default());
        r.field(3, "Image", c.get("image").and_then(Value::as_str).unwrap_or_default());
    }
    conditions(obj, r);
}

fn service(obj: &DynamicObject, r: &mut Report) {
    r.field(0, "Type", get(obj, "/spec/type").and_then(Value::as_str).unwrap_or("ClusterIP"));
    r.field(0, "IP", text(obj, "/spec/clusterIP"));
    let sel = get(obj, "/spec/selector").and_then(Value::as_object);
    let sel: Vec<String> =
        sel.into_iter().flatten().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect();
    r.field(0, "Selector", if sel.is_empty() { "<none>".into() } else { sel.join(",") });
    for p in array(get(obj, "/spec/ports")) {
        let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
        let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
        r.field(0, "Port", format!("{} {port}/{proto}", p.get("name").and_then(Value::as_str).unwrap_or("<unset>")));
        if let Some(np) = p.get("nodePort").and_then(Value::as_i64) {
            r.field(0, "NodePort", format!("{np}/{proto}"));
        }
    }
}

fn node(obj: &DynamicObject, r: &mut Report) {
    let roles: Vec<&str> = obj
        .metadata
        .labels
        .keys()
        .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/"))
        .filter(|k| !k.is_empty())
        .collect();
    r.field(0, "Roles", if roles.is_empty() { "<none>".into() } else { roles.join(",") });
    let taints: Vec<String> = array(get(obj, "/spec/taints"))
        .iter()
        .map(|t| {
            let f = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or_default();
            if f("value").is_empty() {
                format!("{}:{}", f("key"), f("effect"))
            } else {
                format!("{}={}:{}", f("key"), f("value"), f("effect"))
            }
        })
        .collect();
    r.field(0, "Taints", if taints.is_empty() { "<none>".into() } else { taints.join(", ") });
    let cordoned = get(obj, "/spec/unschedulable").and_then(Value::as_bool).unwrap_or(false);
    r.field(0, "Unschedulable", cordoned.to_string());
    r.field(0, "PodCIDR", text(obj, "/spec/podCIDR"));
    conditions(obj, r);
    let addresses = array(get(obj, "/status/addresses"));
    if !addresses.is_empty() {
        r.section(0, "Addresses");
        for a in addresses {
            let f = |k: &str| a.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
            r.field(1, &f("type"), f("address"));
        }
    }
    for (title, pointer) in [("Capacity", "/status/capacity"), ("Allocatable", "/status/allocatable")] {
        if let Some(m) = get(obj, pointer).and_then(Value::as_object).filter(|m| !m.is_empty()) {
            r.section(0, title);
            for (k, v) in m {
                r.field(1, k, v.as_str().map_or_else(|| v.to_string(), str::to_owned));
            }
        }
    }
    if get(obj, "/status/nodeInfo").is_some() {
        r.section(0, "System Info");
        for (label, key) in [
            ("Kernel Version", "kernelVersion"),
            ("OS Image", "osImage"),
            ("Operating System", "operatingSystem"),
            ("Architecture", "architecture"),
            ("Container Runtime Version", "containerRuntimeVersion"),
            ("Kubelet Version", "kubeletVersion"),
        ] {
            r.field(1, label, text(obj, &format!("/status/nodeInfo/{key}")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orch_core::KindRegistry;
    use serde_json::json;

    fn report(kind: (&str, &str), v: Value) -> String {
        let kinds = KindRegistry::with_builtins();
        let info = kinds.by_kind(kind.0, kind.1).unwrap();
        let obj = DynamicObject::from_value(v).unwrap();
        let mut r = Report::default();
        assert!(describe_sections(info, &obj, &mut r));
        r.render()
    }

    #[test]
    fn node_report_lists_roles_taints_conditions_and_capacity() {
        let text = report(
            ("v1", "Node"),
            json!({"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "n1", "labels": {"node-role.kubernetes.io/control-plane": ""}},
            "spec": {"podCIDR": "127.64.1.0/24", "taints": [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]},
            "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
                "addresses": [{"type": "InternalIP", "address": "127.1.0.1"}], "capacity": {"cpu": "4", "pods": "110"},
                "nodeInfo": {"kubeletVersion": "v0.1.0"}}}),
        );
        for line in [
            "Roles:          control-plane",
            "Taints:         dedicated=db:NoSchedule",
            "PodCIDR:        127.64.1.0/24",
            "  Ready   True     KubeletReady",
            "  InternalIP:  127.1.0.1",
            "Capacity:\n  cpu:   4\n",
            "  Kubelet Version:            v0.1.0",
            "  pods:  110",
        ] {
            assert!(text.contains(line), "{line:?} in\n{text}");
        }
    }

    #[test]
    fn pod_report_shows_container_state_and_reason() {
        let text = report(
            ("v1", "Pod"),
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "busybox", "ports": [{"containerPort": 8080}]}]},
            "status": {"phase": "Pending", "containerStatuses": [{"name": "c", "ready": false, "restartCount": 4,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}),
        );
        for line in [
            "Status:      CrashLoopBackOff",
            "    Port:           8080/TCP",
            "    State:          Waiting",
            "      Reason:  CrashLoopBackOff",
            "    Restart Count:  4",
        ] {
            assert!(text.contains(line), "{line:?} in\n{text}");
        }
    }
}
