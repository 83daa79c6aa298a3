//! JSON Patch (RFC 6902) with RFC 6901 JSON Pointers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::error::{PatchError, PointerError};

/// An RFC 6901 JSON Pointer: a sequence of reference tokens, written
/// `/a/b/0` with `~1` standing for `/` and `~0` for `~` inside a token.
/// The empty string is the whole document.
///
/// ```
/// use orch_core::patch::JsonPointer;
///
/// let ptr: JsonPointer = "/metadata/annotations/a~1b~0c".parse().unwrap();
/// assert_eq!(ptr.tokens(), ["metadata", "annotations", "a/b~c"]);
/// assert_eq!(ptr.to_string(), "/metadata/annotations/a~1b~0c");
/// assert!("".parse::<JsonPointer>().unwrap().tokens().is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct JsonPointer {
    tokens: Vec<String>,
}

impl JsonPointer {
    /// The unescaped reference tokens, outermost first; empty for the whole
    /// document.
    ///
    /// ```
    /// use orch_core::patch::JsonPointer;
    ///
    /// let ptr: JsonPointer = "/spec/containers/-".parse().unwrap();
    /// assert_eq!(ptr.tokens(), ["spec", "containers", "-"]);
    /// ```
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// Whether `self` is a proper prefix of `other` (names one of its ancestors).
    fn is_proper_prefix_of(&self, other: &JsonPointer) -> bool {
        self.tokens.len() < other.tokens.len() && other.tokens.starts_with(&self.tokens)
    }
}

impl FromStr for JsonPointer {
    type Err = PointerError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Ok(Self::default());
        }
        let rest = s.strip_prefix('/').ok_or(PointerError::MissingLeadingSlash)?;
        let tokens = rest.split('/').map(unescape).collect::<Result<_, _>>()?;
        Ok(Self { tokens })
    }
}

/// Decodes `~0` and `~1` in one reference token.
fn unescape(token: &str) -> Result<String, PointerError> {
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.next() {
                Some('0') => out.push('~'),
                Some('1') => out.push('/'),
                _ => return Err(PointerError::InvalidEscape),
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

impl fmt::Display for JsonPointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for token in &self.tokens {
            write!(f, "/{}", token.replace('~', "~0").replace('/', "~1"))?;
        }
        Ok(())
    }
}

impl Serialize for JsonPointer {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for JsonPointer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One RFC 6902 operation. Serializes to the RFC's shape, e.g.
/// `{"op":"add","path":"/a","value":1}`.
///
/// ```
/// use orch_core::patch::JsonPatchOp;
/// use serde_json::json;
///
/// let op: JsonPatchOp = serde_json::from_value(json!({"op": "remove", "path": "/a"})).unwrap();
/// assert_eq!(op, JsonPatchOp::Remove { path: "/a".parse().unwrap() });
/// assert_eq!(serde_json::to_value(&op).unwrap(), json!({"op": "remove", "path": "/a"}));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase", try_from = "Value")]
pub enum JsonPatchOp {
    /// Inserts `value` at `path` (into an array: before the index, or at the
    /// end for `-`; into an object: adding or replacing the member).
    Add {
        /// Where to add.
        path: JsonPointer,
        /// What to add.
        value: Value,
    },
    /// Removes the value at `path`, which must exist.
    Remove {
        /// What to remove.
        path: JsonPointer,
    },
    /// Replaces the value at `path`, which must exist.
    Replace {
        /// What to replace.
        path: JsonPointer,
        /// The new value.
        value: Value,
    },
    /// Removes the value at `from` and adds it at `path`.
    Move {
        /// Where the value is taken from.
        from: JsonPointer,
        /// Where it is added.
        path: JsonPointer,
    },
    /// Adds a copy of the value at `from` at `path`.
    Copy {
        /// Where the value is copied from.
        from: JsonPointer,
        /// Where the copy is added.
        path: JsonPointer,
    },
    /// Fails unless the value at `path` equals `value` (numbers compare by
    /// numeric value).
    Test {
        /// What to test.
        path: JsonPointer,
        /// The expected value.
        value: Value,
    },
}

impl TryFrom<Value> for JsonPatchOp {
    type Error = PatchError;

