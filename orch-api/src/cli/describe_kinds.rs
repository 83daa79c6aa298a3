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
