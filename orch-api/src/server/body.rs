//! Request bodies: bounded before they are read, decoded with the position of any error.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, header};
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use orch_core::{DynamicObject, StoreError};
use serde::de::DeserializeOwned;

/// Reads a body of at most `limit` bytes within `timeout`: a larger `Content-Length` is refused
/// before anything is read, a body that grows past the limit while streaming is refused too, and
/// so is one that trickles in slower than `timeout` allows (a slow-body attack holds a
/// connection busy otherwise).
///
/// # Errors
/// `TooLarge` (413), or `BadRequest` when the connection fails mid-body or the body is late.
pub async fn read(headers: &HeaderMap, body: Body, limit: usize, timeout: Duration) -> Result<Bytes, StoreError> {
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if let Some(size) = declared.filter(|s| *s > limit) {
        return Err(StoreError::TooLarge { size, limit });
    }
    let Ok(collected) = tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await else {
        return Err(StoreError::bad_request(format!("the request body did not arrive within {timeout:?}")));
    };
    match collected {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(StoreError::TooLarge { size: limit + 1, limit }),
        Err(e) => Err(StoreError::bad_request(format!("reading the request body: {e}"))),
    }
}

/// Whether the request says its body is YAML.
fn is_yaml(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.contains("yaml"))
}

/// YAML flow collections (`[`, `{`) nested deeper than this are refused before the YAML parser
/// sees them: its time grows with the square of the nesting (a 200 KB body of brackets held a
/// core for minutes), and the decoder refuses more than 128 levels anyway, as serde_json does.
const MAX_YAML_FLOW_DEPTH: usize = 128;