    fn try_from(value: Value) -> Result<Self, Self::Error> {
        parse_op(&value, "op")
    }
}

/// Parses a JSON Patch document (an array of operation objects) into typed
/// operations. Members other than `op`, `path`, `from` and `value` are ignored,
/// as RFC 6902 requires. Errors name the position, e.g. `patch[2].path`.
///
/// ```
/// use orch_core::patch::{parse_json_patch, JsonPatchOp};
/// use serde_json::json;
///
/// let ops = parse_json_patch(&json!([{"op": "add", "path": "/a", "value": 1}])).unwrap();
/// assert!(matches!(ops[0], JsonPatchOp::Add { .. }));
///
/// let err = parse_json_patch(&json!([{"op": "foo", "path": "/a"}])).unwrap_err();
/// assert_eq!(err.to_string(), r#"patch[0]: unknown op "foo""#);
/// ```
pub fn parse_json_patch(patch: &Value) -> Result<Vec<JsonPatchOp>, PatchError> {
    let Value::Array(items) = patch else {
        return Err(PatchError::WrongType { at: "patch".to_owned(), expected: "an array of operations" });
    };
    items.iter().enumerate().map(|(i, item)| parse_op(item, &format!("patch[{i}]"))).collect()
}

/// Parses one operation object; `at` is its position for error messages.
fn parse_op(item: &Value, at: &str) -> Result<JsonPatchOp, PatchError> {
    let Value::Object(obj) = item else {
        return Err(PatchError::WrongType { at: at.to_owned(), expected: "an object" });
    };
    let member = |name: &str| obj.get(name).ok_or_else(|| PatchError::MissingMember { at: format!("{at}.{name}") });
    let string = |name: &str| {
        member(name)?.as_str().ok_or_else(|| PatchError::WrongType { at: format!("{at}.{name}"), expected: "a string" })
    };
    let pointer = |name: &str| {
        let raw = string(name)?;
        raw.parse::<JsonPointer>().map_err(|source| PatchError::InvalidPointer {
            at: format!("{at}.{name}"),
            pointer: raw.to_owned(),
            source,
        })
    };
    let value = |name: &str| member(name).cloned();
    let op = string("op")?;
    Ok(match op {
        "add" => JsonPatchOp::Add { path: pointer("path")?, value: value("value")? },
        "remove" => JsonPatchOp::Remove { path: pointer("path")? },
        "replace" => JsonPatchOp::Replace { path: pointer("path")?, value: value("value")? },
        "move" => JsonPatchOp::Move { from: pointer("from")?, path: pointer("path")? },
        "copy" => JsonPatchOp::Copy { from: pointer("from")?, path: pointer("path")? },
        "test" => JsonPatchOp::Test { path: pointer("path")?, value: value("value")? },
        other => {
            return Err(PatchError::UnknownOp { at: at.to_owned(), op: other.to_owned() });
        }
    })
}

/// Applies `ops` in order to a copy of `target` and returns the result.
/// The application is atomic: on any error `target` is untouched and no
/// partial result escapes. Errors name the failing op, e.g. `patch[1].from`.
///
/// ```
/// use orch_core::patch::{apply_json_patch, parse_json_patch};
/// use serde_json::json;
///
/// let target = json!({"spec": {"replicas": 1, "paused": true}});
/// let ops = parse_json_patch(&json!([
///     {"op": "test", "path": "/spec/replicas", "value": 1},
///     {"op": "replace", "path": "/spec/replicas", "value": 3},
///     {"op": "remove", "path": "/spec/paused"},
/// ]))
/// .unwrap();
/// assert_eq!(apply_json_patch(&target, &ops).unwrap(), json!({"spec": {"replicas": 3}}));
/// ```
pub fn apply_json_patch(target: &Value, ops: &[JsonPatchOp]) -> Result<Value, PatchError> {
    let mut doc = target.clone();
    for (i, op) in ops.iter().enumerate() {
        apply_op(&mut doc, op, i)?;
    }
    Ok(doc)
}

/// Applies one operation (number `i` in the patch) in place.
fn apply_op(doc: &mut Value, op: &JsonPatchOp, i: usize) -> Result<(), PatchError> {
    let at = |member: &str| format!("patch[{i}].{member}");
    match op {
        JsonPatchOp::Add { path, value } => add(doc, path, value.clone(), &at("path")),
        JsonPatchOp::Remove { path } => remove(doc, path, &at("path")).map(drop),
        JsonPatchOp::Replace { path, value } => {
            *walk_mut(doc, path.tokens(), path, &at("path"))? = value.clone();
            Ok(())
        }
        JsonPatchOp::Move { from, path } => {
            if from == path {
                return walk(doc, from.tokens(), from, &at("from")).map(drop);
            }
            if from.is_proper_prefix_of(path) {
                return Err(PatchError::MoveIntoChild {
                    at: format!("patch[{i}]"),
                    from: from.to_string(),
                    path: path.to_string(),
                });
            }
            let value = remove(doc, from, &at("from"))?;
            add(doc, path, value, &at("path"))
        }
        JsonPatchOp::Copy { from, path } => {
            let value = walk(doc, from.tokens(), from, &at("from"))?.clone();
            add(doc, path, value, &at("path"))
        }
        JsonPatchOp::Test { path, value } => {
            if json_eq(walk(doc, path.tokens(), path, &at("path"))?, value) {
                Ok(())
            } else {
                Err(PatchError::TestFailed { at: format!("patch[{i}]"), pointer: path.to_string() })
            }
        }
    }
}

/// Errors for one pointer at one position in the patch.
fn not_found(ptr: &JsonPointer, at: &str) -> PatchError {
    PatchError::PathNotFound { at: at.to_owned(), pointer: ptr.to_string() }
}

/// Parses an array index token (digits, no leading zeros) without bounds checks.
fn parse_index(token: &str, ptr: &JsonPointer, at: &str) -> Result<usize, PatchError> {
    let digits = !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit());
    let canonical = token == "0" || !token.starts_with('0');
    match token.parse::<usize>() {
        Ok(index) if digits && canonical => Ok(index),
        _ => Err(PatchError::InvalidIndex { at: at.to_owned(), pointer: ptr.to_string(), token: token.to_owned() }),
    }
}

