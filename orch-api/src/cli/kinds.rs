//! Resolving what a user types for a kind (`pods`, `pod`, `po`, `Deployment`, `deployments.apps`, `deploy/web`) to a registered kind.

use std::sync::Arc;

use orch_core::{DynamicObject, KindInfo, KindRegistry};

use super::errors::CliError;

/// kubectl's short names of the built-in kinds.
const SHORT_NAMES: &[(&str, &str)] = &[
    ("po", "pods"),
    ("deploy", "deployments"),
    ("rs", "replicasets"),
    ("svc", "services"),
    ("no", "nodes"),
    ("ns", "namespaces"),
    ("ep", "endpoints"),
    ("ev", "events"),
];

/// Finds the kind `name` refers to: a plural, a singular (the kind in lower case), the kind
/// itself, a short name, or any of these followed by `.group`. Case does not matter.
///
/// # Errors
/// [`CliError::UnknownKind`] when no registered kind answers to the name.
pub fn resolve_kind(kinds: &KindRegistry, name: &str) -> Result<Arc<KindInfo>, CliError> {
    let lower = name.to_ascii_lowercase();
    let (resource, group) = match lower.split_once('.') {
        Some((r, g)) => (r.to_owned(), Some(g.to_owned())),
        None => (lower.clone(), None),
    };
    let resource = SHORT_NAMES.iter().find(|(s, _)| *s == resource).map_or(resource, |(_, p)| (*p).to_owned());
    let mut found: Vec<Arc<KindInfo>> = kinds
        .kinds()
        .into_iter()
        .filter(|k| {
            let rt = &k.resource_type;
            let names_match = rt.plural == resource.as_str() || rt.kind.to_ascii_lowercase() == resource;
            names_match && group.as_deref().is_none_or(|g| rt.group == g)
        })
        .collect();
    // Prefer the core group, then the alphabetically first, so `events` is deterministic.
    found.sort_by_key(|k| (!k.resource_type.group.is_empty(), k.resource_type.clone()));
    found.into_iter().next().ok_or_else(|| CliError::UnknownKind(name.to_owned()))
}

/// The short names of the kind with this plural (`po` for `pods`), for `api-resources`.
pub fn short_names(plural: &str) -> Vec<&'static str> {
    SHORT_NAMES.iter().filter(|(_, p)| *p == plural).map(|(s, _)| *s).collect()
}

/// The kinds `orchctl get all` shows, where the server has them.
const ALL: &[&str] = &["pods", "services", "deployments", "replicasets"];

/// Resolves a comma-separated list of kinds (`po,svc`); `all` stands for pods, services,
/// deployments and replica sets.
///
/// # Errors
/// [`CliError::UnknownKind`] for the first name no kind answers to.
pub fn resolve_kinds(kinds: &KindRegistry, text: &str) -> Result<Vec<Arc<KindInfo>>, CliError> {
    let mut out: Vec<Arc<KindInfo>> = Vec::new();
    for part in text.split(',') {
        if part == "all" {
            out.extend(ALL.iter().filter_map(|n| resolve_kind(kinds, n).ok()));
        } else {
            out.push(resolve_kind(kinds, part)?);
        }
    }
    out.dedup_by(|a, b| a.resource_type == b.resource_type);
    Ok(out)
}

/// Splits `KIND/NAME` into its parts; a plain `KIND` has no name.
pub fn split_kind_name(text: &str) -> (&str, Option<&str>) {
    match text.split_once('/') {
        Some((k, n)) => (k, Some(n)),
        None => (text, None),
    }
}

/// The singular lower-case kind, with the group: `pod`, `deployment.apps` (as `-o name` and messages print it).
pub fn kind_label(info: &KindInfo) -> String {
    let rt = &info.resource_type;
    let kind = rt.kind.to_ascii_lowercase();
    if rt.group.is_empty() { kind } else { format!("{kind}.{}", rt.group) }
}

/// `kind.group/name` of an object, as `-o name`, `apply` and `scale` print it.
pub fn object_label(info: &KindInfo, obj: &DynamicObject) -> String {
    format!("{}/{}", kind_label(info), obj.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plural_singular_kind_and_short_names_all_resolve() {
        let kinds = KindRegistry::with_builtins();
        for (typed, plural) in [
            ("pods", "pods"),
            ("pod", "pods"),
            ("po", "pods"),
            ("Pod", "pods"),
            ("deploy", "deployments"),
            ("Deployment", "deployments"),
            ("deployments.apps", "deployments"),
            ("rs", "replicasets"),
            ("svc", "services"),
            ("no", "nodes"),
            ("ns", "namespaces"),
            ("ep", "endpoints"),
            ("lease", "leases"),
        ] {
            assert_eq!(resolve_kind(&kinds, typed).unwrap().resource_type.plural, plural, "{typed}");
        }
    }

    #[test]
    fn unknown_names_and_wrong_groups_are_errors() {
        let kinds = KindRegistry::with_builtins();
        for bad in ["widgets", "deployments.batch", ""] {
            assert!(matches!(resolve_kind(&kinds, bad), Err(CliError::UnknownKind(_))), "{bad}");
        }
    }

    #[test]
    fn comma_lists_and_all_expand_in_order() {
        let kinds = KindRegistry::with_builtins();
        let plurals = |text: &str| {
            resolve_kinds(&kinds, text).unwrap().iter().map(|k| k.resource_type.plural.to_string()).collect::<Vec<_>>()
        };
        assert_eq!(plurals("po,svc"), ["pods", "services"]);
        assert_eq!(plurals("all"), ["pods", "services", "deployments", "replicasets"]);
        assert!(resolve_kinds(&kinds, "po,widgets").is_err());
    }

    #[test]
    fn labels_carry_the_group() {
        let kinds = KindRegistry::with_builtins();
        assert_eq!(kind_label(&resolve_kind(&kinds, "deploy").unwrap()), "deployment.apps");
        assert_eq!(kind_label(&resolve_kind(&kinds, "po").unwrap()), "pod");
        assert_eq!(split_kind_name("deploy/web"), ("deploy", Some("web")));
    }
}
