//! Patches: JSON merge patch (RFC 7386), JSON Patch (RFC 6902) and
//! Kubernetes strategic merge patch, selected by HTTP content type.

mod error;
mod json_patch;
mod merge;
mod strategic;

pub use error::{PatchError, PointerError};
pub use json_patch::{JsonPatchOp, JsonPointer, apply_json_patch, parse_json_patch};
pub use merge::merge_patch;
pub use strategic::{ListStrategy, list_strategy, strategic_merge};

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Content type of a JSON merge patch.
const MERGE: &str = "application/merge-patch+json";
/// Content type of a JSON Patch.
const JSON: &str = "application/json-patch+json";
/// Content type of a strategic merge patch.
const STRATEGIC: &str = "application/strategic-merge-patch+json";

/// A patch to an object, in one of the three formats the API accepts.
///
/// Over HTTP a patch travels as [`Patch::content_type`] plus [`Patch::body`]
/// and is decoded with [`Patch::from_content_type`]. It also (de)serializes
/// externally tagged, e.g. `{"merge": {...}}` or `{"json": [...]}`.
///
/// ```
/// use orch_core::patch::Patch;
/// use serde_json::json;
///
/// let patch = Patch::Merge(json!({"spec": {"replicas": 3}}));
/// let target = json!({"spec": {"replicas": 1, "paused": false}});
/// assert_eq!(
///     patch.apply("Deployment", &target).unwrap(),
///     json!({"spec": {"replicas": 3, "paused": false}})
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Patch {
    /// A JSON merge patch (RFC 7386): objects merge, `null` deletes, every
    /// other value (lists included) replaces.
    Merge(Value),
    /// A JSON Patch (RFC 6902): a list of operations applied atomically.
    Json(#[serde(deserialize_with = "deserialize_ops")] Vec<JsonPatchOp>),
    /// A Kubernetes strategic merge patch (a JSON object): like a merge
    /// patch, but lists merge by the kind's per-field strategy.
    Strategic(Value),
}

/// Deserializes JSON Patch operations with errors naming their position.
fn deserialize_ops<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<JsonPatchOp>, D::Error> {
    parse_json_patch(&Value::deserialize(d)?).map_err(serde::de::Error::custom)
}

impl Patch {
    /// The HTTP content type of this patch format.
    ///
    /// ```
    /// use orch_core::patch::Patch;
    ///
    /// assert_eq!(Patch::Json(vec![]).content_type(), "application/json-patch+json");
    /// ```
    pub fn content_type(&self) -> &'static str {
        match self {
            Patch::Merge(_) => MERGE,
            Patch::Json(_) => JSON,
            Patch::Strategic(_) => STRATEGIC,
        }
    }

    /// The patch document to send as the HTTP body.
    ///
    /// ```
    /// use orch_core::patch::Patch;
    /// use serde_json::json;
    ///
    /// let body = json!([{"op": "remove", "path": "/spec/paused"}]);
    /// let patch = Patch::from_content_type("application/json-patch+json", body.clone()).unwrap();
    /// assert_eq!(patch.body(), body);
    /// ```
    pub fn body(&self) -> Value {
        match self {
            Patch::Merge(body) | Patch::Strategic(body) => body.clone(),
            Patch::Json(ops) => {
                Value::Array(ops.iter().map(|op| serde_json::to_value(op).unwrap_or(Value::Null)).collect())
            }
        }
    }

    /// Decodes a patch from an HTTP content type and JSON body. Parameters
    /// such as `; charset=utf-8` are ignored. Any other type, including
    /// server-side apply's `application/apply-patch+yaml`, gives
    /// [`PatchError::UnsupportedPatchType`] (HTTP 415); a malformed JSON Patch
    /// or a strategic merge patch that is not an object gives the error
    /// naming the position.
    ///
    /// ```
    /// use orch_core::patch::{Patch, PatchError};
    /// use serde_json::json;
    ///
    /// let patch = Patch::from_content_type(
    ///     "application/merge-patch+json; charset=utf-8",
    ///     json!({"metadata": {"labels": {"a": "b"}}}),
    /// )
    /// .unwrap();
    /// assert!(matches!(patch, Patch::Merge(_)));
    ///
    /// let err = Patch::from_content_type("application/apply-patch+yaml", json!({}));
    /// assert!(matches!(err, Err(PatchError::UnsupportedPatchType { .. })));
    /// ```
    pub fn from_content_type(content_type: &str, body: Value) -> Result<Patch, PatchError> {
        let media_type = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        match media_type.as_str() {
            MERGE => Ok(Patch::Merge(body)),
            JSON => parse_json_patch(&body).map(Patch::Json),
            STRATEGIC if body.is_object() => Ok(Patch::Strategic(body)),
            STRATEGIC => Err(PatchError::WrongType { at: "patch".to_owned(), expected: "a JSON object" }),
            _ => Err(PatchError::UnsupportedPatchType { content_type: content_type.to_owned() }),
        }
    }

    /// Applies the patch to `target`, an object of `kind` (used only by
    /// strategic merge patches), returning the patched object. `target` is
    /// never modified; on error no partial result is produced.
    ///
    /// ```
    /// use orch_core::patch::Patch;
    /// use serde_json::json;
    ///
    /// let pod = json!({"metadata": {"finalizers": ["a"]}});
    /// let patch = Patch::Strategic(json!({"metadata": {"finalizers": ["b"]}}));
    /// assert_eq!(
    ///     patch.apply("Pod", &pod).unwrap(),
    ///     json!({"metadata": {"finalizers": ["a", "b"]}})
    /// );
    /// ```
    pub fn apply(&self, kind: &str, target: &Value) -> Result<Value, PatchError> {
        match self {
            Patch::Merge(patch) => Ok(merge_patch(target, patch)),
            Patch::Json(ops) => apply_json_patch(target, ops),
            Patch::Strategic(patch) => strategic_merge(kind, target, patch),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn content_types_round_trip_through_from_content_type() {
        let cases = [
            (Patch::Merge(json!({"a": null})), "application/merge-patch+json"),
            (
                Patch::Json(parse_json_patch(&json!([{"op": "remove", "path": "/a"}])).unwrap()),
                "application/json-patch+json",
            ),
            (Patch::Strategic(json!({"a": 1})), "application/strategic-merge-patch+json"),
        ];
        for (patch, content_type) in cases {
            assert_eq!(patch.content_type(), content_type);
            let back = Patch::from_content_type(content_type, patch.body()).unwrap();
            assert_eq!(back, patch);
        }
    }

    #[test]
    fn from_content_type_ignores_parameters_and_case() {
        let patch = Patch::from_content_type("Application/Merge-Patch+JSON ; charset=utf-8", json!({}));
        assert_eq!(patch, Ok(Patch::Merge(json!({}))));
    }

    #[test]
    fn unsupported_and_malformed_bodies_are_rejected() {
        let cases = [
            ("application/apply-patch+yaml", json!({}), "unsupported patch content type"),
            ("application/json", json!({}), "unsupported patch content type"),
            ("", json!({}), "unsupported patch content type"),
            ("application/json-patch+json", json!({}), "patch: expected an array"),
            ("application/json-patch+json", json!([{"op": "x"}]), r#"patch[0]: unknown op "x""#),
            ("application/strategic-merge-patch+json", json!([]), "patch: expected a JSON object"),
        ];
        for (content_type, body, want) in cases {
            let err = Patch::from_content_type(content_type, body).unwrap_err();
            assert!(err.to_string().starts_with(want), "{content_type}: {err}");
        }
    }

    #[test]
    fn apply_dispatches_on_the_format() {
        let target = json!({"metadata": {"finalizers": ["a"]}, "spec": {"x": 1}});
        let cases = [
            (
                Patch::Merge(json!({"metadata": {"finalizers": ["b"]}})),
                json!({"metadata": {"finalizers": ["b"]}, "spec": {"x": 1}}),
            ),
            (
                Patch::Strategic(json!({"metadata": {"finalizers": ["b"]}})),
                json!({"metadata": {"finalizers": ["a", "b"]}, "spec": {"x": 1}}),
            ),
            (
                Patch::Json(parse_json_patch(&json!([{"op": "remove", "path": "/spec/x"}])).unwrap()),
                json!({"metadata": {"finalizers": ["a"]}, "spec": {}}),
            ),
        ];
        for (patch, want) in cases {
            assert_eq!(patch.apply("Pod", &target), Ok(want), "{patch:?}");
        }
    }

    #[test]
    fn patches_serialize_externally_tagged() {
        let patch = Patch::Json(parse_json_patch(&json!([{"op": "remove", "path": "/a"}])).unwrap());
        let value = serde_json::to_value(&patch).unwrap();
        assert_eq!(value, json!({"json": [{"op": "remove", "path": "/a"}]}));
        assert_eq!(serde_json::from_value::<Patch>(value).unwrap(), patch);
        let err = serde_json::from_value::<Patch>(json!({"json": [{"op": "zap"}]})).unwrap_err();
        assert!(err.to_string().contains(r#"patch[0]: unknown op "zap""#), "{err}");
    }
}
