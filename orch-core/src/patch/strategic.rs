//! Kubernetes strategic merge patch for the built-in kinds.
//!
//! Maps merge like a JSON merge patch (`null` deletes a key); lists merge by
//! the strategy a per-kind schema table gives their field path (see
//! [`list_strategy`]), and `$`-directives steer the merge:
//!
//! - `$patch: replace` in a map replaces the map; the list element
//!   `{"$patch": "replace"}` replaces the whole list.
//! - `$patch: delete` in a map deletes the map; in a keyed list, an element
//!   `{"<key>": .., "$patch": "delete"}` deletes the element with that key.
//! - `$patch: merge` is the default and may be stated.
//! - `$deleteFromPrimitiveList/<field>: [..]` removes values from a primitive list.
//! - `$setElementOrder/<field>: [..]` orders a merged list: listed elements
//!   first, in the given order, the others after in their relative order.
//! - `$retainKeys: [..]` drops every key of the map not listed.

use serde_json::{Map, Value};

use super::error::PatchError;

/// How a strategic merge patch combines a list field of the target with the
/// same field of the patch.
///
/// ```
/// use orch_core::patch::{list_strategy, ListStrategy};
///
/// assert_eq!(list_strategy("Pod", "spec.containers"), Some(ListStrategy::MergeByKey("name")));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListStrategy {
    /// Elements are objects identified by the named key; patch elements
    /// merge into the target element with the same key, or are appended.
    MergeByKey(&'static str),
    /// Elements are primitives; the result is the set union, keeping the
    /// target's order and appending new values in the patch's order.
    MergePrimitives,
    /// The patch's list replaces the target's (the default).
    Replace,
}

/// One field of a kind's schema: how it merges if it is a list, and the
/// fields below it (of the map, or of each list element).
#[derive(Debug)]
struct Field {
    /// The JSON field name.
    name: &'static str,
    /// The strategy if the field holds a list.
    list: ListStrategy,
    /// Fields of the nested map or of each list element.
    fields: &'static [Field],
}

/// A map field with schema below it.
const fn map(name: &'static str, fields: &'static [Field]) -> Field {
    Field { name, list: ListStrategy::Replace, fields }
}

/// A list of objects merged by `key`, whose elements have `fields`.
const fn keyed(name: &'static str, key: &'static str, fields: &'static [Field]) -> Field {
    Field { name, list: ListStrategy::MergeByKey(key), fields }
}

/// A list with a strategy and no schema below it.
const fn list(name: &'static str, list: ListStrategy) -> Field {
    Field { name, list, fields: &[] }
}

use ListStrategy::{MergePrimitives, Replace};

const METADATA: &[Field] = &[list("finalizers", MergePrimitives), keyed("ownerReferences", "uid", &[])];

const CONTAINER: &[Field] = &[
    keyed("ports", "containerPort", &[]),
    keyed("env", "name", &[]),
    list("envFrom", Replace),
    keyed("volumeMounts", "mountPath", &[]),
    keyed("volumeDevices", "devicePath", &[]),
];

const POD_SPEC: &[Field] = &[
    keyed("containers", "name", CONTAINER),
    keyed("initContainers", "name", CONTAINER),
    keyed("ephemeralContainers", "name", CONTAINER),
    keyed("volumes", "name", &[]),
    keyed("imagePullSecrets", "name", &[]),
    list("tolerations", Replace),
    keyed("hostAliases", "ip", &[]),
    keyed("topologySpreadConstraints", "topologyKey", &[]),
    keyed("resourceClaims", "name", &[]),
    keyed("schedulingGates", "name", &[]),
];

const CONDITIONS: Field = keyed("conditions", "type", &[]);

const POD: &[Field] = &[
    map("metadata", METADATA),
    map("spec", POD_SPEC),
    map(
        "status",
        &[
            CONDITIONS,
            list("containerStatuses", Replace),
            list("initContainerStatuses", Replace),
            list("ephemeralContainerStatuses", Replace),
            keyed("podIPs", "ip", &[]),
            keyed("hostIPs", "ip", &[]),
        ],
    ),
];

/// Deployment and ReplicaSet: a pod template at `spec.template`.
const WORKLOAD: &[Field] = &[
    map("metadata", METADATA),
    map("spec", &[map("template", &[map("metadata", METADATA), map("spec", POD_SPEC)])]),
    map("status", &[CONDITIONS]),
];

const SERVICE: &[Field] =
    &[map("metadata", METADATA), map("spec", &[keyed("ports", "port", &[])]), map("status", &[CONDITIONS])];

