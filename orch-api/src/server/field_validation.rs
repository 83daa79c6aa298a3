//! Strict field validation (`fieldValidation=Strict`): fields a kind's schema does not know are
//! refused, naming each one, instead of being dropped.

use serde_json::Value;

/// How far into an object fields are checked.
const MAX_DEPTH: usize = 64;

/// The fields of `value` that the kind schema `root` (a JSON schema with `$defs`) does not
/// declare, as paths like `spec.template.spec.containers[0].imagee`. Keys starting with `$`
/// (strategic merge patch directives) are allowed; objects whose schema declares neither
/// properties nor additional properties are free-form.
///
/// ```
/// use orch_api::server::unknown_fields;
/// let schema = serde_json::json!({"type": "object", "properties": {
///     "spec": {"$ref": "#/$defs/Spec"}},
///     "$defs": {"Spec": {"type": "object", "properties": {"replicas": {"type": "integer"}}}}});
/// let obj = serde_json::json!({"spec": {"replicas": 3, "replicaz": 4}});
/// assert_eq!(unknown_fields(&schema, &obj), ["spec.replicaz"]);
/// ```
pub fn unknown_fields(root: &Value, value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(root, root, value, "", &mut out, 0);
    out
}

fn resolve<'a>(root: &'a Value, mut schema: &'a Value) -> &'a Value {
    for _ in 0..MAX_DEPTH {
        match schema.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/$defs/")) {
            Some(name) => schema = &root["$defs"][name],
            None => break,
        }
    }
    schema
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

fn walk(root: &Value, schema: &Value, value: &Value, path: &str, out: &mut Vec<String>, depth: usize) {
    if depth > MAX_DEPTH || value.is_null() {
        return;
    }
    let schema = resolve(root, schema);
    if let Some(branches) = schema.get("anyOf").or_else(|| schema.get("oneOf")).and_then(Value::as_array) {
        // The branch that fits best: none unknown if any branch allows everything.
        let best = branches
            .iter()
            .filter(|b| fits_type(root, b, value))
            .map(|b| {
                let mut found = Vec::new();
                walk(root, b, value, path, &mut found, depth + 1);
                found
            })
            .min_by_key(Vec::len);
        out.extend(best.unwrap_or_default());
        return;
    }
    match value {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let extra = schema.get("additionalProperties").filter(|a| a.is_object());
            if props.is_none() && extra.is_none() {
                return;
            }
            for (key, v) in map {
                if key.starts_with('$') {
                    continue;
                }
                let child = join(path, key);
                match (props.and_then(|p| p.get(key)), extra) {
                    (Some(s), _) | (None, Some(s)) => walk(root, s, v, &child, out, depth + 1),
                    (None, None) => out.push(child),
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    walk(root, item_schema, item, &format!("{path}[{i}]"), out, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// Whether a branch of `anyOf` can describe `value` at all (so `null` branches are skipped
/// for objects).
fn fits_type(root: &Value, branch: &Value, value: &Value) -> bool {
    let branch = resolve(root, branch);
    let Some(ty) = branch.get("type") else { return true };
    let name = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let matches = |t: &Value| t == name || (name == "integer" && t == "number");
    match ty {
        Value::Array(types) => types.iter().any(matches),
        t => matches(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orch_core::KindRegistry;
    use serde_json::json;

    #[test]
    fn typos_deep_in_a_deployment_are_found_and_known_fields_pass() {
        let kinds = KindRegistry::with_builtins();
        let schema = &kinds.by_kind("apps/v1", "Deployment").unwrap().schema;
        let good = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"a": "b"}, "annotations": {"x": "y"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "busybox",
                        "ports": [{"containerPort": 80}], "resources": {"requests": {"cpu": "100m"}}}]}}}});
        assert_eq!(unknown_fields(schema, &good), Vec::<String>::new());
        let mut bad = good.clone();
        bad["spec"]["template"]["spec"]["containers"][0]["imagee"] = json!("x");
        bad["spec"]["replicaz"] = json!(1);
        let mut found = unknown_fields(schema, &bad);
        found.sort();
        assert_eq!(found, ["spec.replicaz", "spec.template.spec.containers[0].imagee"]);
    }

    #[test]
    fn patch_directives_and_free_form_values_are_allowed() {
        let kinds = KindRegistry::with_builtins();
        let schema = &kinds.by_kind("v1", "Pod").unwrap().schema;
        let patch = json!({"metadata": {"$patch": "merge", "labels": {"a": null}},
            "spec": {"$setElementOrder/containers": [{"name": "a"}], "containers": [{"name": "a", "image": "b"}]}});
        assert_eq!(unknown_fields(schema, &patch), Vec::<String>::new());
    }
}
