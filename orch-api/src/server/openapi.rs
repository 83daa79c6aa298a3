//! OpenAPI v3 documents, one per group/version, built from the kinds' JSON schemas.

use orch_core::KindRegistry;
use serde_json::{Map, Value, json};

/// `/openapi/v3`: the path of every group/version's document.
pub fn index(kinds: &KindRegistry) -> Value {
    let mut paths = Map::new();
    for (group, version) in kinds.group_versions() {
        let path = gv_path(&group, &version);
        paths.insert(path.clone(), json!({"serverRelativeURL": format!("/openapi/v3/{path}")}));
    }
    json!({"paths": paths})
}

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() { format!("api/{version}") } else { format!("apis/{group}/{version}") }
}

/// The schema name prefix of a group/version, after Kubernetes' `io.k8s.api.core.v1`.
fn prefix(group: &str, version: &str) -> String {
    let group = if group.is_empty() { "core" } else { group };
    format!("io.orch.{group}.{version}")
}

/// `/openapi/v3/api/v1` or `/openapi/v3/apis/{group}/{version}`: a document whose
/// `components.schemas` hold each kind (tagged with `x-kubernetes-group-version-kind`) and the
/// types it refers to; `None` for an unknown group/version.
pub fn document(kinds: &KindRegistry, group: &str, version: &str) -> Option<Value> {
    let infos: Vec<_> = kinds
        .kinds()
        .into_iter()
        .filter(|k| k.resource_type.group == group && k.resource_type.version == version)
        .collect();
    if infos.is_empty() {
        return None;
    }
    let prefix = prefix(group, version);
    let mut schemas = Map::new();
    for info in infos {
        let rt = &info.resource_type;
        let mut schema = info.schema.clone();
        if let Some(obj) = schema.as_object_mut() {
            obj.remove("$schema");
            if let Some(Value::Object(defs)) = obj.remove("$defs") {
                for (name, mut def) in defs {
                    rewrite_refs(&mut def, &prefix);
                    schemas.entry(format!("{prefix}.{name}")).or_insert(def);
                }
            }
            obj.insert(
                "x-kubernetes-group-version-kind".into(),
                json!([{"group": rt.group, "version": rt.version, "kind": rt.kind}]),
            );
        }
        rewrite_refs(&mut schema, &prefix);
        schemas.insert(format!("{prefix}.{}", rt.kind), schema);
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "orch", "version": version},
        "paths": {},
        "components": {"schemas": schemas},
    }))
}

/// Points `#/$defs/X` references at `#/components/schemas/{prefix}.X`.
fn rewrite_refs(value: &mut Value, prefix: &str) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => {
                        if let Some(name) = r.strip_prefix("#/$defs/") {
                            *r = format!("#/components/schemas/{prefix}.{name}");
                        }
                    }
                    (_, v) => rewrite_refs(v, prefix),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_refs(v, prefix)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_document_has_pod_with_gvk_and_resolvable_refs() {
        let kinds = KindRegistry::with_builtins();
        let doc = document(&kinds, "", "v1").unwrap();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let pod = &schemas["io.orch.core.v1.Pod"];
        assert_eq!(pod["x-kubernetes-group-version-kind"][0]["kind"], "Pod");
        let text = doc.to_string();
        assert!(!text.contains("#/$defs/"), "every reference is rewritten");
        for r in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = &r[..r.find('"').unwrap()];
            assert!(schemas.contains_key(name), "{name} is defined");
        }
        assert!(index(&kinds)["paths"]["apis/apps/v1"]["serverRelativeURL"].is_string());
    }
}
