//! REST paths in Kubernetes' layout, parsed by the server and built by the client from one type.

use std::borrow::Cow;
use std::fmt::Write as _;

use orch_core::{ResourceType, StoreError};
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

/// Characters escaped in a path segment.
const SEGMENT: &AsciiSet = &CONTROLS.add(b' ').add(b'/').add(b'?').add(b'#').add(b'%').add(b'"').add(b'<').add(b'>');

/// Where a resource request points: a collection or one object, in a namespace or cluster-wide,
/// optionally a subresource (`status`, `scale`, `binding`, `eviction`, `log`).
///
/// ```
/// use orch_api::path::ResourcePath;
/// let p = ResourcePath::parse("/apis/apps/v1/namespaces/web/deployments/front/scale").unwrap().unwrap();
/// assert_eq!((p.group.as_str(), p.version.as_str(), p.plural.as_str()), ("apps", "v1", "deployments"));
/// assert_eq!(p.namespace.as_deref(), Some("web"));
/// assert_eq!(p.name.as_deref(), Some("front"));
/// assert_eq!(p.subresource.as_deref(), Some("scale"));
/// assert_eq!(p.to_string(), "/apis/apps/v1/namespaces/web/deployments/front/scale");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourcePath {
    /// API group; empty for the core group (`/api/v1`).
    pub group: String,
    /// API version.
    pub version: String,
    /// Namespace, for namespaced paths.
    pub namespace: Option<String>,
    /// Plural resource name (`pods`).
    pub plural: String,
    /// Object name; `None` for the collection.
    pub name: Option<String>,
    /// Subresource of the object.
    pub subresource: Option<String>,
}

impl ResourcePath {
    /// The path of a collection of `rt` in `namespace` (or all namespaces / cluster scope with `None`).
    pub fn collection(rt: &ResourceType, namespace: Option<&str>) -> Self {
        ResourcePath {
            group: rt.group.to_string(),
            version: rt.version.to_string(),
            namespace: namespace.filter(|ns| rt.namespaced() && !ns.is_empty()).map(str::to_string),
            plural: rt.plural.to_string(),
            name: None,
            subresource: None,
        }
    }

    /// The path of one object.
    pub fn object(rt: &ResourceType, namespace: Option<&str>, name: &str) -> Self {
        ResourcePath { name: Some(name.to_string()), ..Self::collection(rt, namespace) }
    }

    /// The same object's subresource.
    pub fn subresource(mut self, subresource: &str) -> Self {
        self.subresource = Some(subresource.to_string());
        self
    }

    /// Parses a request path. `Ok(None)` when the path is not a resource path at all (discovery,
    /// `/version`, ...); `Err` when it is one but malformed.
    ///
    /// # Errors
    /// `BadRequest` naming the segment that is wrong.
    pub fn parse(path: &str) -> Result<Option<Self>, StoreError> {
        let segs: Vec<Cow<'_, str>> =
            path.trim_matches('/').split('/').map(|s| percent_decode_str(s).decode_utf8_lossy()).collect();
        let (group, version, rest) = match segs.as_slice() {
            [api, version, rest @ ..] if api == "api" && !rest.is_empty() => (String::new(), version.to_string(), rest),
            [apis, group, version, rest @ ..] if apis == "apis" && !rest.is_empty() => {
                (group.to_string(), version.to_string(), rest)
            }
            _ => return Ok(None),
        };
        let (namespace, rest) = match rest {
            // `namespaces/{name}/status` and `/finalize` are the Namespace's own subresources.
            [ns_word, _, sub] if ns_word == "namespaces" && (sub == "status" || sub == "finalize") => (None, rest),
            [ns_word, ns, rest @ ..] if ns_word == "namespaces" && !rest.is_empty() => (Some(ns.to_string()), rest),
            _ => (None, rest),
        };
        let (plural, name, subresource) = match rest {
            [plural] => (plural, None, None),
            [plural, name] => (plural, Some(name.to_string()), None),
            [plural, name, sub] => (plural, Some(name.to_string()), Some(sub.to_string())),
            _ => return Err(StoreError::bad_request(format!("path {path:?} has too many segments"))),
        };
        for (what, value) in
            [("resource", Some(plural.as_ref())), ("name", name.as_deref()), ("namespace", namespace.as_deref())]
        {
            if value.is_some_and(str::is_empty) {
                return Err(StoreError::bad_request(format!("path {path:?} has an empty {what}")));
            }
            if let Some(reason) = value.and_then(invalid_segment) {
                return Err(StoreError::bad_request(format!("path {path:?}: the {what} {reason}")));
            }
        }
        Ok(Some(ResourcePath { group, version, namespace, plural: plural.to_string(), name, subresource }))
    }
}