const ENDPOINTS: &[Field] = &[map("metadata", METADATA), list("subsets", Replace)];

const NODE: &[Field] = &[
    map("metadata", METADATA),
    map("spec", &[keyed("taints", "key", &[])]),
    map("status", &[CONDITIONS, keyed("addresses", "type", &[]), list("images", Replace)]),
];

const NAMESPACE: &[Field] = &[map("metadata", METADATA), map("status", &[CONDITIONS])];

/// Kinds whose only merged lists are in `metadata`.
const METADATA_ONLY: &[Field] = &[map("metadata", METADATA)];

/// The built-in kinds that accept strategic merge patches, and their schemas.
const KINDS: &[(&str, &[Field])] = &[
    ("Pod", POD),
    ("Deployment", WORKLOAD),
    ("ReplicaSet", WORKLOAD),
    ("Service", SERVICE),
    ("Endpoints", ENDPOINTS),
    ("Node", NODE),
    ("Namespace", NAMESPACE),
    ("Lease", METADATA_ONLY),
    ("Event", METADATA_ONLY),
];

/// The schema of `kind`, if it is built in.
fn kind_schema(kind: &str) -> Option<&'static [Field]> {
    KINDS.iter().find(|(k, _)| *k == kind).map(|(_, f)| *f)
}

/// The strategy and sub-schema of field `name` in `schema`.
fn lookup(schema: &'static [Field], name: &str) -> (ListStrategy, &'static [Field]) {
    schema.iter().find(|f| f.name == name).map_or((Replace, &[]), |f| (f.list, f.fields))
}

/// The list strategy a strategic merge patch uses for the list at `path` in
/// an object of `kind`, or `None` if the kind has no strategic merge support.
/// `path` is dotted field names; list indices (`[0]`, `[*]`) are ignored.
/// Lists not in the table are replaced.
///
/// ```
/// use orch_core::patch::{list_strategy, ListStrategy};
///
/// assert_eq!(
///     list_strategy("Deployment", "spec.template.spec.containers[*].ports"),
///     Some(ListStrategy::MergeByKey("containerPort"))
/// );
/// assert_eq!(list_strategy("Pod", "metadata.finalizers"), Some(ListStrategy::MergePrimitives));
/// assert_eq!(list_strategy("Pod", "spec.tolerations"), Some(ListStrategy::Replace));
/// assert_eq!(list_strategy("Widget", "spec.items"), None);
/// ```
pub fn list_strategy(kind: &str, path: &str) -> Option<ListStrategy> {
    let mut schema = kind_schema(kind)?;
    let mut strategy = Replace;
    for segment in path.split('.') {
        let name = segment.split_once('[').map_or(segment, |(name, _)| name);
        (strategy, schema) = lookup(schema, name);
    }
    Some(strategy)
}

/// Applies a Kubernetes strategic merge patch to `target`, an object of the
/// built-in `kind`, and returns the result; `target` is untouched.
///
/// Errors name the field path (`spec.containers[1]`, `patch` for the top)
/// of malformed directives and keyed list elements lacking their key. Kinds
/// that are not built in, such as custom resources, give
/// [`PatchError::StrategicUnsupported`].
///
/// ```
/// use orch_core::patch::strategic_merge;
/// use serde_json::json;
///
/// let pod = json!({"spec": {"containers": [
///     {"name": "app", "image": "app:1"},
///     {"name": "sidecar", "image": "proxy:1"},
/// ]}});
/// let patch = json!({"spec": {"containers": [{"name": "app", "image": "app:2"}]}});
/// assert_eq!(
///     strategic_merge("Pod", &pod, &patch).unwrap(),
///     json!({"spec": {"containers": [
///         {"name": "app", "image": "app:2"},
///         {"name": "sidecar", "image": "proxy:1"},
///     ]}})
/// );
/// assert!(strategic_merge("Widget", &pod, &patch).is_err());
/// ```
pub fn strategic_merge(kind: &str, target: &Value, patch: &Value) -> Result<Value, PatchError> {
    let schema = kind_schema(kind).ok_or_else(|| PatchError::StrategicUnsupported { kind: kind.to_owned() })?;
    let Value::Object(patch) = patch else {
        return Err(PatchError::WrongType { at: ROOT.to_owned(), expected: "a JSON object" });
    };
    let original = match target {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    let merged = merge_map(original, patch, schema, ROOT)?;
    Ok(Value::Object(merged.unwrap_or_default()))
}

/// How errors name the top of the patch.
const ROOT: &str = "patch";

const PATCH: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList/";
const SET_ELEMENT_ORDER: &str = "$setElementOrder/";

/// The field path of `key` inside the map at `at`.
fn child(at: &str, key: &str) -> String {
    if at == ROOT { key.to_owned() } else { format!("{at}.{key}") }
}

/// The value of a `$patch` directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PatchDirective {
    Replace,
    Delete,
    Merge,
}

