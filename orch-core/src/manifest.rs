//! Manifests: multi-document YAML or JSON into dynamic or typed objects, with errors that name the document and line.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use crate::kind_registry::{KindInfo, KindRegistry};
use crate::{DynamicObject, FieldErrors, Resource};

/// A manifest that could not be read. Every variant names the document (0-based, in file order)
/// and, where known, the 1-based line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ManifestError {
    /// The bytes are not UTF-8.
    #[error("line {line}, column {column}: invalid UTF-8")]
    NotUtf8 {
        /// Line of the first bad byte.
        line: usize,
        /// Column (in bytes) of the first bad byte.
        column: usize,
    },
    /// The YAML or JSON is malformed (also: nesting deeper than the parser's limit).
    #[error("document {document}: line {line}, column {column}: {message}")]
    Syntax {
        /// Document index.
        document: usize,
        /// Line of the error.
        line: usize,
        /// Column of the error.
        column: usize,
        /// What the parser says.
        message: String,
    },
    /// A document is not a mapping (for example a bare list or string).
    #[error("document {document} (line {line}): expected an object with apiVersion and kind, found {found}")]
    NotAnObject {
        /// Document index.
        document: usize,
        /// Line the document starts at.
        line: usize,
        /// What was found instead.
        found: &'static str,
    },
    /// `apiVersion` or `kind` is missing, empty, or not a string; or `metadata` has the wrong shape.
    #[error("document {document} (line {line}): {field}: {reason}")]
    Field {
        /// Document index.
        document: usize,
        /// Line the document starts at.
        line: usize,
        /// Field path.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The kind is not registered.
    #[error("document {document} (line {line}): no kind {kind:?} is registered for apiVersion {api_version:?}")]
    UnknownKind {
        /// Document index.
        document: usize,
        /// Line the document starts at.
        line: usize,
        /// The `apiVersion` given.
        api_version: String,
        /// The `kind` given.
        kind: String,
    },
    /// The document is of another kind than the one asked for.
    #[error("document {document} (line {line}): expected kind {expected}, found {found}")]
    WrongKind {
        /// Document index.
        document: usize,
        /// Line the document starts at.
        line: usize,
        /// The kind asked for.
        expected: String,
        /// The kind found.
        found: String,
    },
    /// Fields have the wrong type for the kind, or fail its validation.
    #[error("document {document} (line {line}): {kind} {name:?} is invalid: {errors}")]
    Invalid {
        /// Document index.
        document: usize,
        /// Line the document starts at.
        line: usize,
        /// The kind.
        kind: String,
        /// The object's name.
        name: String,
        /// Every problem, with field paths.
        errors: FieldErrors,
    },
}

/// One object of a manifest, with where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// Index of the document in the file (items of a `List` share their list's index).
    pub index: usize,
    /// 1-based line where the document starts.
    pub line: usize,
    /// The object.
    pub object: DynamicObject,
}

/// Parses a manifest of one or more YAML documents (separated by `---`) or JSON values into
/// dynamic objects. Empty documents are skipped; `kind: List` documents are expanded into their items.
///
/// # Errors
/// See [`ManifestError`]; nothing is returned unless every document is readable.
///
/// ```
/// let objs = orch_core::manifest::parse("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n").unwrap();
/// assert_eq!(objs.len(), 2);
/// let err = orch_core::manifest::parse("apiVersion: v1\nkind: Pod\n---\nkind: [unclosed\n").unwrap_err();
/// assert!(err.to_string().starts_with("document 1: line "), "{err}");
/// ```
pub fn parse(text: &str) -> Result<Vec<DynamicObject>, ManifestError> {
    Ok(parse_documents(text)?.into_iter().map(|d| d.object).collect())
}

/// Like [`parse`], from bytes that must be UTF-8.
///
/// # Errors
/// [`ManifestError::NotUtf8`] with the position of the first bad byte, or as [`parse`].
///
/// ```
/// let err = orch_core::manifest::parse_bytes(b"kind: Pod\nname: \xff\n").unwrap_err();
/// assert_eq!(err.to_string(), "line 2, column 7: invalid UTF-8");
/// ```
pub fn parse_bytes(bytes: &[u8]) -> Result<Vec<DynamicObject>, ManifestError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(text),
        Err(e) => {
            let good = &bytes[..e.valid_up_to()];
            let line = good.iter().filter(|b| **b == b'\n').count() + 1;
            let column = good.len() - good.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1) + 1;
            Err(ManifestError::NotUtf8 { line, column })
        }
    }
}

