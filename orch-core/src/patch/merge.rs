//! JSON merge patch (RFC 7386).

use serde_json::{Map, Value};

/// Applies a JSON merge patch (RFC 7386) to `target` and returns the result.
///
/// An object patch is merged member by member: `null` removes the member,
/// any other value is merged recursively. Any non-object patch (including an
/// array) replaces the target wholesale. Merge patches cannot fail.
///
/// ```
/// use orch_core::patch::merge_patch;
/// use serde_json::json;
///
/// let target = json!({"metadata": {"labels": {"app": "web", "tier": "fe"}}});
/// let patch = json!({"metadata": {"labels": {"tier": null, "env": "prod"}}});
/// assert_eq!(
///     merge_patch(&target, &patch),
///     json!({"metadata": {"labels": {"app": "web", "env": "prod"}}})
/// );
/// ```
pub fn merge_patch(target: &Value, patch: &Value) -> Value {
    let mut result = target.clone();
    merge_in_place(&mut result, patch);
    result
}

/// Merges `patch` into `target` in place.
fn merge_in_place(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(map) = target {
        for (key, value) in patch {
            if value.is_null() {
                map.remove(key);
            } else {
                merge_in_place(map.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc7386_appendix_a_examples_all_hold() {
        // (original, patch, result), in the order of RFC 7386 Appendix A.
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "b"}), json!({"b": "c"}), json!({"a": "b", "b": "c"})),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (json!({"a": "b", "b": "c"}), json!({"a": null}), json!({"b": "c"})),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (json!({"a": {"b": "c"}}), json!({"a": {"b": "d", "c": null}}), json!({"a": {"b": "d"}})),
            (json!({"a": [{"b": "c"}]}), json!({"a": [1]}), json!({"a": [1]})),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a": "b"}), json!(["c"]), json!(["c"])),
            (json!({"a": "foo"}), json!(null), json!(null)),
            (json!({"a": "foo"}), json!("bar"), json!("bar")),
            (json!({"e": null}), json!({"a": 1}), json!({"e": null, "a": 1})),
            (json!([1, 2]), json!({"a": "b", "c": null}), json!({"a": "b"})),
            (json!({}), json!({"a": {"bb": {"ccc": null}}}), json!({"a": {"bb": {}}})),
        ];
        for (i, (target, patch, want)) in cases.iter().enumerate() {
            assert_eq!(merge_patch(target, patch), *want, "appendix case {}", i + 1);
        }
    }

    #[test]
    fn rfc7386_section3_example_merges_nested_document() {
        let target = json!({
            "title": "Goodbye!",
            "author": {"givenName": "John", "familyName": "Doe"},
            "tags": ["example", "sample"],
            "content": "This will be unchanged"
        });
        let patch = json!({
            "title": "Hello!",
            "phoneNumber": "+01-123-456-7890",
            "author": {"familyName": null},
            "tags": ["example"]
        });
        let want = json!({
            "title": "Hello!",
            "author": {"givenName": "John"},
            "tags": ["example"],
            "content": "This will be unchanged",
            "phoneNumber": "+01-123-456-7890"
        });
        assert_eq!(merge_patch(&target, &patch), want);
    }

    #[test]
    fn merge_patch_leaves_target_untouched() {
        let target = json!({"a": {"b": 1}});
        let _ = merge_patch(&target, &json!({"a": {"b": null}}));
        assert_eq!(target, json!({"a": {"b": 1}}));
    }
}