/// Reads the `$patch` directive of the map at `at`, if any.
fn patch_directive(patch: &Map<String, Value>, at: &str) -> Result<Option<PatchDirective>, PatchError> {
    let Some(value) = patch.get(PATCH) else {
        return Ok(None);
    };
    match value.as_str() {
        Some("replace") => Ok(Some(PatchDirective::Replace)),
        Some("delete") => Ok(Some(PatchDirective::Delete)),
        Some("merge") => Ok(Some(PatchDirective::Merge)),
        Some(other) => Err(PatchError::UnknownDirective { at: at.to_owned(), directive: format!("{PATCH}: {other}") }),
        None => Err(PatchError::WrongType { at: child(at, PATCH), expected: r#""replace", "delete" or "merge""# }),
    }
}

/// The directives of one patch map besides `$patch`.
#[derive(Default)]
struct Directives<'p> {
    retain_keys: Option<Vec<&'p str>>,
    delete_from: Vec<(&'p str, &'p [Value])>,
    set_order: Vec<(&'p str, ListStrategy, &'p [Value])>,
}

/// Collects and checks the directives of the patch map at `at`.
fn directives<'p>(
    patch: &'p Map<String, Value>,
    schema: &'static [Field],
    at: &str,
) -> Result<Directives<'p>, PatchError> {
    let mut found = Directives::default();
    for (key, value) in patch.iter().filter(|(k, _)| k.starts_with('$')) {
        let array = || {
            value
                .as_array()
                .map(Vec::as_slice)
                .ok_or_else(|| PatchError::WrongType { at: child(at, key), expected: "an array" })
        };
        let invalid = |reason| PatchError::InvalidDirective { at: at.to_owned(), directive: key.clone(), reason };
        if key == PATCH {
            continue;
        } else if key == RETAIN_KEYS {
            let keys = array()?
                .iter()
                .map(Value::as_str)
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| PatchError::WrongType { at: child(at, key), expected: "an array of strings" })?;
            found.retain_keys = Some(keys);
        } else if let Some(field) = key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) {
            if lookup(schema, field).0 != MergePrimitives {
                return Err(invalid("applies only to lists merged as sets of primitives"));
            }
            found.delete_from.push((field, array()?));
        } else if let Some(field) = key.strip_prefix(SET_ELEMENT_ORDER) {
            let strategy = lookup(schema, field).0;
            if strategy == Replace {
                return Err(invalid("applies only to merged lists"));
            }
            found.set_order.push((field, strategy, array()?));
        } else {
            return Err(PatchError::UnknownDirective { at: at.to_owned(), directive: key.clone() });
        }
    }
    Ok(found)
}

