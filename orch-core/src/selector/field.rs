//! Field selectors such as `metadata.name=x,spec.nodeName!=n`.
//!
//! A field selector is a conjunction of `field=value`, `field==value` and `field!=value`
//! terms separated by commas. Values may contain `,`, `=` and `\` escaped with a backslash
//! (`\,`, `\=`, `\\`). A field the object does not have compares as the empty string, as in
//! Kubernetes, so `spec.nodeName=` selects unscheduled pods.

use std::fmt;
use std::str::FromStr;

use crate::DynamicObject;

/// Why a field selector does not parse.
///
/// ```
/// use orch_core::selector::field::{FieldSelector, FieldSelectorError};
/// let err = FieldSelector::parse("spec.nodeName=a,status.phase").unwrap_err();
/// assert!(matches!(err, FieldSelectorError::NoOperator { position: 16, .. }));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FieldSelectorError {
    /// A term has no `=`, `==` or `!=`.
    #[error("invalid field selector {input:?}: at position {position}: expected '=', '==' or '!=' in term {term:?}")]
    NoOperator {
        /// The whole selector.
        input: String,
        /// Byte offset where the term starts.
        position: usize,
        /// The term.
        term: String,
    },
    /// A field name is empty or has characters other than letters, digits, `.`, `-`, `_` and `/`.
    #[error(
        "invalid field selector {input:?}: at position {position}: invalid field name {field:?}: \
         expected letters, digits, '.', '-', '_' or '/'"
    )]
    InvalidField {
        /// The whole selector.
        input: String,
        /// Byte offset where the field name starts.
        position: usize,
        /// The field name.
        field: String,
    },
    /// A backslash followed by something other than `\`, `,` or `=` (or by nothing).
    #[error(
        "invalid field selector {input:?}: at position {position}: invalid escape sequence {sequence:?} \
         (only \\\\, \\, and \\= are allowed)"
    )]
    InvalidEscape {
        /// The whole selector.
        input: String,
        /// Byte offset of the backslash.
        position: usize,
        /// The backslash and the character after it, if any.
        sequence: String,
    },
    /// A value holds an `=` that is not escaped.
    #[error("invalid field selector {input:?}: at position {position}: '=' in a value must be escaped as \\=")]
    UnescapedEquals {
        /// The whole selector.
        input: String,
        /// Byte offset of the `=`.
        position: usize,
    },
}

/// How a [`FieldRequirement`] compares.
///
/// ```
/// use orch_core::selector::field::{FieldOp, FieldSelector};
/// let sel = FieldSelector::parse("status.phase!=Running").unwrap();
/// assert_eq!(sel.requirements()[0].op(), FieldOp::NotEquals);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FieldOp {
    /// `field=value` or `field==value`: the field equals the value.
    Equals,
    /// `field!=value`: the field differs from the value.
    NotEquals,
}

/// One term of a field selector.
///
/// ```
/// use orch_core::selector::field::{FieldOp, FieldRequirement};
/// let req = FieldRequirement::new("metadata.name", FieldOp::Equals, "a,b").unwrap();
/// assert_eq!(req.to_string(), r"metadata.name=a\,b");
/// assert!(req.matches_value(Some("a,b")));
/// assert!(FieldRequirement::new("bad field", FieldOp::Equals, "x").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldRequirement {
    field: String,
    op: FieldOp,
    value: String,
}

impl FieldRequirement {
    /// A requirement on a field path such as `spec.nodeName`; the value may be anything.
    ///
    /// # Errors
    /// [`FieldSelectorError::InvalidField`] for an empty field or one with characters other than
    /// letters, digits, `.`, `-`, `_` and `/`.
    pub fn new(field: impl Into<String>, op: FieldOp, value: impl Into<String>) -> Result<Self, FieldSelectorError> {
        let field = field.into();
        if !is_valid_field(&field) {
            return Err(FieldSelectorError::InvalidField { input: field.clone(), position: 0, field });
        }
        Ok(FieldRequirement { field, op, value: value.into() })
    }

    /// The field path.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The comparison.
    pub fn op(&self) -> FieldOp {
        self.op
    }

    /// The value compared against (unescaped).
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether a field's value satisfies the requirement; a missing field counts as `""`.
    pub fn matches_value(&self, found: Option<&str>) -> bool {
        let equal = found.unwrap_or_default() == self.value;
        match self.op {
            FieldOp::Equals => equal,
            FieldOp::NotEquals => !equal,
        }
    }
}

