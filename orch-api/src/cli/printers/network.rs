//! Rows of network kinds: services (type, cluster IP, external IP, ports) and endpoints.

use orch_core::{DynamicObject, Timestamp};
use serde_json::Value;

use super::{field, list, object_age, or_none, text};

/// Service columns.
pub const SERVICE_COLUMNS: &[&str] = &["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"];
/// Extra service columns with `-o wide`.
pub const SERVICE_WIDE: &[&str] = &["SELECTOR"];
/// Endpoints columns.
pub const ENDPOINTS_COLUMNS: &[&str] = &["NAME", "ENDPOINTS", "AGE"];

/// How many endpoints the ENDPOINTS column lists before `+ N more...`.
const MAX_ENDPOINTS: usize = 3;

/// One service row.
pub fn service_row(svc: &DynamicObject, wide: bool, now: Timestamp) -> Vec<String> {
    let type_ = text(svc, "spec.type").unwrap_or("ClusterIP");
    let ports: Vec<String> = list(svc, "spec.ports")
        .iter()
        .map(|p| {
            let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
            let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            match p.get("nodePort").and_then(Value::as_i64) {
                Some(node_port) => format!("{port}:{node_port}/{proto}"),
                None => format!("{port}/{proto}"),
            }
        })
        .collect();
    let mut row = vec![
        svc.name().to_owned(),
        type_.to_owned(),
        or_none(text(svc, "spec.clusterIP").unwrap_or("")),
        external_ip(svc, type_),
        or_none(ports.join(",")),
        object_age(svc, now),
    ];
    if wide {
        let selector = field(svc, "spec.selector").and_then(Value::as_object).map(|m| {
            m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect::<Vec<_>>().join(",")
        });
        row.push(or_none(selector.unwrap_or_default()));
    }
    row
}

/// The EXTERNAL-IP column: external IPs, load balancer ingress (or `<pending>`), or the external name.
fn external_ip(svc: &DynamicObject, type_: &str) -> String {
    let strings =
        |path: &str| -> Vec<String> { list(svc, path).iter().filter_map(Value::as_str).map(str::to_owned).collect() };
    let mut ips = strings("spec.externalIPs");
    match type_ {
        "LoadBalancer" => {
            let ingress: Vec<String> = list(svc, "status.loadBalancer.ingress")
                .iter()
                .filter_map(|i| i.get("ip").or_else(|| i.get("hostname")).and_then(Value::as_str))
                .map(str::to_owned)
                .collect();
            ips.splice(0..0, ingress);
            if ips.is_empty() { "<pending>".to_owned() } else { ips.join(",") }
        }
        "ExternalName" => or_none(text(svc, "spec.externalName").unwrap_or("")),
        _ => or_none(ips.join(",")),
    }
}

/// One endpoints row: `ip:port` pairs, at most three, then `+ N more...`.
pub fn endpoints_row(ep: &DynamicObject, _wide: bool, now: Timestamp) -> Vec<String> {
    let mut all = Vec::new();
    for subset in list(ep, "subsets") {
        let ips: Vec<&str> = subset
            .get("addresses")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|x| x.get("ip").and_then(Value::as_str)).collect())
            .unwrap_or_default();
        let ports: Vec<i64> = subset
            .get("ports")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|p| p.get("port").and_then(Value::as_i64)).collect())
            .unwrap_or_default();
        if ports.is_empty() {
            all.extend(ips.iter().map(|ip| ip.to_string()));
        }
        for port in ports {
            all.extend(ips.iter().map(|ip| format!("{ip}:{port}")));
        }
    }
    let mut cell = all.iter().take(MAX_ENDPOINTS).cloned().collect::<Vec<_>>().join(",");
    if all.len() > MAX_ENDPOINTS {
        cell.push_str(&format!(" + {} more...", all.len() - MAX_ENDPOINTS));
    }
    vec![ep.name().to_owned(), or_none(cell), object_age(ep, now)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> DynamicObject {
        DynamicObject::from_value(v).unwrap()
    }

    #[test]
    fn service_row_shows_ports_with_node_ports_and_pending_load_balancer() {
        let svc = obj(json!({"metadata":{"name":"web"},"spec":{"type":"LoadBalancer","clusterIP":"127.192.0.10",
            "selector":{"app":"web"},"ports":[{"port":80,"nodePort":30080},{"port":53,"protocol":"UDP"}]}}));
        assert_eq!(
            service_row(&svc, true, Timestamp::EPOCH),
            ["web", "LoadBalancer", "127.192.0.10", "<pending>", "80:30080/TCP,53/UDP", "<unknown>", "app=web"]
        );
    }

    #[test]
    fn cluster_ip_service_without_external_ips_shows_none() {
        let svc = obj(json!({"metadata":{"name":"db"},"spec":{"clusterIP":"127.192.0.11","ports":[{"port":5432}]}}));
        assert_eq!(
            service_row(&svc, false, Timestamp::EPOCH)[1..5],
            ["ClusterIP", "127.192.0.11", "<none>", "5432/TCP"]
        );
    }

    #[test]
    fn endpoints_list_three_then_count_the_rest() {
        let ep = obj(json!({"metadata":{"name":"web"},"subsets":[{"addresses":[{"ip":"10.0.0.1"},{"ip":"10.0.0.2"}],
            "ports":[{"port":80},{"port":443}]}]}));
        assert_eq!(endpoints_row(&ep, false, Timestamp::EPOCH)[1], "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...");
    }
}
