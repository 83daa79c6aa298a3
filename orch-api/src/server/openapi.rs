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
    let infos = super::discovery::kinds_of(kinds, group, version)?;
    let prefix = prefix(group, version);
    let mut schemas = Map::new();
    let mut paths = Map::new();
    for info in infos {
        let rt = &info.resource_type;
        add_paths(&mut paths, rt, &format!("#/components/schemas/{prefix}.{}", rt.kind));
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
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

/// The write operations of a kind's paths, each tagged with its group/version/kind and the query
/// parameters it takes (`fieldValidation` among them, which tells kubectl the server validates
/// fields itself).
fn add_paths(paths: &mut Map<String, Value>, rt: &orch_core::ResourceType, schema_ref: &str) {
    let gvk = json!({"group": rt.group, "version": rt.version, "kind": rt.kind});
    let base =
        if rt.group.is_empty() { format!("/api/{}", rt.version) } else { format!("/apis/{}/{}", rt.group, rt.version) };
    let scope = if rt.namespaced() { "/namespaces/{namespace}" } else { "" };
    let collection = format!("{base}{scope}/{}", rt.plural);
    let item = format!("{collection}/{{name}}");
    let query = |name: &str| json!({"name": name, "in": "query", "schema": {"type": "string"}, "uniqueItems": true});
    let path_param = |name: &str| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}});
    let body = |types: &[&str]| {
        let content: Map<String, Value> =
            types.iter().map(|t| (t.to_string(), json!({"schema": {"$ref": schema_ref}}))).collect();
        json!({"content": content, "required": true})
    };
    let ok = json!({"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": schema_ref}}}}});
    let op = |action: &str, body_types: &[&str]| {
        let mut o = json!({
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": gvk,
            "parameters": [query("dryRun"), query("fieldManager"), query("fieldValidation")],
            "responses": ok,
        });
        if !body_types.is_empty() {
            o["requestBody"] = body(body_types);
        }
        o
    };
    let mut params = vec![path_param("name")];
    let mut collection_params = Vec::new();
    if rt.namespaced() {
        params.push(path_param("namespace"));
        collection_params.push(path_param("namespace"));
    }
    let patch_types =
        ["application/merge-patch+json", "application/json-patch+json", "application/strategic-merge-patch+json"];
    paths.insert(
        item,
        json!({
            "parameters": params,
            "get": {"x-kubernetes-action": "get", "x-kubernetes-group-version-kind": gvk, "responses": ok},
            "put": op("put", &["application/json", "application/yaml"]),
            "patch": op("patch", &patch_types),
            "delete": op("delete", &[]),
        }),
    );
    paths.insert(
        collection,
        json!({
            "parameters": collection_params,
            "post": op("post", &["application/json", "application/yaml"]),
        }),
    );
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