/// Why a decoded path segment cannot name anything (Kubernetes' `IsValidPathSegmentName`):
/// `.` and `..`, and segments holding `/` or `%` (an encoded separator or a double encoding),
/// or control characters.
fn invalid_segment(segment: &str) -> Option<&'static str> {
    match segment {
        "." | ".." => Some("may not be '.' or '..'"),
        s if s.contains('/') => Some("may not contain '/'"),
        s if s.contains('%') => Some("may not contain '%'"),
        s if s.chars().any(char::is_control) => Some("may not contain control characters"),
        _ => None,
    }
}

impl std::fmt::Display for ResourcePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = String::with_capacity(64);
        if self.group.is_empty() {
            let _ = write!(out, "/api/{}", self.version);
        } else {
            let _ = write!(out, "/apis/{}/{}", self.group, self.version);
        }
        if let Some(ns) = &self.namespace {
            let _ = write!(out, "/namespaces/{}", utf8_percent_encode(ns, SEGMENT));
        }
        let _ = write!(out, "/{}", self.plural);
        if let Some(name) = &self.name {
            let _ = write!(out, "/{}", utf8_percent_encode(name, SEGMENT));
        }
        if let Some(sub) = &self.subresource {
            let _ = write!(out, "/{sub}");
        }
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_and_group_paths_parse() {
        let cases = [
            ("/api/v1/pods", "", None, "pods", None, None),
            (
                "/api/v1/namespaces/default/pods/web-1/status",
                "",
                Some("default"),
                "pods",
                Some("web-1"),
                Some("status"),
            ),
            ("/api/v1/namespaces/default", "", None, "namespaces", Some("default"), None),
            ("/api/v1/namespaces/kube-system/finalize", "", None, "namespaces", Some("kube-system"), Some("finalize")),
            ("/api/v1/nodes/n1", "", None, "nodes", Some("n1"), None),
            ("/apis/apps/v1/deployments", "apps", None, "deployments", None, None),
            ("/apis/apps/v1/namespaces/a/replicasets", "apps", Some("a"), "replicasets", None, None),
        ];
        for (path, group, ns, plural, name, sub) in cases {
            let p = ResourcePath::parse(path).unwrap().unwrap_or_else(|| panic!("{path} is a resource path"));
            assert_eq!(p.group, group, "{path}");
            assert_eq!(p.namespace.as_deref(), ns, "{path}");
            assert_eq!(p.plural, plural, "{path}");
            assert_eq!(p.name.as_deref(), name, "{path}");
            assert_eq!(p.subresource.as_deref(), sub, "{path}");
        }
    }

    #[test]
    fn non_resource_paths_are_none_and_bad_ones_are_errors() {
        for path in ["/version", "/api", "/apis", "/api/v1", "/apis/apps/v1", "/healthz"] {
            assert_eq!(ResourcePath::parse(path).unwrap(), None, "{path}");
        }
        for path in ["/api/v1/namespaces/a/pods/b/status/x", "/api/v1/namespaces/a/pods//status"] {
            assert!(ResourcePath::parse(path).is_err(), "{path}");
        }
    }

    #[test]
    fn traversal_and_encoded_separators_in_names_are_refused_naming_the_segment() {
        let cases = [
            ("/api/v1/namespaces/default/pods/..", "name"),
            ("/api/v1/namespaces/../pods", "namespace"),
            ("/api/v1/namespaces/%2E%2E/pods/p", "namespace"),
            ("/api/v1/namespaces/default/pods/..%2Fkube-system%2Fp", "name"),
            ("/api/v1/namespaces/kube-system%2Fpods/pods/p", "namespace"),
            ("/api/v1/nodes/n1%252Fx", "name"),
            ("/api/v1/namespaces/default/pods/p%00", "name"),
        ];
        for (path, what) in cases {
            let err = ResourcePath::parse(path).expect_err(path);
            assert_eq!(err.http_status(), 400, "{path}");
            assert!(err.to_string().contains(&format!("the {what} may not")), "{path}: {err}");
        }
    }

    #[test]
    fn names_are_escaped_and_round_trip() {
        let p = ResourcePath {
            group: String::new(),
            version: "v1".into(),
            namespace: Some("a b".into()),
            plural: "configs".into(),
            name: Some("x?y#z".into()),
            subresource: None,
        };
        let s = p.to_string();
        assert_eq!(s, "/api/v1/namespaces/a%20b/configs/x%3Fy%23z");
        assert_eq!(ResourcePath::parse(&s).unwrap().unwrap(), p);
        let slash = ResourcePath { name: Some("x/y".into()), ..p };
        assert!(ResourcePath::parse(&slash.to_string()).is_err(), "a name holding '/' names nothing");
    }
}