/// Parses a manifest keeping each object's document index and line.
///
/// # Errors
/// As [`parse`].
pub fn parse_documents(text: &str) -> Result<Vec<Document>, ManifestError> {
    let trimmed = text.trim_start();
    let values =
        if trimmed.starts_with('{') || trimmed.starts_with('[') { json_values(text)? } else { yaml_values(text)? };
    let mut out = Vec::new();
    for (index, line, value) in values {
        push_object(&mut out, index, line, value)?;
    }
    Ok(out)
}

/// Parses a manifest whose documents are all of kind `K` into typed objects.
///
/// # Errors
/// [`ManifestError::WrongKind`] for a document of another kind, [`ManifestError::Invalid`] for
/// fields of the wrong type (naming the field), or as [`parse`].
///
/// ```
/// use orch_core::kinds::Service;
/// let svcs: Vec<Service> = orch_core::manifest::parse_typed(
///     "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n").unwrap();
/// assert_eq!(svcs[0].spec.ports[0].port, 80);
/// let err = orch_core::manifest::parse_typed::<Service>(
///     "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: eighty}]}\n").unwrap_err();
/// assert!(err.to_string().contains("spec.ports[0].port"), "{err}");
/// ```
pub fn parse_typed<K: Resource>(text: &str) -> Result<Vec<K>, ManifestError> {
    parse_documents(text)?
        .into_iter()
        .map(|d| {
            if d.object.types.kind != K::KIND || d.object.types.api_version != K::api_version() {
                return Err(ManifestError::WrongKind {
                    document: d.index,
                    line: d.line,
                    expected: format!("{}/{}", K::api_version(), K::KIND),
                    found: format!("{}/{}", d.object.types.api_version, d.object.types.kind),
                });
            }
            d.object.to_typed::<K>().map_err(|errors| invalid(&d, errors))
        })
        .collect()
}

/// Parses a manifest and resolves every document's kind in `kinds`, checking that its fields
/// decode and validate. Nothing is returned unless every document is good.
///
/// # Errors
/// [`ManifestError::UnknownKind`] for an unregistered kind, [`ManifestError::Invalid`] with every
/// field error, or as [`parse`].
///
/// ```
/// use orch_core::kind_registry::KindRegistry;
/// let kinds = KindRegistry::with_builtins();
/// let err = orch_core::manifest::parse_checked(&kinds, "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n").unwrap_err();
/// assert!(err.to_string().contains("no kind \"Widget\""), "{err}");
/// ```
pub fn parse_checked(kinds: &KindRegistry, text: &str) -> Result<Vec<(Arc<KindInfo>, DynamicObject)>, ManifestError> {
    parse_documents(text)?
        .into_iter()
        .map(|d| {
            let info = kinds.by_kind(&d.object.types.api_version, &d.object.types.kind).ok_or_else(|| {
                ManifestError::UnknownKind {
                    document: d.index,
                    line: d.line,
                    api_version: d.object.types.api_version.clone(),
                    kind: d.object.types.kind.clone(),
                }
            })?;
            info.validate(&d.object).map_err(|errors| invalid(&d, errors))?;
            Ok((info.clone(), d.object))
        })
        .collect()
}

/// Renders objects as a multi-document YAML manifest.
///
/// ```
/// let objs = orch_core::manifest::parse("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"a\"}}").unwrap();
/// let yaml = orch_core::manifest::to_yaml(&objs);
/// assert_eq!(orch_core::manifest::parse(&yaml).unwrap(), objs);
/// ```
pub fn to_yaml(objects: &[DynamicObject]) -> String {
    objects.iter().map(|o| yaml_serde::to_string(o).unwrap_or_default()).collect::<Vec<_>>().join("---\n")
}

fn invalid(d: &Document, errors: FieldErrors) -> ManifestError {
    ManifestError::Invalid {
        document: d.index,
        line: d.line,
        kind: d.object.types.kind.clone(),
        name: d.object.metadata.name_str().to_owned(),
        errors,
    }
}