/// Merges the patch map at `at` into `original`; `None` means the map is
/// deleted (`$patch: delete`).
fn merge_map(
    mut original: Map<String, Value>,
    patch: &Map<String, Value>,
    schema: &'static [Field],
    at: &str,
) -> Result<Option<Map<String, Value>>, PatchError> {
    match patch_directive(patch, at)? {
        Some(PatchDirective::Delete) => return Ok(None),
        Some(PatchDirective::Replace) => original = Map::new(),
        Some(PatchDirective::Merge) | None => {}
    }
    let directives = directives(patch, schema, at)?;
    let fields = || patch.iter().filter(|(k, _)| !k.starts_with('$'));

    if let Some(keep) = &directives.retain_keys {
        if fields().any(|(k, v)| !v.is_null() && !keep.contains(&k.as_str())) {
            return Err(PatchError::InvalidDirective {
                at: at.to_owned(),
                directive: RETAIN_KEYS.to_owned(),
                reason: "does not list every key the patch sets",
            });
        }
        original.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (field, values) in &directives.delete_from {
        if let Some(Value::Array(items)) = original.get_mut(*field) {
            items.retain(|item| !values.contains(item));
        }
    }
    for (key, value) in fields() {
        let at = child(at, key);
        let (strategy, schema) = lookup(schema, key);
        match value {
            Value::Null => {
                original.remove(key);
            }
            Value::Object(patch) => {
                let base = match original.get_mut(key) {
                    Some(Value::Object(map)) => std::mem::take(map),
                    _ => Map::new(),
                };
                match merge_map(base, patch, schema, &at)? {
                    Some(merged) => {
                        original.insert(key.clone(), Value::Object(merged));
                    }
                    None => {
                        original.remove(key);
                    }
                }
            }
            Value::Array(patch) => {
                let base = match original.get_mut(key) {
                    Some(Value::Array(items)) => std::mem::take(items),
                    _ => Vec::new(),
                };
                let merged = merge_list(base, patch, strategy, schema, &at)?;
                original.insert(key.clone(), Value::Array(merged));
            }
            scalar => {
                original.insert(key.clone(), scalar.clone());
            }
        }
    }
    for (field, strategy, order) in &directives.set_order {
        if let Some(Value::Array(items)) = original.get_mut(*field) {
            let at = child(at, &format!("{SET_ELEMENT_ORDER}{field}"));
            reorder(items, order, *strategy, &at)?;
        }
    }
    Ok(Some(original))
}

/// What identifies a list element under `strategy`: its merge key's value,
/// or the element itself.
fn identity(value: &Value, strategy: ListStrategy) -> Option<&Value> {
    match strategy {
        ListStrategy::MergeByKey(key) => value.as_object().and_then(|m| m.get(key)),
        MergePrimitives | Replace => Some(value),
    }
}

/// Whether `value` is the list element `{"$patch": "replace"}`.
fn is_replace_marker(value: &Value) -> bool {
    value.as_object().is_some_and(|m| m.len() == 1 && m.get(PATCH).and_then(Value::as_str) == Some("replace"))
}

/// Merges the patch list at `at` into `original` by `strategy`.
fn merge_list(
    original: Vec<Value>,
    patch: &[Value],
    strategy: ListStrategy,
    schema: &'static [Field],
    at: &str,
) -> Result<Vec<Value>, PatchError> {
    let replace_all = patch.iter().any(is_replace_marker);
    let elements = patch.iter().enumerate().filter(|(_, v)| !is_replace_marker(v));
    let mut merged = if replace_all { Vec::new() } else { original };
    match strategy {
        Replace => return Ok(elements.map(|(_, v)| v.clone()).collect()),
        MergePrimitives => {
            for (i, element) in elements {
                if element.as_object().is_some_and(|m| m.contains_key(PATCH)) {
                    return Err(PatchError::InvalidDirective {
                        at: format!("{at}[{i}]"),
                        directive: PATCH.to_owned(),
                        reason: "is not valid in a list of primitives",
                    });
                }
                if !merged.contains(element) {
                    merged.push(element.clone());
                }
            }
        }
        ListStrategy::MergeByKey(key) => {
            for (i, element) in elements {
                let at = format!("{at}[{i}]");
                let Value::Object(element) = element else {
                    return Err(PatchError::WrongType { at, expected: "an object" });
                };
                let id = element
                    .get(key)
                    .filter(|id| !id.is_null())
                    .ok_or_else(|| PatchError::MissingMergeKey { at: at.clone(), key })?;
                let position = merged.iter().position(|e| e.as_object().and_then(|m| m.get(key)) == Some(id));
                if patch_directive(element, &at)? == Some(PatchDirective::Delete) {
                    merged.retain(|e| e.as_object().and_then(|m| m.get(key)) != Some(id));
                    continue;
                }
                let base = match position.map(|p| &mut merged[p]) {
                    Some(Value::Object(map)) => std::mem::take(map),
                    _ => Map::new(),
                };
                match (merge_map(base, element, schema, &at)?, position) {
                    (Some(map), Some(p)) => merged[p] = Value::Object(map),
                    (Some(map), None) => merged.push(Value::Object(map)),
                    (None, Some(p)) => {
                        merged.remove(p);
                    }
                    (None, None) => {}
                }
            }
        }
    }
    Ok(merged)
}

/// Applies `$setElementOrder` (at `at`): elements named by `order` come
/// first in that order, the rest follow in their current relative order.
fn reorder(items: &mut Vec<Value>, order: &[Value], strategy: ListStrategy, at: &str) -> Result<(), PatchError> {
    let ids = order
        .iter()
        .enumerate()
        .map(|(i, entry)| match strategy {
            ListStrategy::MergeByKey(key) => {
                identity(entry, strategy).ok_or_else(|| PatchError::MissingMergeKey { at: format!("{at}[{i}]"), key })
            }
            MergePrimitives | Replace => Ok(entry),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut rest: Vec<Option<Value>> = items.drain(..).map(Some).collect();
    for id in ids {
        let slot = rest.iter_mut().find(|slot| slot.as_ref().and_then(|v| identity(v, strategy)) == Some(id));
        if let Some(slot) = slot {
            items.extend(slot.take());
        }
    }
    items.extend(rest.into_iter().flatten());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// (what the case proves, kind, target, patch, expected result)
    type Case = (&'static str, &'static str, Value, Value, Value);

    fn check(cases: Vec<Case>) {
        for (name, kind, target, patch, want) in cases {
            let got = strategic_merge(kind, &target, &patch);
            assert_eq!(got, Ok(want), "{name}");
        }
    }

    #[test]
    fn containers_merge_by_name_and_nested_lists_by_their_keys() {
        let pod = json!({"spec": {"containers": [
            {"name": "app", "image": "app:1",
             "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
             "ports": [{"containerPort": 80, "protocol": "TCP"}]},
            {"name": "sidecar", "image": "proxy:1"}
        ]}});
        check(vec![
            (
                "changing one container's image keeps the other",
                "Pod",
                pod.clone(),
                json!({"spec": {"containers": [{"name": "sidecar", "image": "proxy:2"}]}}),
                json!({"spec": {"containers": [
                    {"name": "app", "image": "app:1",
                     "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                     "ports": [{"containerPort": 80, "protocol": "TCP"}]},
                    {"name": "sidecar", "image": "proxy:2"}
                ]}}),
            ),
            (
                "env merges by name: one changed, one added",
                "Pod",
                pod.clone(),
                json!({"spec": {"containers": [{"name": "app", "env": [
                    {"name": "B", "value": "two"}, {"name": "C", "value": "3"}
                ]}]}}),
                json!({"spec": {"containers": [
                    {"name": "app", "image": "app:1",
                     "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "two"},
                             {"name": "C", "value": "3"}],
                     "ports": [{"containerPort": 80, "protocol": "TCP"}]},
                    {"name": "sidecar", "image": "proxy:1"}
                ]}}),
            ),
            (
                "a new container port is added beside the old one",
                "Pod",
                pod.clone(),
                json!({"spec": {"containers": [{"name": "app", "ports": [{"containerPort": 443}]}]}}),
                json!({"spec": {"containers": [
                    {"name": "app", "image": "app:1",
                     "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                     "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443}]},
                    {"name": "sidecar", "image": "proxy:1"}
                ]}}),
            ),
            (
                "a new container is appended",
                "Pod",
                json!({"spec": {"containers": [{"name": "app"}]}}),
                json!({"spec": {"containers": [{"name": "debug", "image": "busybox"}]}}),
                json!({"spec": {"containers": [{"name": "app"}, {"name": "debug", "image": "busybox"}]}}),
            ),
            (
                "the pod template of a Deployment merges the same way",
                "Deployment",
                json!({"spec": {"replicas": 1, "template": {"spec": {"containers": [
                    {"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}
                ]}}}}),
                json!({"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "b:2"}]}}}}),
                json!({"spec": {"replicas": 1, "template": {"spec": {"containers": [
                    {"name": "a", "image": "a:1"}, {"name": "b", "image": "b:2"}
                ]}}}}),
            ),
            (
                "volumeMounts merge by mountPath in a ReplicaSet template",
                "ReplicaSet",
                json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "volumeMounts": [
                    {"mountPath": "/data", "name": "data"}
                ]}]}}}}),
                json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "volumeMounts": [
                    {"mountPath": "/data", "readOnly": true}, {"mountPath": "/cfg", "name": "cfg"}
                ]}]}}}}),
                json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "volumeMounts": [
                    {"mountPath": "/data", "name": "data", "readOnly": true},
                    {"mountPath": "/cfg", "name": "cfg"}
                ]}]}}}}),
            ),
        ]);
    }

    #[test]
    fn patch_directives_delete_and_replace_elements_lists_and_maps() {
        check(vec![
            (
                "$patch: delete removes the container with that name",
                "Pod",
                json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]}}),
                json!({"spec": {"containers": [{"name": "a", "$patch": "delete"}]}}),
                json!({"spec": {"containers": [{"name": "b"}]}}),
            ),
            (
                "$patch: replace as a list element replaces the whole list",
                "Pod",
                json!({"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b"}]}}),
                json!({"spec": {"containers": [{"$patch": "replace"}, {"name": "c"}]}}),
                json!({"spec": {"containers": [{"name": "c"}]}}),
            ),
            (
                "$patch: replace in a map replaces the map",
                "Pod",
                json!({"metadata": {"labels": {"a": "1", "b": "2"}}}),
                json!({"metadata": {"labels": {"$patch": "replace", "c": "3"}}}),
                json!({"metadata": {"labels": {"c": "3"}}}),
            ),
            (
                "$patch: replace in an element replaces only that element",
                "Pod",
                json!({"spec": {"containers": [{"name": "a", "image": "x", "args": ["y"]}]}}),
                json!({"spec": {"containers": [{"name": "a", "image": "z", "$patch": "replace"}]}}),
                json!({"spec": {"containers": [{"name": "a", "image": "z"}]}}),
            ),
            (
                "$patch: delete in a map deletes the map",
                "Pod",
                json!({"spec": {"securityContext": {"runAsUser": 1}, "nodeName": "n"}}),
                json!({"spec": {"securityContext": {"$patch": "delete"}}}),
                json!({"spec": {"nodeName": "n"}}),
            ),
            (
                "$patch: merge is the default",
                "Pod",
                json!({"metadata": {"labels": {"a": "1"}}}),
                json!({"metadata": {"labels": {"$patch": "merge", "b": "2"}}}),
                json!({"metadata": {"labels": {"a": "1", "b": "2"}}}),
            ),
        ]);
    }

    #[test]
    fn primitive_lists_union_and_delete_from_primitive_list() {
        check(vec![
            (
                "finalizers are a set union keeping order",
                "Namespace",
                json!({"metadata": {"finalizers": ["a", "b"]}}),
                json!({"metadata": {"finalizers": ["c", "a"]}}),
                json!({"metadata": {"finalizers": ["a", "b", "c"]}}),
            ),
            (
                "$deleteFromPrimitiveList/finalizers removes values",
                "Pod",
                json!({"metadata": {"finalizers": ["a", "b", "c"]}}),
                json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b", "z"]}}),
                json!({"metadata": {"finalizers": ["a", "c"]}}),
            ),
            (
                "deleting and adding in one patch",
                "Lease",
                json!({"metadata": {"finalizers": ["a", "b"]}}),
                json!({"metadata": {"finalizers": ["d"], "$deleteFromPrimitiveList/finalizers": ["a"]}}),
                json!({"metadata": {"finalizers": ["b", "d"]}}),
            ),
            (
                "ownerReferences merge by uid",
                "Event",
                json!({"metadata": {"ownerReferences": [{"uid": "1", "name": "x"}]}}),
                json!({"metadata": {"ownerReferences": [{"uid": "1", "controller": true}, {"uid": "2"}]}}),
                json!({"metadata": {"ownerReferences": [
                    {"uid": "1", "name": "x", "controller": true}, {"uid": "2"}
                ]}}),
            ),
        ]);
    }

    #[test]
    fn status_and_spec_lists_follow_the_kind_table() {
        check(vec![
            (
                "pod conditions merge by type",
                "Pod",
                json!({"status": {"conditions": [
                    {"type": "Ready", "status": "False"}, {"type": "Scheduled", "status": "True"}
                ]}}),
                json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
                json!({"status": {"conditions": [
                    {"type": "Ready", "status": "True"}, {"type": "Scheduled", "status": "True"}
                ]}}),
            ),
            (
                "node conditions and addresses merge by type",
                "Node",
                json!({"status": {
                    "conditions": [{"type": "Ready", "status": "True"}],
                    "addresses": [{"type": "Hostname", "address": "n1"}]
                }}),
                json!({"status": {
                    "conditions": [{"type": "MemoryPressure", "status": "False"}],
                    "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]
                }}),
                json!({"status": {
                    "conditions": [{"type": "Ready", "status": "True"},
                                   {"type": "MemoryPressure", "status": "False"}],
                    "addresses": [{"type": "Hostname", "address": "n1"},
                                  {"type": "InternalIP", "address": "10.0.0.1"}]
                }}),
            ),
            (
                "taints merge by key",
                "Node",
                json!({"spec": {"taints": [{"key": "a", "effect": "NoSchedule"}]}}),
                json!({"spec": {"taints": [{"key": "a", "effect": "NoExecute"}, {"key": "b"}]}}),
                json!({"spec": {"taints": [{"key": "a", "effect": "NoExecute"}, {"key": "b"}]}}),
            ),
            (
                "deployment conditions merge by type",
                "Deployment",
                json!({"status": {"conditions": [{"type": "Available"}]}}),
                json!({"status": {"conditions": [{"type": "Progressing"}]}}),
                json!({"status": {"conditions": [{"type": "Available"}, {"type": "Progressing"}]}}),
            ),
            (
                "containerStatuses are replaced",
                "Pod",
                json!({"status": {"containerStatuses": [{"name": "a"}, {"name": "b"}]}}),
                json!({"status": {"containerStatuses": [{"name": "b", "ready": true}]}}),
                json!({"status": {"containerStatuses": [{"name": "b", "ready": true}]}}),
            ),
            (
                "tolerations are replaced",
                "Pod",
                json!({"spec": {"tolerations": [{"key": "a"}, {"key": "b"}]}}),
                json!({"spec": {"tolerations": [{"key": "c"}]}}),
                json!({"spec": {"tolerations": [{"key": "c"}]}}),
            ),
            (
                "service ports merge by port",
                "Service",
                json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}]}}),
                json!({"spec": {"ports": [{"port": 80, "name": "http"}, {"port": 443}]}}),
                json!({"spec": {"ports": [
                    {"port": 80, "targetPort": 8080, "name": "http"}, {"port": 443}
                ]}}),
            ),
            (
                "endpoints subsets are replaced",
                "Endpoints",
                json!({"subsets": [{"addresses": [{"ip": "10.0.0.1"}]}]}),
                json!({"subsets": [{"addresses": [{"ip": "10.0.0.2"}]}]}),
                json!({"subsets": [{"addresses": [{"ip": "10.0.0.2"}]}]}),
            ),
            (
                "lists not in the table are replaced",
                "Pod",
                json!({"spec": {"containers": [{"name": "a", "args": ["x", "y"]}]}}),
                json!({"spec": {"containers": [{"name": "a", "args": ["z"]}]}}),
                json!({"spec": {"containers": [{"name": "a", "args": ["z"]}]}}),
            ),
        ]);
    }

    #[test]
    fn maps_merge_like_json_merge_patch() {
        check(vec![
            (
                "null deletes a key",
                "Pod",
                json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"nodeName": "n"}}),
                json!({"metadata": {"labels": {"a": null}}, "spec": {"nodeName": null}}),
                json!({"metadata": {"labels": {"b": "2"}}, "spec": {}}),
            ),
            (
                "new nested maps are created, their nulls dropped",
                "Service",
                json!({}),
                json!({"metadata": {"annotations": {"a": "1", "b": null}}}),
                json!({"metadata": {"annotations": {"a": "1"}}}),
            ),
            (
                "a scalar replaces a map and vice versa",
                "Lease",
                json!({"spec": {"holderIdentity": {"x": 1}, "leaseDurationSeconds": 5}}),
                json!({"spec": {"holderIdentity": "me", "leaseDurationSeconds": {"y": 2}}}),
                json!({"spec": {"holderIdentity": "me", "leaseDurationSeconds": {"y": 2}}}),
            ),
        ]);
    }

    #[test]
    fn set_element_order_and_retain_keys_shape_the_result() {
        check(vec![
            (
                "$setElementOrder orders listed containers first, the rest after",
                "Pod",
                json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "d"}]}}),
                json!({"spec": {
                    "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}],
                    "containers": [{"name": "c", "image": "c:2"}]
                }}),
                json!({"spec": {"containers": [
                    {"name": "c", "image": "c:2"}, {"name": "a"}, {"name": "b"}, {"name": "d"}
                ]}}),
            ),
            (
                "$setElementOrder on a primitive list, ignoring absent values",
                "Pod",
                json!({"metadata": {"finalizers": ["a", "b", "c"]}}),
                json!({"metadata": {"$setElementOrder/finalizers": ["c", "x", "b"]}}),
                json!({"metadata": {"finalizers": ["c", "b", "a"]}}),
            ),
            (
                "$retainKeys drops keys not listed",
                "Deployment",
                json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}}),
                json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
                json!({"spec": {"strategy": {"type": "Recreate"}}}),
            ),
        ]);
    }

    #[test]
    fn malformed_patches_give_errors_naming_the_path() {
        let pod = json!({"metadata": {"finalizers": ["a"]}, "spec": {"containers": [{"name": "a"}]}});
        let cases = [
            (json!([1]), "patch: expected a JSON object"),
            (json!({"$foo": 1}), r#"patch: unknown directive "$foo""#),
            (json!({"spec": {"$patch": "explode"}}), r#"spec: unknown directive "$patch: explode""#),
            (json!({"spec": {"$patch": 1}}), r#"spec.$patch: expected "replace", "delete" or "merge""#),
            (
                json!({"spec": {"containers": [{"image": "x"}]}}),
                r#"spec.containers[0]: list element lacks the merge key "name""#,
            ),
            (
                json!({"spec": {"containers": [{"name": "a"}, {"$patch": "delete"}]}}),
                r#"spec.containers[1]: list element lacks the merge key "name""#,
            ),
            (
                json!({"spec": {"containers": [{"name": "a", "ports": [{"name": "http"}]}]}}),
                r#"spec.containers[0].ports[0]: list element lacks the merge key "containerPort""#,
            ),
            (json!({"spec": {"containers": ["a"]}}), "spec.containers[0]: expected an object"),
            (
                json!({"spec": {"containers": [{"name": "a", "$patch": "nope"}]}}),
                r#"spec.containers[0]: unknown directive "$patch: nope""#,
            ),
            (
                json!({"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}}),
                "metadata.$deleteFromPrimitiveList/finalizers: expected an array",
            ),
            (
                json!({"spec": {"$deleteFromPrimitiveList/containers": ["a"]}}),
                r#"spec: directive "$deleteFromPrimitiveList/containers" applies only to lists merged as sets of primitives"#,
            ),
            (
                json!({"spec": {"$setElementOrder/tolerations": []}}),
                r#"spec: directive "$setElementOrder/tolerations" applies only to merged lists"#,
            ),
            (
                json!({"spec": {"$setElementOrder/containers": [{"image": "x"}]}}),
                r#"spec.$setElementOrder/containers[0]: list element lacks the merge key "name""#,
            ),
            (json!({"spec": {"$retainKeys": [1]}}), "spec.$retainKeys: expected an array of strings"),
            (
                json!({"spec": {"$retainKeys": ["a"], "nodeName": "n"}}),
                r#"spec: directive "$retainKeys" does not list every key the patch sets"#,
            ),
            (
                json!({"metadata": {"finalizers": [{"$patch": "delete"}]}}),
                r#"metadata.finalizers[0]: directive "$patch" is not valid in a list of primitives"#,
            ),
        ];
        for (patch, want) in cases {
            let err = strategic_merge("Pod", &pod, &patch).unwrap_err();
            assert_eq!(err.to_string(), want, "patch {patch}");
        }
    }

    #[test]
    fn custom_kinds_are_rejected() {
        let err = strategic_merge("Widget", &json!({}), &json!({})).unwrap_err();
        assert_eq!(err, PatchError::StrategicUnsupported { kind: "Widget".into() });
    }

    #[test]
    fn list_strategy_ignores_indices_and_defaults_to_replace() {
        let cases = [
            ("Pod", "spec.containers", Some(ListStrategy::MergeByKey("name"))),
            ("Pod", "spec.containers[3].env", Some(ListStrategy::MergeByKey("name"))),
            ("Pod", "spec.initContainers[*].envFrom", Some(Replace)),
            ("Pod", "spec.ephemeralContainers[0].volumeMounts", Some(ListStrategy::MergeByKey("mountPath"))),
            ("Pod", "spec.hostAliases", Some(ListStrategy::MergeByKey("ip"))),
            ("Pod", "spec.topologySpreadConstraints", Some(ListStrategy::MergeByKey("topologyKey"))),
            ("Pod", "spec.imagePullSecrets", Some(ListStrategy::MergeByKey("name"))),
            ("Pod", "spec.volumes", Some(ListStrategy::MergeByKey("name"))),
            ("ReplicaSet", "spec.template.metadata.finalizers", Some(MergePrimitives)),
            ("ReplicaSet", "status.conditions", Some(ListStrategy::MergeByKey("type"))),
            ("Service", "spec.ports", Some(ListStrategy::MergeByKey("port"))),
            ("Endpoints", "subsets", Some(Replace)),
            ("Node", "spec.taints", Some(ListStrategy::MergeByKey("key"))),
            ("Node", "status.addresses", Some(ListStrategy::MergeByKey("type"))),
            ("Pod", "spec.unknown.deeper", Some(Replace)),
            ("Foo", "metadata.finalizers", None),
        ];
        for (kind, path, want) in cases {
            assert_eq!(list_strategy(kind, path), want, "{kind} {path}");
        }
    }

    #[test]
    fn target_is_left_untouched() {
        let pod = json!({"spec": {"containers": [{"name": "a", "image": "x"}]}});
        let _ = strategic_merge("Pod", &pod, &json!({"spec": {"containers": [{"name": "a", "image": "y"}]}}));
        let _ = strategic_merge("Pod", &pod, &json!({"spec": {"containers": [{"name": "a"}, {"x": 1}]}}));
        assert_eq!(pod, json!({"spec": {"containers": [{"name": "a", "image": "x"}]}}));
    }
}
