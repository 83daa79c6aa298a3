//! The Kubernetes `Status` object: how a `StoreError` travels over HTTP and back.

use serde::{Deserialize, Serialize};

use crate::{FieldError, FieldErrorKind, FieldErrors, StoreError};

/// A Kubernetes `Status` (`kind: Status`), the body of every error response.
///
/// Built from a [`StoreError`] by the server and turned back into the same error by the client.
///
/// ```
/// use orch_core::{StoreError, store::Status};
/// let err = StoreError::NotFound { resource: "pods".into(), name: "default/web".into() };
/// let status = Status::from_error(&err);
/// assert_eq!(status.code, 404);
/// assert_eq!(status.reason, "NotFound");
/// assert_eq!(status.into_error(), err);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// Always `v1`.
    #[serde(default)]
    pub api_version: String,
    /// Always `Status`.
    #[serde(default)]
    pub kind: String,
    /// `Failure` or `Success`.
    #[serde(default)]
    pub status: String,
    /// Human-readable description.
    #[serde(default)]
    pub message: String,
    /// Machine-readable reason (`NotFound`, `Conflict`, `Expired`, ...).
    #[serde(default)]
    pub reason: String,
    /// Details of the failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<StatusDetails>,
    /// The HTTP status code.
    #[serde(default)]
    pub code: u16,
}

/// Details of a failure: the object concerned and the causes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusDetails {
    /// Name of the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Kind or resource of the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Individual causes, e.g. one per invalid field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<StatusCause>,
    /// Seconds after which a retry may succeed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
}

/// One cause of a failure.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusCause {
    /// Machine-readable reason, e.g. `FieldValueInvalid`.
    #[serde(default)]
    pub reason: String,
    /// Human-readable description.
    #[serde(default)]
    pub message: String,
    /// The field concerned.
    #[serde(default)]
    pub field: String,
}

impl Status {
    /// The `Status` describing an error.
    pub fn from_error(err: &StoreError) -> Self {
        let mut details = None;
        let message = match err {
            StoreError::Gone { requested, compacted } => format!("too old resource version: {requested} ({compacted})"),
            _ => err.to_string(),
        };
        match err {
            StoreError::NotFound { resource, name } | StoreError::AlreadyExists { resource, name } => {
                details = Some(StatusDetails {
                    name: Some(name.clone()),
                    kind: Some(resource.clone()),
                    ..Default::default()
                });
            }
            StoreError::Invalid { kind, name, errors } => {
                let causes = errors
                    .iter()
                    .map(|e| StatusCause {
                        reason: serde_json::to_value(e.kind)
                            .ok()
                            .and_then(|v| v.as_str().map(String::from))
                            .unwrap_or_default(),
                        message: e.reason.clone(),
                        field: e.field.clone(),
                    })
                    .collect();
                details = Some(StatusDetails {
                    name: Some(name.clone()),
                    kind: Some(kind.clone()),
                    causes,
                    ..Default::default()
                });
            }
            StoreError::TooManyRequests { retry_after_seconds, .. } => {
                details = Some(StatusDetails { retry_after_seconds: *retry_after_seconds, ..Default::default() });
            }
            _ => {}
        }
        Status {
            api_version: "v1".into(),
            kind: "Status".into(),
            status: "Failure".into(),
            message,
            reason: err.reason().into(),
            details,
            code: err.http_status(),
        }
    }

    /// The error this `Status` describes (the inverse of [`Status::from_error`]).
    pub fn into_error(self) -> StoreError {
        let details = self.details.unwrap_or_default();
        let name = details.name.clone().unwrap_or_default();
        let resource = details.kind.clone().unwrap_or_default();
        let inner = |prefix: &str| self.message.strip_prefix(prefix).unwrap_or(&self.message).to_owned();
        match (self.code, self.reason.as_str()) {
            (404, _) => StoreError::NotFound { resource, name },
            (409, "AlreadyExists") => StoreError::AlreadyExists { resource, name },
            (409, _) => StoreError::Conflict { message: inner("conflict: ") },
            (410, _) => {
                let nums: Vec<i64> = self
                    .message
                    .split(|c: char| !c.is_ascii_digit() && c != '-')
                    .filter_map(|s| s.parse().ok())
                    .collect();
                StoreError::Gone {
                    requested: nums.first().copied().unwrap_or(0),
                    compacted: nums.get(1).copied().unwrap_or(0),
                }
            }
            (422, _) => StoreError::Invalid {
                kind: resource,
                name,
                errors: FieldErrors(
                    details
                        .causes
                        .into_iter()
                        .map(|c| FieldError {
                            kind: serde_json::from_value(serde_json::Value::String(c.reason))
                                .unwrap_or(FieldErrorKind::Invalid),
                            field: c.field,
                            reason: c.message,
                        })
                        .collect(),
                ),
            },
            (400, _) => StoreError::BadRequest { message: inner("bad request: ") },
            (401, _) => StoreError::Unauthorized { message: inner("unauthorized: ") },
            (403, _) => StoreError::Forbidden { message: inner("forbidden: ") },
            (413, _) => {
                let nums: Vec<usize> =
                    self.message.split(|c: char| !c.is_ascii_digit()).filter_map(|s| s.parse().ok()).collect();
                StoreError::TooLarge {
                    size: nums.first().copied().unwrap_or(0),
                    limit: nums.get(1).copied().unwrap_or(0),
                }
            }
            (415, _) => StoreError::UnsupportedMediaType { message: inner("unsupported media type: ") },
            (429, _) => StoreError::TooManyRequests {
                message: inner("too many requests: "),
                retry_after_seconds: details.retry_after_seconds,
            },
            (503, _) => StoreError::Unavailable { message: inner("unavailable: ") },
            (504, _) => StoreError::Timeout { message: inner("timeout: ") },
            _ => StoreError::Internal { message: inner("internal error: ") },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_round_trips_through_status() {
        let errors = vec![
            StoreError::bad_request("bad selector"),
            StoreError::NotFound { resource: "pods".into(), name: "ns/a".into() },
            StoreError::AlreadyExists { resource: "pods".into(), name: "ns/a".into() },
            StoreError::Conflict { message: "stale".into() },
            StoreError::Invalid {
                kind: "Pod".into(),
                name: "a".into(),
                errors: FieldErrors(vec![
                    FieldError::required("spec.containers"),
                    FieldError::invalid("metadata.name", "bad"),
                ]),
            },
            StoreError::Gone { requested: 5, compacted: 10 },
            StoreError::Forbidden { message: "no".into() },
            StoreError::Unauthorized { message: "who".into() },
            StoreError::TooLarge { size: 4_000_000, limit: 3_145_728 },
            StoreError::TooManyRequests { message: "budget".into(), retry_after_seconds: Some(3) },
            StoreError::UnsupportedMediaType { message: "apply".into() },
            StoreError::Timeout { message: "slow".into() },
            StoreError::Unavailable { message: "down".into() },
            StoreError::internal("bug"),
        ];
        for e in errors {
            let status = Status::from_error(&e);
            let json = serde_json::to_string(&status).unwrap();
            let back: Status = serde_json::from_str(&json).unwrap();
            assert_eq!(back.into_error(), e, "{json}");
        }
    }
}