impl fmt::Display for FieldRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.op {
            FieldOp::Equals => "=",
            FieldOp::NotEquals => "!=",
        };
        write!(f, "{}{op}", self.field)?;
        for c in self.value.chars() {
            if matches!(c, '\\' | ',' | '=') {
                f.write_str("\\")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

/// A parsed field selector: every requirement must hold. Empty, it matches everything.
///
/// Requirements are kept sorted by field, operator and value; `Display` prints the canonical
/// form (`==` as `=`, values escaped), which parses back to an equal selector.
///
/// ```
/// use orch_core::DynamicObject;
/// use orch_core::selector::field::FieldSelector;
/// let sel = FieldSelector::parse("status.phase!=Running,spec.nodeName==n1").unwrap();
/// assert_eq!(sel.to_string(), "spec.nodeName=n1,status.phase!=Running");
/// assert_eq!(sel.value_for("spec.nodeName"), Some("n1"));
///
/// let pod: DynamicObject = serde_json::from_str(
///     r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"nodeName":"n1"}}"#,
/// ).unwrap();
/// assert!(sel.matches(&pod)); // no status.phase: compares as "" != "Running"
/// assert!(FieldSelector::everything().matches(&pod));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// The empty selector, which matches everything.
    pub fn everything() -> Self {
        FieldSelector::default()
    }

    /// A selector of these requirements.
    pub fn new(requirements: impl IntoIterator<Item = FieldRequirement>) -> Self {
        let mut requirements: Vec<FieldRequirement> = requirements.into_iter().collect();
        requirements.sort();
        FieldSelector { requirements }
    }

    /// Parses `field=value,field==value,field!=value`; the empty string (and empty terms
    /// between commas) select everything. Nothing is trimmed: whitespace in a field name is
    /// an error and whitespace in a value is part of the value.
    ///
    /// # Errors
    /// A [`FieldSelectorError`] with the byte position of the first problem.
    pub fn parse(input: &str) -> Result<Self, FieldSelectorError> {
        let mut requirements = Vec::new();
        for (start, term) in split_terms(input) {
            if !term.is_empty() {
                requirements.push(parse_term(input, start, term)?);
            }
        }
        Ok(FieldSelector::new(requirements))
    }

    /// Whether the selector has no requirements.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The requirements, in canonical order.
    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.requirements
    }

    /// Whether every requirement holds, reading fields through `get` (a missing field is `""`).
    pub fn matches_with(&self, get: impl Fn(&str) -> Option<String>) -> bool {
        self.requirements.iter().all(|r| r.matches_value(get(&r.field).as_deref()))
    }

    /// Whether every requirement holds for `obj`, reading fields with [`DynamicObject::field_str`].
    pub fn matches(&self, obj: &DynamicObject) -> bool {
        self.matches_with(|path| obj.field_str(path))
    }

    /// The value an `=` requirement demands of `field`, if there is one (for indexing watchers,
    /// e.g. by `spec.nodeName`).
    pub fn value_for(&self, field: &str) -> Option<&str> {
        self.requirements.iter().find(|r| r.op == FieldOp::Equals && r.field == field).map(|r| r.value.as_str())
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        super::write_comma_separated(f, &self.requirements)
    }
}

impl FromStr for FieldSelector {
    type Err = FieldSelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FieldSelector::parse(s)
    }
}

/// Whether a field name is non-empty ASCII letters, digits, `.`, `-`, `_` and `/`.
fn is_valid_field(field: &str) -> bool {
    !field.is_empty() && field.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/'))
}

