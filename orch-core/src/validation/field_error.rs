//! `FieldError` and `FieldErrors`: validation problems, each naming the field path it concerns.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What kind of problem a [`FieldError`] reports (Kubernetes' `field.ErrorType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FieldErrorKind {
    /// A required field is missing or empty.
    #[serde(rename = "FieldValueRequired")]
    Required,
    /// The value is malformed or out of range.
    #[serde(rename = "FieldValueInvalid")]
    Invalid,
    /// The value is not one of the supported values.
    #[serde(rename = "FieldValueNotSupported")]
    NotSupported,
    /// The value duplicates another one that must be unique.
    #[serde(rename = "FieldValueDuplicate")]
    Duplicate,
    /// The value is longer than allowed.
    #[serde(rename = "FieldValueTooLong")]
    TooLong,
    /// The field may not be set or changed.
    #[serde(rename = "FieldValueForbidden")]
    Forbidden,
}

/// One validation problem at one field path, e.g. `spec.containers[0].ports[1].containerPort: must be 1..65535`.
///
/// ```
/// use orch_core::FieldError;
/// let e = FieldError::invalid("spec.replicas", "must be non-negative");
/// assert_eq!(e.to_string(), "spec.replicas: must be non-negative");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FieldError {
    /// Dotted path with list indices, e.g. `spec.containers[0].image`.
    pub field: String,
    /// What kind of problem it is.
    pub kind: FieldErrorKind,
    /// A human-readable explanation.
    pub reason: String,
}

impl FieldError {
    /// A problem of the given kind.
    pub fn new(kind: FieldErrorKind, field: impl Into<String>, reason: impl Into<String>) -> Self {
        FieldError { field: field.into(), kind, reason: reason.into() }
    }
    /// A malformed or out-of-range value.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(FieldErrorKind::Invalid, field, reason)
    }
    /// A missing required field.
    pub fn required(field: impl Into<String>) -> Self {
        Self::new(FieldErrorKind::Required, field, "required value")
    }
    /// A value outside the supported set.
    pub fn not_supported(field: impl Into<String>, value: &str, supported: &[&str]) -> Self {
        Self::new(
            FieldErrorKind::NotSupported,
            field,
            format!("unsupported value {value:?}: supported values: {}", supported.join(", ")),
        )
    }
    /// A duplicated value.
    pub fn duplicate(field: impl Into<String>, value: &str) -> Self {
        Self::new(FieldErrorKind::Duplicate, field, format!("duplicate value {value:?}"))
    }
    /// A value that may not be set or changed.
    pub fn forbidden(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(FieldErrorKind::Forbidden, field, reason)
    }
    /// A value that is too long.
    pub fn too_long(field: impl Into<String>, max: usize) -> Self {
        Self::new(FieldErrorKind::TooLong, field, format!("must have at most {max} characters"))
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() { f.write_str(&self.reason) } else { write!(f, "{}: {}", self.field, self.reason) }
    }
}

impl std::error::Error for FieldError {}

/// Every validation problem found in one object; validators collect them all rather than stop at the first.
///
/// ```
/// use orch_core::{FieldError, FieldErrors};
/// let mut errs = FieldErrors::default();
/// errs.push(FieldError::required("metadata.name"));
/// errs.push(FieldError::invalid("spec.replicas", "must be non-negative"));
/// assert_eq!(errs.to_string(), "metadata.name: required value; spec.replicas: must be non-negative");
/// assert!(errs.into_result().is_err());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    /// Adds one problem.
    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }
    /// Adds every problem of another set.
    pub fn extend(&mut self, other: FieldErrors) {
        self.0.extend(other.0);
    }
    /// Whether no problem was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The number of problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// The problems.
    pub fn iter(&self) -> std::slice::Iter<'_, FieldError> {
        self.0.iter()
    }
    /// `Ok(())` when empty, otherwise `Err(self)`.
    ///
    /// # Errors
    /// When at least one problem was collected.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl From<FieldError> for FieldErrors {
    fn from(e: FieldError) -> Self {
        FieldErrors(vec![e])
    }
}

impl IntoIterator for FieldErrors {
    type Item = FieldError;
    type IntoIter = std::vec::IntoIter<FieldError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for FieldErrors {}

/// A field path under construction: `FieldPath::root("spec").child("containers").index(0)`.
///
/// ```
/// use orch_core::FieldPath;
/// let p = FieldPath::root("spec").child("containers").index(0).child("ports").index(1);
/// assert_eq!(p.to_string(), "spec.containers[0].ports[1]");
/// assert_eq!(FieldPath::root("metadata").child("labels").key("app").to_string(), "metadata.labels[app]");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FieldPath(String);

impl FieldPath {
    /// A path of one segment.
    pub fn root(name: &str) -> Self {
        FieldPath(name.to_owned())
    }
    /// The path of a named child field.
    pub fn child(&self, name: &str) -> Self {
        if self.0.is_empty() {
            return FieldPath(name.to_owned());
        }
        // Built by hand rather than with `format!`: validators make many paths and most are never shown.
        let mut s = String::with_capacity(self.0.len() + 1 + name.len());
        s.push_str(&self.0);
        s.push('.');
        s.push_str(name);
        FieldPath(s)
    }
    /// The path of a list element.
    pub fn index(&self, i: usize) -> Self {
        let mut digits = [0u8; 20];
        let mut n = i;
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let mut s = String::with_capacity(self.0.len() + 2 + digits.len() - at);
        s.push_str(&self.0);
        s.push('[');
        s.extend(digits[at..].iter().map(|d| *d as char));
        s.push(']');
        FieldPath(s)
    }
    /// The path of a map entry.
    pub fn key(&self, k: &str) -> Self {
        let mut s = String::with_capacity(self.0.len() + 2 + k.len());
        s.push_str(&self.0);
        s.push('[');
        s.push_str(k);
        s.push(']');
        FieldPath(s)
    }
    /// The path as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<FieldPath> for String {
    fn from(p: FieldPath) -> String {
        p.0
    }
}

impl From<&FieldPath> for String {
    fn from(p: &FieldPath) -> String {
        p.0.clone()
    }
}
