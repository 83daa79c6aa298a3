//! A container's environment: Service variables, the downward API and `$(VAR)` expansion.

use std::collections::HashMap;

use orch_core::kinds::{Container, Pod, Service};

/// Expands Kubernetes' `$(VAR)` references from `vars`; `$$` is a literal `$`, and references
/// to unknown variables stay as written.
///
/// ```
/// use std::collections::HashMap;
/// let vars = HashMap::from([("POD_IP".to_string(), "127.64.0.5".to_string())]);
/// assert_eq!(orch_node::agent::expand("--bind=$(POD_IP):80 $(NOPE) $$(POD_IP)", &vars),
///            "--bind=127.64.0.5:80 $(NOPE) $(POD_IP)");
/// ```
pub fn expand(input: &str, vars: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(body) = after.strip_prefix('(')
            && let Some(end) = body.find(')')
        {
            let name = &body[..end];
            match vars.get(name) {
                Some(v) => out.push_str(v),
                None => {
                    out.push_str("$(");
                    out.push_str(name);
                    out.push(')');
                }
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The value of a downward-API field of the pod.
pub fn field_value(pod: &Pod, path: &str, pod_ip: &str, host_ip: &str) -> Option<String> {
    match path {
        "metadata.name" => Some(pod.metadata.name_str().to_owned()),
        "metadata.namespace" => Some(pod.metadata.namespace_str().to_owned()),
        "metadata.uid" => pod.metadata.uid.clone(),
        "metadata.labels" => {
            Some(pod.metadata.labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect::<Vec<_>>().join("\n"))
        }
        "metadata.annotations" => {
            Some(pod.metadata.annotations.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect::<Vec<_>>().join("\n"))
        }
        "status.podIP" => Some(pod_ip.to_owned()),
        "status.hostIP" => Some(host_ip.to_owned()),
        "spec.nodeName" => pod.spec.node_name.clone(),
        "spec.serviceAccountName" => pod.spec.service_account_name.clone(),
        _ => {
            let label = path.strip_prefix("metadata.labels['").and_then(|s| s.strip_suffix("']"));
            if let Some(key) = label {
                return Some(pod.metadata.labels.get(key).cloned().unwrap_or_default());
            }
            let ann = path.strip_prefix("metadata.annotations['").and_then(|s| s.strip_suffix("']"));
            ann.map(|key| pod.metadata.annotations.get(key).cloned().unwrap_or_default())
        }
    }
}

/// `{NAME}_SERVICE_HOST` / `{NAME}_SERVICE_PORT` (and `{NAME}_SERVICE_PORT_{PORT}` for named
/// ports) of every Service with a cluster IP, as Kubernetes sets them without DNS.
pub fn service_env(services: &[Service]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for svc in services {
        let Some(ip) = svc.spec.cluster_ip.as_deref().filter(|ip| !ip.is_empty() && *ip != "None") else { continue };
        let Some(first) = svc.spec.ports.first() else { continue };
        let name = env_name(svc.metadata.name_str());
        out.push((format!("{name}_SERVICE_HOST"), ip.to_owned()));
        out.push((format!("{name}_SERVICE_PORT"), first.port.to_string()));
        for p in &svc.spec.ports {
            if let Some(pn) = p.name.as_deref().filter(|n| !n.is_empty()) {
                out.push((format!("{name}_SERVICE_PORT_{}", env_name(pn)), p.port.to_string()));
            }
        }
    }
    out
}

fn env_name(s: &str) -> String {
    s.chars().map(|c| if c == '-' || c == '.' { '_' } else { c.to_ascii_uppercase() }).collect()
}

/// The full environment of a container, in order: Service variables, then the container's own
/// (each may reference the ones before it with `$(VAR)`).
pub fn container_env(
    pod: &Pod,
    container: &Container,
    pod_ip: &str,
    host_ip: &str,
    services: &[Service],
) -> Vec<(String, String)> {
    let mut env = service_env(services);
    let mut vars: HashMap<String, String> = env.iter().cloned().collect();
    for var in &container.env {
        let value = match (&var.value, var.value_from.as_ref().and_then(|f| f.field_ref.as_ref())) {
            (Some(v), _) => expand(v, &vars),
            (None, Some(field)) => field_value(pod, &field.field_path, pod_ip, host_ip).unwrap_or_default(),
            (None, None) => String::new(),
        };
        vars.insert(var.name.clone(), value.clone());
        env.push((var.name.clone(), value));
    }
    env
}

/// `command` and `args` with `$(VAR)` expanded from the container's environment.
pub fn expand_command(container: &Container, env: &[(String, String)]) -> (Vec<String>, Vec<String>) {
    let vars: HashMap<String, String> = env.iter().cloned().collect();
    let e = |v: &Vec<String>| v.iter().map(|s| expand(s, &vars)).collect();
    (e(&container.command), e(&container.args))
}

#[cfg(test)]
mod tests {
    use super::*;
    use orch_core::ObjectMeta;
    use orch_core::kinds::{EnvVar, EnvVarSource, ObjectFieldSelector, ServicePort};

    fn field(name: &str, path: &str) -> EnvVar {
        EnvVar {
            name: name.into(),
            value: None,
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector { api_version: None, field_path: path.into() }),
            }),
        }
    }

    #[test]
    fn downward_api_and_expansion_fill_the_environment() {
        let mut pod = Pod {
            metadata: ObjectMeta::named("web-1").in_namespace("prod").with_label("app", "web"),
            ..Default::default()
        };
        pod.spec.node_name = Some("n1".into());
        let mut svc = Service { metadata: ObjectMeta::named("my-db"), ..Default::default() };
        svc.spec.cluster_ip = Some("127.192.0.7".into());
        svc.spec.ports = vec![ServicePort { name: Some("sql".into()), port: 5432, ..Default::default() }];
        let c = Container {
            name: "c".into(),
            env: vec![
                field("POD_IP", "status.podIP"),
                field("NAME", "metadata.name"),
                field("NS", "metadata.namespace"),
                field("NODE", "spec.nodeName"),
                field("HOST", "status.hostIP"),
                field("LABELS", "metadata.labels"),
                EnvVar {
                    name: "URL".into(),
                    value: Some("$(MY_DB_SERVICE_HOST):$(MY_DB_SERVICE_PORT)".into()),
                    value_from: None,
                },
            ],
            args: vec!["--listen=$(POD_IP)".into()],
            ..Default::default()
        };
        let env = container_env(&pod, &c, "127.64.0.9", "127.1.0.1", &[svc]);
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("MY_DB_SERVICE_HOST"), Some("127.192.0.7"));
        assert_eq!(get("MY_DB_SERVICE_PORT_SQL"), Some("5432"));
        assert_eq!(get("POD_IP"), Some("127.64.0.9"));
        assert_eq!(get("NAME"), Some("web-1"));
        assert_eq!(get("NS"), Some("prod"));
        assert_eq!(get("NODE"), Some("n1"));
        assert_eq!(get("HOST"), Some("127.1.0.1"));
        assert_eq!(get("LABELS"), Some("app=\"web\""));
        assert_eq!(get("URL"), Some("127.192.0.7:5432"));
        assert_eq!(expand_command(&c, &env).1, vec!["--listen=127.64.0.9".to_string()]);
    }
}