/// Splits on commas not escaped by a backslash, returning each term with its byte offset.
fn split_terms(input: &str) -> Vec<(usize, &str)> {
    let mut terms = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in input.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            ',' => {
                terms.push((start, &input[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push((start, &input[start..]));
    terms
}

/// Parses one `field op value` term found at byte offset `start` of `input`.
fn parse_term(input: &str, start: usize, term: &str) -> Result<FieldRequirement, FieldSelectorError> {
    let found = term.char_indices().find_map(|(i, _)| {
        let rest = &term[i..];
        [("!=", FieldOp::NotEquals), ("==", FieldOp::Equals), ("=", FieldOp::Equals)]
            .into_iter()
            .find(|(text, _)| rest.starts_with(text))
            .map(|(text, op)| (i, text.len(), op))
    });
    let Some((at, len, op)) = found else {
        return Err(FieldSelectorError::NoOperator { input: input.to_owned(), position: start, term: term.to_owned() });
    };
    let field = &term[..at];
    if !is_valid_field(field) {
        return Err(FieldSelectorError::InvalidField {
            input: input.to_owned(),
            position: start,
            field: field.to_owned(),
        });
    }
    let value = unescape(input, start + at + len, &term[at + len..])?;
    Ok(FieldRequirement { field: field.to_owned(), op, value })
}

/// Resolves `\\`, `\,` and `\=` in a value found at byte offset `start` of `input`.
fn unescape(input: &str, start: usize, raw: &str) -> Result<String, FieldSelectorError> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, e @ ('\\' | ',' | '='))) => out.push(e),
                other => {
                    let sequence = other.map_or_else(|| "\\".to_owned(), |(_, e)| format!("\\{e}"));
                    return Err(FieldSelectorError::InvalidEscape {
                        input: input.to_owned(),
                        position: start + i,
                        sequence,
                    });
                }
            },
            '=' => {
                return Err(FieldSelectorError::UnescapedEquals { input: input.to_owned(), position: start + i });
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn sel(s: &str) -> FieldSelector {
        FieldSelector::parse(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
    }

    #[test]
    fn parse_displays_canonically() {
        let cases = [
            ("", ""),
            ("metadata.name=x", "metadata.name=x"),
            ("metadata.name==x", "metadata.name=x"),
            ("status.phase!=Running", "status.phase!=Running"),
            ("spec.nodeName=", "spec.nodeName="),
            (
                "status.phase!=Running,spec.nodeName=n,metadata.name=x",
                "metadata.name=x,spec.nodeName=n,status.phase!=Running",
            ),
            ("a=1,,b=2", "a=1,b=2"),
            (",a=1,", "a=1"),
            (r"a=x\,y", r"a=x\,y"),
            (r"a=x\=y", r"a=x\=y"),
            (r"a=x\\y", r"a=x\\y"),
            (r"a=\\", r"a=\\"),
            ("a= x ", "a= x "),
            ("a!=b,a=b", "a=b,a!=b"),
        ];
        for (input, want) in cases {
            let parsed = sel(input);
            assert_eq!(parsed.to_string(), want, "display of {input:?}");
            assert_eq!(sel(want), parsed, "{want:?} parses back to the same selector");
        }
    }

    #[test]
    fn parse_unescapes_values() {
        let cases = [
            (r"a=x\,y", FieldOp::Equals, "x,y"),
            (r"a=x\=y", FieldOp::Equals, "x=y"),
            (r"a=x\\y", FieldOp::Equals, r"x\y"),
            (r"a!=\\\,\=", FieldOp::NotEquals, r"\,="),
            ("a=ü", FieldOp::Equals, "ü"),
            ("a==b", FieldOp::Equals, "b"),
            ("a!=", FieldOp::NotEquals, ""),
        ];
        for (input, op, value) in cases {
            let parsed = sel(input);
            let [req] = parsed.requirements() else { panic!("{input:?} gives one requirement") };
            assert_eq!((req.field(), req.op(), req.value()), ("a", op, value), "{input:?}");
        }
    }

    #[test]
    fn bad_input_reports_positions() {
        let cases = [
            ("a", 0, "expected '=', '==' or '!='"),
            ("a=1,b", 4, "in term \"b\""),
            (" ", 0, "expected '='"),
            ("=x", 0, "invalid field name \"\""),
            ("a b=x", 0, "invalid field name \"a b\""),
            ("x=1, a=b", 4, "invalid field name \" a\""),
            ("a!b=x", 0, "invalid field name \"a!b\""),
            (r"a\=b", 0, "invalid field name"),
            ("a=b=c", 3, "'=' in a value must be escaped"),
            ("a===b", 3, "'=' in a value must be escaped"),
            ("a=b!=c", 4, "'=' in a value must be escaped"),
            (r"a=\x", 2, r#"invalid escape sequence "\\x""#),
            (r"a=x\", 3, r#"invalid escape sequence "\\""#),
            (r"b=1,a=\n", 6, "invalid escape sequence"),
        ];
        for (input, position, want) in cases {
            let err = FieldSelector::parse(input).expect_err(input);
            let at = match &err {
                FieldSelectorError::NoOperator { position, .. }
                | FieldSelectorError::InvalidField { position, .. }
                | FieldSelectorError::InvalidEscape { position, .. }
                | FieldSelectorError::UnescapedEquals { position, .. } => *position,
            };
            let text = err.to_string();
            assert_eq!(at, position, "{input:?}: {text}");
            assert!(text.contains(want), "{input:?}: {text:?} should contain {want:?}");
            assert!(text.contains(&format!("{input:?}")), "{text:?} names the input");
        }
    }

    #[test]
    fn garbage_never_panics() {
        let corpus = [
            "", ",", ",,,", "=", "==", "!=", "!", "\\", "\\\\", "a=\\", "a=ü\\", "ü=a", "a=\\ü", "\u{0}", "a=\u{0}",
            "a=b\\,", "a=b\\,,", "a\\,b=c", "!==", "a!==b", "a=,=b", "a=b,c", "\\=\\=",
        ];
        for input in corpus {
            let result = std::panic::catch_unwind(|| FieldSelector::parse(input));
            let Ok(result) = result else { panic!("{input:?} panicked") };
            if let Ok(parsed) = result {
                assert_eq!(sel(&parsed.to_string()), parsed, "{input:?} round trips");
            }
        }
    }

    #[test]
    fn matches_with_treats_missing_fields_as_empty() {
        let fields = BTreeMap::from([("metadata.name", "web-1"), ("spec.nodeName", "n1"), ("status.phase", "Running")]);
        let get = |path: &str| fields.get(path).map(|v| (*v).to_owned());
        let cases = [
            ("", true),
            ("metadata.name=web-1", true),
            ("metadata.name=web-2", false),
            ("metadata.name!=web-2", true),
            ("spec.nodeName=n1,status.phase=Running", true),
            ("spec.nodeName=n1,status.phase!=Running", false),
            ("spec.missing=", true),
            ("spec.missing!=", false),
            ("spec.missing=x", false),
            ("spec.missing!=x", true),
        ];
        for (input, want) in cases {
            assert_eq!(sel(input).matches_with(get), want, "{input:?}");
        }
    }

    #[test]
    fn matches_dynamic_objects() {
        let pod: DynamicObject = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "web-1", "namespace": "default"},
            "spec": {"nodeName": "n1", "priority": 5, "hostNetwork": true},
            "status": {"phase": "Pending"},
        }))
        .unwrap();
        let cases = [
            ("metadata.name=web-1,metadata.namespace=default", true),
            ("metadata.namespace!=default", false),
            ("spec.nodeName=n1", true),
            ("spec.nodeName=", false),
            ("status.phase!=Running", true),
            ("status.phase=Pending,spec.nodeName=n2", false),
            ("spec.priority=5", true),
            ("spec.hostNetwork=true", true),
            ("spec.schedulerName=", true),
            ("kind=Pod", true),
        ];
        for (input, want) in cases {
            assert_eq!(sel(input).matches(&pod), want, "{input:?}");
        }
    }

    #[test]
    fn value_for_returns_only_equality_values() {
        let cases = [
            ("spec.nodeName=n1", "spec.nodeName", Some("n1")),
            ("spec.nodeName==n1,status.phase=Running", "spec.nodeName", Some("n1")),
            ("spec.nodeName!=n1", "spec.nodeName", None),
            ("spec.nodeName=", "spec.nodeName", Some("")),
            ("metadata.name=x", "spec.nodeName", None),
            (r"spec.nodeName=a\,b", "spec.nodeName", Some("a,b")),
            ("", "spec.nodeName", None),
        ];
        for (input, field, want) in cases {
            assert_eq!(sel(input).value_for(field), want, "{input:?} / {field}");
        }
    }

    #[test]
    fn requirements_built_in_code_round_trip() {
        let built = FieldSelector::new([
            FieldRequirement::new("status.phase", FieldOp::NotEquals, "a=b,c\\d").unwrap(),
            FieldRequirement::new("metadata.name", FieldOp::Equals, "").unwrap(),
        ]);
        assert_eq!(built.to_string(), r"metadata.name=,status.phase!=a\=b\,c\\d");
        assert_eq!(sel(&built.to_string()), built);
        assert_eq!("a=b".parse::<FieldSelector>().unwrap(), sel("a==b"));
        for bad in ["", "a b", "a=b", "a,b", "a\\b"] {
            assert!(FieldRequirement::new(bad, FieldOp::Equals, "x").is_err(), "{bad:?}");
        }
        assert!(FieldSelector::everything().is_empty());
        assert!(!sel("a=b").is_empty());
    }
}
