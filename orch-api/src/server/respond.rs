//! Building responses: objects and lists as JSON, errors as Kubernetes `Status` objects.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use orch_core::StoreError;
use orch_core::store::Status;
use serde::Serialize;

/// A JSON response with `code`.
pub fn json<T: Serialize + ?Sized>(code: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => bytes_response(code, "application/json", bytes),
        Err(e) => error(&StoreError::internal(format!("encoding the response: {e}"))),
    }
}

/// A response with a body already encoded.
pub fn bytes_response(code: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = code;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// The `Status` response for an error, with its HTTP code (and `Retry-After` for 429).
pub fn error(err: &StoreError) -> Response {
    let status = Status::from_error(err);
    let code = StatusCode::from_u16(status.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = json(code, &status);
    if let StoreError::TooManyRequests { retry_after_seconds: Some(s), .. } = err {
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*s));
    }
    if let StoreError::Unauthorized { .. } = err {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    resp
}

/// A `Status` of success (what `binding` and `eviction` answer).
pub fn success(code: StatusCode) -> Response {
    let status = Status {
        api_version: "v1".into(),
        kind: "Status".into(),
        status: "Success".into(),
        code: code.as_u16(),
        ..Status::default()
    };
    json(code, &status)
}

/// 405 for a verb a path does not support.
pub fn method_not_allowed(what: &str) -> Response {
    let status = Status {
        api_version: "v1".into(),
        kind: "Status".into(),
        status: "Failure".into(),
        message: format!("the server does not allow this method on {what}"),
        reason: "MethodNotAllowed".into(),
        code: 405,
        ..Status::default()
    };
    json(StatusCode::METHOD_NOT_ALLOWED, &status)
}
