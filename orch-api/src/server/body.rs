//! Request bodies: bounded before they are read, decoded with the position of any error.

use axum::body::Body;
use axum::http::{HeaderMap, header};
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use orch_core::{DynamicObject, StoreError};
use serde::de::DeserializeOwned;

/// Reads a body of at most `limit` bytes: a larger `Content-Length` is refused before anything is
/// read, and a body that grows past the limit while streaming is refused too.
///
/// # Errors
/// `TooLarge` (413), or `BadRequest` when the connection fails mid-body.
pub async fn read(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, StoreError> {
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if let Some(size) = declared.filter(|s| *s > limit) {
        return Err(StoreError::TooLarge { size, limit });
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(StoreError::TooLarge { size: limit + 1, limit }),
        Err(e) => Err(StoreError::bad_request(format!("reading the request body: {e}"))),
    }
}

/// Whether the request says its body is YAML.
fn is_yaml(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.contains("yaml"))
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
    fn object_body_gets_path_defaults_and_contradictions_are_refused() {
        let obj = decode_object(&HeaderMap::new(), br#"{"metadata":{"name":"p"}}"#, "v1", "Pod", Some("a")).unwrap();
        assert_eq!((obj.types.kind.as_str(), obj.metadata.namespace.as_deref()), ("Pod", Some("a")));
        let wrong_ns = br#"{"metadata":{"name":"p","namespace":"b"}}"#;
        assert!(decode_object(&HeaderMap::new(), wrong_ns, "v1", "Pod", Some("a")).is_err());
        let wrong_kind = br#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"p"}}"#;
        assert!(decode_object(&HeaderMap::new(), wrong_kind, "v1", "Pod", Some("a")).is_err());
    }
}