fn push_object(out: &mut Vec<Document>, index: usize, line: usize, value: Value) -> Result<(), ManifestError> {
    let found = match &value {
        Value::Null => return Ok(()),
        Value::Object(_) => "",
        Value::Array(_) => "a list",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
    };
    if !found.is_empty() {
        return Err(ManifestError::NotAnObject { document: index, line, found });
    }
    let field_err =
        |field: &str, reason: String| ManifestError::Field { document: index, line, field: field.into(), reason };
    for field in ["apiVersion", "kind"] {
        match value.get(field) {
            Some(Value::String(s)) if !s.is_empty() => {}
            None | Some(Value::Null) => return Err(field_err(field, "required value".into())),
            Some(Value::String(_)) => return Err(field_err(field, "must not be empty".into())),
            Some(_) => return Err(field_err(field, "must be a string".into())),
        }
    }
    let is_list = value["kind"].as_str().is_some_and(|k| k.ends_with("List")) && value.get("items").is_some();
    if is_list {
        let Some(Value::Array(items)) = value.get("items") else {
            return Err(field_err("items", "must be a list".into()));
        };
        for item in items.clone() {
            push_object(out, index, line, item)?;
        }
        return Ok(());
    }
    let mut track = serde_path_to_error::Track::new();
    let object =
        DynamicObject::deserialize(serde_path_to_error::Deserializer::new(&value, &mut track)).map_err(|e| {
            let (path, message) = (track.path().to_string(), e.to_string());
            match message.split_once(": ") {
                // Errors inside `metadata` carry their own path in the message.
                Some((field, reason)) if path == "." && field.starts_with("metadata") => {
                    field_err(field, reason.into())
                }
                _ => field_err(&path, message),
            }
        })?;
    out.push(Document { index, line, object });
    Ok(())
}

fn json_values(text: &str) -> Result<Vec<(usize, usize, Value)>, ManifestError> {
    let mut out = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let mut index = 0;
    loop {
        let offset = stream.byte_offset();
        let line = line_of_offset(text, offset + leading_ws(&text[offset..]));
        match stream.next() {
            None => break,
            Some(Ok(Value::Array(items))) => {
                for item in items {
                    out.push((index, line, item));
                    index += 1;
                }
            }
            Some(Ok(v)) => {
                out.push((index, line, v));
                index += 1;
            }
            Some(Err(e)) => {
                return Err(ManifestError::Syntax {
                    document: index,
                    line: e.line(),
                    column: e.column(),
                    message: strip_position(&e.to_string()),
                });
            }
        }
    }
    Ok(out)
}

fn yaml_values(text: &str) -> Result<Vec<(usize, usize, Value)>, ManifestError> {
    let starts = yaml_document_lines(text);
    let mut out = Vec::new();
    for (index, doc) in yaml_serde::Deserializer::from_str(text).enumerate() {
        let line = starts.get(index).copied().unwrap_or(1);
        match Value::deserialize(doc) {
            Ok(v) => out.push((index, line, v)),
            Err(e) => {
                let (line, column) = e.location().map_or((line, 1), |l| (l.line(), l.column()));
                // A syntax error can surface while an earlier document is read: its line says
                // which document it is in.
                let document = starts.iter().rposition(|start| *start <= line).map_or(index, |d| d.max(index));
                return Err(ManifestError::Syntax { document, line, column, message: strip_position(&e.to_string()) });
            }
        }
    }
    Ok(out)
}

/// 1-based start line of each YAML document: the first line, and the line after each `---` marker
/// (a marker on the very first line opens document 0 rather than a new one).
fn yaml_document_lines(text: &str) -> Vec<usize> {
    let mut starts = vec![1];
    let mut seen_content = false;
    for (i, l) in text.lines().enumerate() {
        let is_marker = l == "---" || l.starts_with("--- ");
        if is_marker {
            if seen_content {
                starts.push(i + 2);
            } else {
                starts[0] = i + 2;
                seen_content = true;
            }
        } else if !l.trim().is_empty() && !l.trim_start().starts_with('#') {
            seen_content = true;
        }
    }
    starts
}

fn leading_ws(s: &str) -> usize {
    s.len() - s.trim_start().len()
}

fn line_of_offset(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|b| **b == b'\n').count() + 1
}

/// Drops the parser's own "at line X column Y" suffix, since the error carries them as fields.
fn strip_position(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}
