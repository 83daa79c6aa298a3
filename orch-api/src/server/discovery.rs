//! Discovery documents: `/api`, `/apis`, `/api/v1` and `/apis/{group}/{version}`.

use orch_core::KindRegistry;
use orch_core::kind_registry::KindInfo;
use serde_json::{Value, json};

const VERBS: [&str; 7] = ["create", "delete", "get", "list", "patch", "update", "watch"];

/// kubectl's short names for the built-in resources.
fn short_names(group: &str, plural: &str) -> &'static [&'static str] {
    match (group, plural) {
        ("", "pods") => &["po"],
        ("", "services") => &["svc"],
        ("", "nodes") => &["no"],
        ("", "namespaces") => &["ns"],
        ("", "endpoints") => &["ep"],
        ("", "events") => &["ev"],
        ("apps", "deployments") => &["deploy"],
        ("apps", "replicasets") => &["rs"],
        _ => &[],
    }
}

/// The subresources served for a kind, with their verbs.
pub fn subresources(info: &KindInfo) -> Vec<(&'static str, &'static [&'static str])> {
    let rt = &info.resource_type;
    let mut subs: Vec<(&'static str, &'static [&'static str])> = Vec::new();
    if info.has_status {
        subs.push(("status", &["get", "patch", "update"]));
    }
    match (rt.group.as_ref(), rt.plural.as_ref()) {
        ("apps", "deployments") | ("apps", "replicasets") => subs.push(("scale", &["get", "patch", "update"])),
        ("", "pods") => {
            subs.push(("binding", &["create"]));
            subs.push(("eviction", &["create"]));
            subs.push(("log", &["get"]));
        }
        _ => {}
    }
    subs
}

/// The kinds served at one group/version, `None` when there are none.
pub fn kinds_of(kinds: &KindRegistry, group: &str, version: &str) -> Option<Vec<std::sync::Arc<KindInfo>>> {
    let infos: Vec<_> = kinds
        .kinds()
        .into_iter()
        .filter(|k| k.resource_type.group == group && k.resource_type.version == version)
        .collect();
    (!infos.is_empty()).then_some(infos)
}

/// `/api`: the core group's versions.
pub fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

/// `/apis`: every named group with its versions.
pub fn api_group_list(kinds: &KindRegistry) -> Value {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for (group, version) in kinds.group_versions().into_iter().filter(|(g, _)| !g.is_empty()) {
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, versions)) => versions.push(version),
            None => groups.push((group, vec![version])),
        }
    }
    let groups: Vec<Value> = groups.iter().map(|(g, versions)| api_group(g, versions)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/{group}`: one group.
pub fn group_document(kinds: &KindRegistry, group: &str) -> Option<Value> {
    let versions: Vec<String> =
        kinds.group_versions().into_iter().filter(|(g, _)| g == group).map(|(_, v)| v).collect();
    (!versions.is_empty() && !group.is_empty()).then(|| {
        let mut doc = api_group(group, &versions);
        doc["kind"] = json!("APIGroup");
        doc["apiVersion"] = json!("v1");
        doc
    })
}

fn api_group(group: &str, versions: &[String]) -> Value {
    let gv = |v: &String| json!({"groupVersion": format!("{group}/{v}"), "version": v});
    json!({
        "name": group,
        "versions": versions.iter().map(gv).collect::<Vec<_>>(),
        "preferredVersion": versions.first().map(gv).unwrap_or(Value::Null),
    })
}

/// `/api/v1` or `/apis/{group}/{version}`: the resources of one group/version, or `None` if
/// nothing is served there.
pub fn resource_list(kinds: &KindRegistry, group: &str, version: &str) -> Option<Value> {
    let infos = kinds_of(kinds, group, version)?;
    let mut resources = Vec::new();
    for info in &infos {
        let rt = &info.resource_type;
        resources.push(json!({
            "name": rt.plural,
            "singularName": rt.kind.to_lowercase(),
            "namespaced": rt.namespaced(),
            "kind": rt.kind,
            "verbs": VERBS,
            "shortNames": short_names(group, &rt.plural),
        }));
        for (sub, verbs) in subresources(info) {
            resources.push(json!({
                "name": format!("{}/{sub}", rt.plural),
                "singularName": "",
                "namespaced": rt.namespaced(),
                "kind": if sub == "scale" { "Scale" } else { &rt.kind },
                "verbs": verbs,
            }));
        }
    }
    let group_version = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
    Some(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_v1_lists_pods_with_their_subresources() {
        let doc = resource_list(&KindRegistry::with_builtins(), "", "v1").unwrap();
        assert_eq!(doc["groupVersion"], "v1");
        let names: Vec<&str> =
            doc["resources"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
        for want in ["pods", "pods/status", "pods/binding", "pods/eviction", "pods/log", "nodes", "namespaces"] {
            assert!(names.contains(&want), "{want} in {names:?}");
        }
        assert!(resource_list(&KindRegistry::with_builtins(), "nope", "v1").is_none());
    }

    #[test]
    fn group_list_names_apps_and_not_core() {
        let doc = api_group_list(&KindRegistry::with_builtins());
        let groups: Vec<&str> = doc["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
        assert!(groups.contains(&"apps"), "{groups:?}");
        assert!(!groups.contains(&""), "{groups:?}");
        assert_eq!(doc["groups"][0]["preferredVersion"]["groupVersion"].as_str().map(|s| s.contains('/')), Some(true));
    }
}