/// Where (line, column) the flow nesting of a YAML document first goes past
/// [`MAX_YAML_FLOW_DEPTH`], skipping quoted scalars and comments. Brackets inside block scalars
/// count too, so a block scalar with more than 128 unbalanced `[` is refused as well.
fn yaml_too_deep(bytes: &[u8]) -> Option<(usize, usize)> {
    let (mut depth, mut line, mut column) = (0usize, 1usize, 0usize);
    let (mut quote, mut comment, mut prev) = (None::<u8>, false, b'\n');
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        i += 1;
        if b == b'\n' {
            (line, column, comment, prev) = (line + 1, 0, false, b);
            continue;
        }
        column += 1;
        if comment {
            continue;
        }
        match quote {
            Some(q) if b == q && q == b'\'' && bytes.get(i) == Some(&b'\'') => (i, column) = (i + 1, column + 1),
            Some(q) if b == q => quote = None,
            Some(b'"') if b == b'\\' => (i, column) = (i + 1, column + 1),
            Some(_) => {}
            None => match b {
                b'#' if prev.is_ascii_whitespace() => comment = true,
                b'"' | b'\'' if matches!(prev, b' ' | b'\t' | b'\n' | b'[' | b'{' | b',' | b':') => quote = Some(b),
                b'[' | b'{' => {
                    depth += 1;
                    if depth > MAX_YAML_FLOW_DEPTH {
                        return Some((line, column));
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
        prev = b;
    }
    None
}

/// Decodes a JSON (or, by content type, YAML) body.
///
/// # Errors
/// `BadRequest` naming the line and column (or path) where decoding failed.
pub fn decode<T: DeserializeOwned>(headers: &HeaderMap, bytes: &[u8]) -> Result<T, StoreError> {
    if bytes.is_empty() {
        return Err(StoreError::bad_request("the request body is empty"));
    }
    if is_yaml(headers) {
        if let Some((line, column)) = yaml_too_deep(bytes) {
            return Err(StoreError::bad_request(format!(
                "request body (YAML): recursion limit exceeded: collections nested deeper than \
                 {MAX_YAML_FLOW_DEPTH} levels at line {line} column {column}"
            )));
        }
        return yaml_serde::from_slice(bytes).map_err(|e| StoreError::bad_request(format!("request body (YAML): {e}")));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let at = if path == "." { String::new() } else { format!(" (at {path})") };
        StoreError::bad_request(format!("request body: {inner}{at}"))
    })
}

/// Decodes an object body for a write to `kind`/`api_version` at `namespace`: fills in absent
/// `apiVersion`, `kind` and `namespace`, and refuses ones that contradict the path.
///
/// # Errors
/// `BadRequest` for malformed JSON or a contradicting field.
pub fn decode_object(
    headers: &HeaderMap,
    bytes: &[u8],
    api_version: &str,
    kind: &str,
    namespace: Option<&str>,
) -> Result<DynamicObject, StoreError> {
    place_object(decode(headers, bytes)?, api_version, kind, namespace)
}

/// Fills in an already decoded object's absent `apiVersion`, `kind` and `namespace` from the
/// request path, and refuses ones that contradict it.
///
/// # Errors
/// `BadRequest` naming the contradicting field.
pub fn place_object(
    mut obj: DynamicObject,
    api_version: &str,
    kind: &str,
    namespace: Option<&str>,
) -> Result<DynamicObject, StoreError> {
    if obj.types.api_version.is_empty() {
        obj.types.api_version = api_version.to_string();
    }
    if obj.types.kind.is_empty() {
        obj.types.kind = kind.to_string();
    }
    if obj.types.api_version != api_version || obj.types.kind != kind {
        return Err(StoreError::bad_request(format!(
            "the body is a {} {} but the request is for {kind} {api_version}",
            obj.types.api_version, obj.types.kind
        )));
    }
    if let Some(ns) = namespace {
        match obj.metadata.namespace.as_deref() {
            None | Some("") => obj.metadata.namespace = Some(ns.to_string()),
            Some(body_ns) if body_ns != ns => {
                return Err(StoreError::bad_request(format!(
                    "metadata.namespace: the namespace of the object ({body_ns}) does not match the namespace on the request ({ns})"
                )));
            }
            Some(_) => {}
        }
    }
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_json_names_line_and_column() {
        let err = decode::<serde_json::Value>(&HeaderMap::new(), b"{\n  \"a\": [1, }").unwrap_err();
        assert!(err.to_string().contains("line 2 column"), "{err}");
        assert_eq!(err.http_status(), 400);
    }

    #[test]
    fn deeply_nested_yaml_is_refused_before_parsing_naming_the_position() {
        let yaml = |depth: usize| format!("spec: {{x: {}{}}}\n", "[".repeat(depth), "]".repeat(depth));
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, "application/yaml".parse().unwrap());
        let started = std::time::Instant::now();
        let err = decode::<serde_json::Value>(&headers, yaml(1_000_000).as_bytes()).unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "refused without parsing");
        assert!(err.to_string().contains("at line 1 column 138"), "{err}");
        let ok: serde_json::Value = decode(&headers, yaml(100).as_bytes()).unwrap();
        assert!(ok["spec"]["x"].is_array());
        let quoted = format!("a: '{}'\nb: \"{}\" # {}\n", "[".repeat(500), "{".repeat(500), "[".repeat(500));
        let ok: serde_json::Value = decode(&headers, quoted.as_bytes()).unwrap();
        assert_eq!(ok["a"].as_str().map(str::len), Some(500), "brackets in quotes and comments do not count");
    }

    #[test]
    fn object_body_gets_path_defaults_and_contradictions_are_refused() {
        let obj = decode_object(&HeaderMap::new(), br#"{"metadata":{"name":"p"}}"#, "v1", "Pod", Some("a")).unwrap();
        assert_eq!((obj.types.kind.as_str(), obj.metadata.namespace.as_deref()), ("Pod", Some("a")));
        let wrong_ns = br#"{"metadata":{"name":"p","namespace":"b"}}"#;
        assert!(decode_object(&HeaderMap::new(), wrong_ns, "v1", "Pod", Some("a")).is_err());
        let wrong_kind = br#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"p"}}"#;
        assert!(decode_object(&HeaderMap::new(), wrong_kind, "v1", "Pod", Some("a")).is_err());
    }
}
