//! Errors raised while decoding and applying patches.

use thiserror::Error;

/// Why a patch could not be decoded or applied.
///
/// Every variant names where the problem is: `at` is a position in the patch
/// document (`patch[2].path` for a JSON Patch op, a dotted field path with list
/// indices such as `spec.containers[1]` for a strategic merge patch), so the
/// message can be returned to an API client as is.
///
/// ```
/// use orch_core::patch::{Patch, PatchError};
///
/// let err = Patch::from_content_type("text/plain", serde_json::json!({})).unwrap_err();
/// assert!(matches!(err, PatchError::UnsupportedPatchType { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PatchError {
    /// The content type names no supported patch format (HTTP 415).
    #[error(
        "unsupported patch content type {content_type:?}: expected one of \
         application/merge-patch+json, application/json-patch+json, \
         application/strategic-merge-patch+json"
    )]
    UnsupportedPatchType {
        /// The content type as received.
        content_type: String,
    },

    /// A required member of the patch document is absent.
    #[error("{at}: required member is missing")]
    MissingMember {
        /// Position of the missing member, e.g. `patch[0].value`.
        at: String,
    },

    /// A part of the patch document has the wrong JSON type.
    #[error("{at}: expected {expected}")]
    WrongType {
        /// Position of the offending value.
        at: String,
        /// What was expected there, e.g. `a string`.
        expected: &'static str,
    },

    /// A JSON Patch operation names an op other than the six of RFC 6902.
    #[error("{at}: unknown op {op:?}")]
    UnknownOp {
        /// Position of the operation, e.g. `patch[0]`.
        at: String,
        /// The op as written.
        op: String,
    },

    /// A JSON Pointer does not follow RFC 6901.
    #[error("{at}: invalid JSON pointer {pointer:?}: {source}")]
    InvalidPointer {
        /// Position of the pointer, e.g. `patch[1].from`.
        at: String,
        /// The pointer as written.
        pointer: String,
        /// What is wrong with it.
        source: PointerError,
    },

    /// The location a pointer names (or its parent, for `add`) does not exist.
    #[error("{at}: path {pointer:?} does not exist")]
    PathNotFound {
        /// Position of the pointer in the patch, e.g. `patch[0].path`.
        at: String,
        /// The pointer.
        pointer: String,
    },

    /// An array index is past the end of the array.
    #[error("{at}: index {index} in {pointer:?} is out of range for an array of length {len}")]
    IndexOutOfRange {
        /// Position of the pointer in the patch.
        at: String,
        /// The pointer.
        pointer: String,
        /// The index asked for.
        index: usize,
        /// The array's length.
        len: usize,
    },

    /// A pointer token addressing an array element is not an array index.
    #[error("{at}: {token:?} in {pointer:?} is not an array index")]
    InvalidIndex {
        /// Position of the pointer in the patch.
        at: String,
        /// The pointer.
        pointer: String,
        /// The offending token.
        token: String,
    },

    /// A `remove` op names the whole document.
    #[error("{at}: cannot remove the whole document")]
    RemoveRoot {
        /// Position of the pointer in the patch.
        at: String,
    },

    /// A `move` op would move a value into one of its own children.
    #[error("{at}: cannot move {from:?} into its own child {path:?}")]
    MoveIntoChild {
        /// Position of the operation, e.g. `patch[3]`.
        at: String,
        /// The `from` pointer.
        from: String,
        /// The `path` pointer.
        path: String,
    },

    /// A `test` op found a value different from the expected one.
    #[error("{at}: test failed: value at {pointer:?} differs from the expected value")]
    TestFailed {
        /// Position of the operation.
        at: String,
        /// The tested pointer.
        pointer: String,
    },

    /// Strategic merge patch was asked for a kind without built-in list
    /// strategies (custom resources), as Kubernetes also refuses.
    #[error(
        "strategic merge patch is not supported for kind {kind:?}; \
         use a JSON merge patch or a JSON patch"
    )]
    StrategicUnsupported {
        /// The kind asked for.
        kind: String,
    },

    /// A `$`-prefixed key or `$patch` value is not a known directive.
    #[error("{at}: unknown directive {directive:?}")]
    UnknownDirective {
        /// Position of the map holding the directive.
        at: String,
        /// The directive as written (`$foo`, or `$patch: foo`).
        directive: String,
    },

    /// A known directive is used where it has no meaning.
    #[error("{at}: directive {directive:?} {reason}")]
    InvalidDirective {
        /// Position of the map holding the directive.
        at: String,
        /// The directive key.
        directive: String,
        /// Why it cannot be applied.
        reason: &'static str,
    },

    /// An element of a list merged by key lacks the merge key.
    #[error("{at}: list element lacks the merge key {key:?}")]
    MissingMergeKey {
        /// Position of the element, e.g. `spec.containers[1]`.
        at: String,
        /// The merge key, e.g. `name`.
        key: &'static str,
    },
}

/// Why a string is not an RFC 6901 JSON Pointer.
///
/// ```
/// use orch_core::patch::{JsonPointer, PointerError};
///
/// assert_eq!("a/b".parse::<JsonPointer>(), Err(PointerError::MissingLeadingSlash));
/// assert_eq!("/a~2".parse::<JsonPointer>(), Err(PointerError::InvalidEscape));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PointerError {
    /// A non-empty pointer must start with `/`.
    #[error("a non-empty pointer must start with '/'")]
    MissingLeadingSlash,
    /// `~` must be followed by `0` or `1`.
    #[error("'~' must be followed by '0' or '1'")]
    InvalidEscape,
}

impl From<PatchError> for crate::StoreError {
    /// An unsupported patch format is 415 (`UnsupportedMediaType`); every other patch error is
    /// the client's (400, `BadRequest`) and names the position.
    fn from(e: PatchError) -> Self {
        match e {
            PatchError::UnsupportedPatchType { .. } | PatchError::StrategicUnsupported { .. } => {
                crate::StoreError::UnsupportedMediaType { message: e.to_string() }
            }
            other => crate::StoreError::bad_request(other.to_string()),
        }
    }
}