/// Index of an existing element of an array of length `len`.
fn existing_index(token: &str, len: usize, ptr: &JsonPointer, at: &str) -> Result<usize, PatchError> {
    if token == "-" {
        return Err(not_found(ptr, at));
    }
    let index = parse_index(token, ptr, at)?;
    if index < len {
        Ok(index)
    } else {
        Err(PatchError::IndexOutOfRange { at: at.to_owned(), pointer: ptr.to_string(), index, len })
    }
}

/// Resolves `tokens` (a prefix of `ptr`'s tokens) to an existing value.
fn walk<'a>(doc: &'a Value, tokens: &[String], ptr: &JsonPointer, at: &str) -> Result<&'a Value, PatchError> {
    let mut cur = doc;
    for token in tokens {
        cur = match cur {
            Value::Object(map) => map.get(token).ok_or_else(|| not_found(ptr, at))?,
            Value::Array(items) => &items[existing_index(token, items.len(), ptr, at)?],
            _ => return Err(not_found(ptr, at)),
        };
    }
    Ok(cur)
}

/// Resolves `tokens` (a prefix of `ptr`'s tokens) to an existing value, mutably.
fn walk_mut<'a>(
    doc: &'a mut Value,
    tokens: &[String],
    ptr: &JsonPointer,
    at: &str,
) -> Result<&'a mut Value, PatchError> {
    let mut cur = doc;
    for token in tokens {
        cur = match cur {
            Value::Object(map) => map.get_mut(token).ok_or_else(|| not_found(ptr, at))?,
            Value::Array(items) => {
                let index = existing_index(token, items.len(), ptr, at)?;
                &mut items[index]
            }
            _ => return Err(not_found(ptr, at)),
        };
    }
    Ok(cur)
}

/// The RFC 6902 `add` operation.
fn add(doc: &mut Value, ptr: &JsonPointer, value: Value, at: &str) -> Result<(), PatchError> {
    let Some((last, parent)) = ptr.tokens().split_last() else {
        *doc = value;
        return Ok(());
    };
    match walk_mut(doc, parent, ptr, at)? {
        Value::Object(map) => {
            map.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(items) if last == "-" => {
            items.push(value);
            Ok(())
        }
        Value::Array(items) => {
            let index = parse_index(last, ptr, at)?;
            if index > items.len() {
                return Err(PatchError::IndexOutOfRange {
                    at: at.to_owned(),
                    pointer: ptr.to_string(),
                    index,
                    len: items.len(),
                });
            }
            items.insert(index, value);
            Ok(())
        }
        _ => Err(not_found(ptr, at)),
    }
}

/// The RFC 6902 `remove` operation; returns the removed value.
fn remove(doc: &mut Value, ptr: &JsonPointer, at: &str) -> Result<Value, PatchError> {
    let Some((last, parent)) = ptr.tokens().split_last() else {
        return Err(PatchError::RemoveRoot { at: at.to_owned() });
    };
    match walk_mut(doc, parent, ptr, at)? {
        Value::Object(map) => map.remove(last).ok_or_else(|| not_found(ptr, at)),
        Value::Array(items) => {
            let index = existing_index(last, items.len(), ptr, at)?;
            Ok(items.remove(index))
        }
        _ => Err(not_found(ptr, at)),
    }
}

/// JSON equality as RFC 6902 `test` defines it: like `==`, except that
/// numbers compare by numeric value (`1` equals `1.0`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                x == y
            } else if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                x == y
            } else {
                x.as_f64() == y.as_f64()
            }
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(target: &Value, patch: &Value) -> Result<Value, PatchError> {
        apply_json_patch(target, &parse_json_patch(patch)?)
    }

    #[test]
    fn rfc6902_appendix_a_examples_that_succeed_give_the_documented_result() {
        // (appendix section, target, patch, result)
        let cases = [
            (
                "A.1",
                json!({"foo": "bar"}),
                json!([{"op": "add", "path": "/baz", "value": "qux"}]),
                json!({"baz": "qux", "foo": "bar"}),
            ),
            (
                "A.2",
                json!({"foo": ["bar", "baz"]}),
                json!([{"op": "add", "path": "/foo/1", "value": "qux"}]),
                json!({"foo": ["bar", "qux", "baz"]}),
            ),
            (
                "A.3",
                json!({"baz": "qux", "foo": "bar"}),
                json!([{"op": "remove", "path": "/baz"}]),
                json!({"foo": "bar"}),
            ),
            (
                "A.4",
                json!({"foo": ["bar", "qux", "baz"]}),
                json!([{"op": "remove", "path": "/foo/1"}]),
                json!({"foo": ["bar", "baz"]}),
            ),
            (
                "A.5",
                json!({"baz": "qux", "foo": "bar"}),
                json!([{"op": "replace", "path": "/baz", "value": "boo"}]),
                json!({"baz": "boo", "foo": "bar"}),
            ),
            (
                "A.6",
                json!({"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}}),
                json!([{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}]),
                json!({"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}}),
            ),
            (
                "A.7",
                json!({"foo": ["all", "grass", "cows", "eat"]}),
                json!([{"op": "move", "from": "/foo/1", "path": "/foo/3"}]),
                json!({"foo": ["all", "cows", "eat", "grass"]}),
            ),
            (
                "A.8",
                json!({"baz": "qux", "foo": ["a", 2, "c"]}),
                json!([
                    {"op": "test", "path": "/baz", "value": "qux"},
                    {"op": "test", "path": "/foo/1", "value": 2}
                ]),
                json!({"baz": "qux", "foo": ["a", 2, "c"]}),
            ),
            (
                "A.10",
                json!({"foo": "bar"}),
                json!([{"op": "add", "path": "/child", "value": {"grandchild": {}}}]),
                json!({"foo": "bar", "child": {"grandchild": {}}}),
            ),
            (
                "A.11",
                json!({"foo": "bar"}),
                json!([{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}]),
                json!({"foo": "bar", "baz": "qux"}),
            ),
            (
                "A.14",
                json!({"/": 9, "~1": 10}),
                json!([{"op": "test", "path": "/~01", "value": 10}]),
                json!({"/": 9, "~1": 10}),
            ),
            (
                "A.16",
                json!({"foo": ["bar"]}),
                json!([{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}]),
                json!({"foo": ["bar", ["abc", "def"]]}),
            ),
        ];
        for (section, target, patch, want) in cases {
            assert_eq!(run(&target, &patch), Ok(want), "RFC 6902 {section}");
        }
    }

    #[test]
    fn rfc6902_appendix_a_examples_that_fail_give_the_matching_error() {
        // A.13 (duplicate "op" members) cannot be expressed in a parsed
        // serde_json::Value, where the last member wins.
        let cases = [
            (
                "A.9",
                json!({"baz": "qux"}),
                json!([{"op": "test", "path": "/baz", "value": "bar"}]),
                PatchError::TestFailed { at: "patch[0]".into(), pointer: "/baz".into() },
            ),
            (
                "A.12",
                json!({"foo": "bar"}),
                json!([{"op": "add", "path": "/baz/bat", "value": "qux"}]),
                PatchError::PathNotFound { at: "patch[0].path".into(), pointer: "/baz/bat".into() },
            ),
            (
                "A.15",
                json!({"/": 9, "~1": 10}),
                json!([{"op": "test", "path": "/~01", "value": "10"}]),
                PatchError::TestFailed { at: "patch[0]".into(), pointer: "/~01".into() },
            ),
        ];
        for (section, target, patch, want) in cases {
            assert_eq!(run(&target, &patch), Err(want), "RFC 6902 {section}");
        }
    }

    #[test]
    fn malformed_patch_documents_are_rejected_with_their_position() {
        let cases = [
            (json!({"op": "add"}), "patch: expected an array of operations"),
            (json!([1]), "patch[0]: expected an object"),
            (json!([{"path": "/a"}]), "patch[0].op: required member is missing"),
            (json!([{"op": 1, "path": "/a"}]), "patch[0].op: expected a string"),
            (json!([{"op": "remove", "path": "/a"}, {"op": "foo"}]), r#"patch[1]: unknown op "foo""#),
            (json!([{"op": "add", "path": "/a"}]), "patch[0].value: required member is missing"),
            (
                json!([{"op": "remove", "path": "/a"}, {"op": "remove", "path": "/a"},
                       {"op": "add", "path": "a", "value": 1}]),
                r#"patch[2].path: invalid JSON pointer "a": a non-empty pointer must start with '/'"#,
            ),
            (
                json!([{"op": "move", "from": "/a~x", "path": "/b"}]),
                r#"patch[0].from: invalid JSON pointer "/a~x": '~' must be followed by '0' or '1'"#,
            ),
            (json!([{"op": "copy", "path": "/b"}]), "patch[0].from: required member is missing"),
            (json!([{"op": "replace", "path": 3, "value": 1}]), "patch[0].path: expected a string"),
        ];
        for (patch, want) in cases {
            let err = parse_json_patch(&patch).unwrap_err();
            assert_eq!(err.to_string(), want, "patch {patch}");
        }
    }

    #[test]
    fn failing_operations_report_the_op_and_leave_the_target_unchanged() {
        let target = json!({"a": {"b": [1, 2]}, "s": "x"});
        let cases = [
            (json!([{"op": "remove", "path": "/missing"}]), r#"patch[0].path: path "/missing" does not exist"#),
            (json!([{"op": "replace", "path": "/a/c", "value": 1}]), r#"patch[0].path: path "/a/c" does not exist"#),
            (
                json!([{"op": "add", "path": "/a/b/3", "value": 0}]),
                r#"patch[0].path: index 3 in "/a/b/3" is out of range for an array of length 2"#,
            ),
            (
                json!([{"op": "remove", "path": "/a/b/2"}]),
                r#"patch[0].path: index 2 in "/a/b/2" is out of range for an array of length 2"#,
            ),
            (
                json!([{"op": "add", "path": "/a/b/01", "value": 0}]),
                r#"patch[0].path: "01" in "/a/b/01" is not an array index"#,
            ),
            (
                json!([{"op": "replace", "path": "/a/b/x", "value": 0}]),
                r#"patch[0].path: "x" in "/a/b/x" is not an array index"#,
            ),
            (json!([{"op": "remove", "path": "/a/b/-"}]), r#"patch[0].path: path "/a/b/-" does not exist"#),
            (json!([{"op": "add", "path": "/s/t", "value": 0}]), r#"patch[0].path: path "/s/t" does not exist"#),
            (json!([{"op": "remove", "path": ""}]), "patch[0].path: cannot remove the whole document"),
            (
                json!([{"op": "move", "from": "/a", "path": "/a/b/c"}]),
                r#"patch[0]: cannot move "/a" into its own child "/a/b/c""#,
            ),
            (json!([{"op": "move", "from": "/nope", "path": "/x"}]), r#"patch[0].from: path "/nope" does not exist"#),
            (
                json!([{"op": "copy", "from": "/a/b/5", "path": "/x"}]),
                r#"patch[0].from: index 5 in "/a/b/5" is out of range for an array of length 2"#,
            ),
            (
                // The first op succeeds on the working copy; the second fails,
                // and nothing of the first may leak out.
                json!([
                    {"op": "add", "path": "/new", "value": 1},
                    {"op": "test", "path": "/s", "value": "y"}
                ]),
                r#"patch[1]: test failed: value at "/s" differs from the expected value"#,
            ),
        ];
        for (patch, want) in cases {
            let err = run(&target, &patch).unwrap_err();
            assert_eq!(err.to_string(), want, "patch {patch}");
            assert_eq!(target, json!({"a": {"b": [1, 2]}, "s": "x"}));
        }
    }

    #[test]
    fn edge_operations_behave_as_rfc6902_specifies() {
        let target = json!({"a": {"b": [1, 2]}, "n": 1});
        let cases = [
            // Adding at index == len appends.
            (json!([{"op": "add", "path": "/a/b/2", "value": 3}]), json!({"a": {"b": [1, 2, 3]}, "n": 1})),
            // Adding to an existing member replaces it.
            (json!([{"op": "add", "path": "/n", "value": 2}]), json!({"a": {"b": [1, 2]}, "n": 2})),
            // Replacing or adding the root replaces the document.
            (json!([{"op": "replace", "path": "", "value": 7}]), json!(7)),
            (json!([{"op": "add", "path": "", "value": [1]}]), json!([1])),
            // Moving a value onto itself is a no-op.
            (json!([{"op": "move", "from": "/a", "path": "/a"}]), json!({"a": {"b": [1, 2]}, "n": 1})),
            // Moving a child up to replace its parent's sibling is allowed.
            (json!([{"op": "move", "from": "/a/b", "path": "/a"}]), json!({"a": [1, 2], "n": 1})),
            (json!([{"op": "copy", "from": "/a/b", "path": "/c"}]), json!({"a": {"b": [1, 2]}, "c": [1, 2], "n": 1})),
            // Numbers compare by value; objects ignore member order.
            (
                json!([
                    {"op": "test", "path": "/n", "value": 1.0},
                    {"op": "test", "path": "", "value": {"n": 1, "a": {"b": [1, 2]}}}
                ]),
                json!({"a": {"b": [1, 2]}, "n": 1}),
            ),
        ];
        for (patch, want) in cases {
            assert_eq!(run(&target, &patch), Ok(want), "patch {patch}");
        }
    }

    #[test]
    fn pointers_round_trip_through_escapes() {
        let cases = [
            ("", vec![]),
            ("/", vec![""]),
            ("/a~1b", vec!["a/b"]),
            ("/m~0n", vec!["m~n"]),
            ("/~01", vec!["~1"]),
            ("/a//b", vec!["a", "", "b"]),
        ];
        for (raw, tokens) in cases {
            let ptr: JsonPointer = raw.parse().unwrap();
            assert_eq!(ptr.tokens(), tokens.as_slice(), "{raw}");
            assert_eq!(ptr.to_string(), raw);
        }
        assert_eq!("/a~".parse::<JsonPointer>(), Err(PointerError::InvalidEscape));
    }

    #[test]
    fn ops_serialize_in_rfc_shape_and_deserialize_back() {
        let patch = json!([
            {"op": "add", "path": "/a/-", "value": {"x": 1}},
            {"op": "remove", "path": "/b"},
            {"op": "replace", "path": "/c", "value": null},
            {"op": "move", "from": "/d", "path": "/e"},
            {"op": "copy", "from": "/f", "path": "/g~1h"},
            {"op": "test", "path": "/i", "value": [1]}
        ]);
        let ops = parse_json_patch(&patch).unwrap();
        assert_eq!(serde_json::to_value(&ops).unwrap(), patch);
        let back: Vec<JsonPatchOp> = serde_json::from_value(patch).unwrap();
        assert_eq!(back, ops);
        let bad = serde_json::from_value::<JsonPatchOp>(json!({"op": "nope", "path": "/a"}));
        assert!(bad.unwrap_err().to_string().contains(r#"unknown op "nope""#));
    }
}
