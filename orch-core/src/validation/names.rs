//! Rules for names, ports, addresses and object metadata, each returning the reason a value breaks it.
//!
//! The rule functions are pure: they take the value and return `Err(reason)` when it is
//! malformed. [`validate_object_meta`] applies them to an object's metadata and collects
//! every problem with its field path.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use crate::selector::label::{validate_label_key, validate_label_value};
use crate::{FieldError, FieldErrorKind, FieldErrors, FieldPath, ObjectMeta, Scope};

/// A rule a name must follow, such as [`dns1123_label`] or [`dns1123_subdomain`].
pub type NameRule = fn(&str) -> Result<(), String>;

/// The longest DNS-1123 label.
pub const DNS1123_LABEL_MAX_LEN: usize = 63;
/// The longest DNS-1123 subdomain.
pub const DNS1123_SUBDOMAIN_MAX_LEN: usize = 253;
/// The longest IANA service name (a named port).
pub const PORT_NAME_MAX_LEN: usize = 15;
/// The largest total size, in bytes, of an object's annotations (keys plus values).
pub const ANNOTATIONS_MAX_BYTES: usize = 256 * 1024;

fn is_lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// Checks the shape `[a-z0-9]([-a-z0-9]*[a-z0-9])?` without any length limit.
fn label_shape(s: &str) -> bool {
    let starts_ok = s.chars().next().is_some_and(is_lower_alnum);
    let ends_ok = s.chars().last().is_some_and(is_lower_alnum);
    starts_ok && ends_ok && s.chars().all(|c| is_lower_alnum(c) || c == '-')
}

/// A DNS-1123 label: at most 63 characters of lowercase letters, digits and `-`,
/// starting and ending with a letter or digit.
///
/// ```
/// use orch_core::validation::names::dns1123_label;
/// assert!(dns1123_label("web-0").is_ok());
/// assert!(dns1123_label("Web").is_err());
/// assert!(dns1123_label("-web").is_err());
/// assert!(dns1123_label("a.b").is_err());
/// ```
///
/// # Errors
/// The reason, when the value is empty, too long or malformed.
pub fn dns1123_label(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if s.len() > DNS1123_LABEL_MAX_LEN {
        return Err(format!("must be no more than {DNS1123_LABEL_MAX_LEN} characters"));
    }
    if !label_shape(s) {
        return Err(format!(
            "{s:?} is not a DNS-1123 label: use lowercase letters, digits and '-', \
             starting and ending with a letter or digit (e.g. 'my-name' or '123-abc')"
        ));
    }
    Ok(())
}

/// A DNS-1123 subdomain: at most 253 characters, one or more dot-separated labels of
/// lowercase letters, digits and `-`, each starting and ending with a letter or digit.
///
/// ```
/// use orch_core::validation::names::dns1123_subdomain;
/// assert!(dns1123_subdomain("example.com").is_ok());
/// assert!(dns1123_subdomain("web-7f9c").is_ok());
/// assert!(dns1123_subdomain("a..b").is_err());
/// assert!(dns1123_subdomain("under_score").is_err());
/// ```
///
/// # Errors
/// The reason, when the value is empty, too long or malformed.
pub fn dns1123_subdomain(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if s.len() > DNS1123_SUBDOMAIN_MAX_LEN {
        return Err(format!("must be no more than {DNS1123_SUBDOMAIN_MAX_LEN} characters"));
    }
    if !s.split('.').all(label_shape) {
        return Err(format!(
            "{s:?} is not a DNS-1123 subdomain: use lowercase letters, digits, '-' and '.', \
             with every dot-separated part starting and ending with a letter or digit (e.g. 'example.com')"
        ));
    }
    Ok(())
}

/// The name rule of a kind: `Service` and `Namespace` names must be DNS-1123 labels (they
/// become DNS names themselves); every other kind uses DNS-1123 subdomains.
///
/// ```
/// use orch_core::validation::names::name_rule_for;
/// assert!(name_rule_for("Pod")("web.v1").is_ok());
/// assert!(name_rule_for("Service")("web.v1").is_err());
/// ```
pub fn name_rule_for(kind: &str) -> NameRule {
    match kind {
        "Service" | "Namespace" => dns1123_label,
        _ => dns1123_subdomain,
    }
}

/// Checks an object name by the rule of its kind (see [`name_rule_for`]).
///
/// ```
/// use orch_core::validation::names::object_name;
/// assert!(object_name("Deployment", "api.v2").is_ok());
/// assert!(object_name("Namespace", "team-a").is_ok());
/// assert!(object_name("Namespace", "team.a").is_err());
/// ```
///
/// # Errors
/// The reason, when the name breaks the kind's rule.
pub fn object_name(kind: &str, name: &str) -> Result<(), String> {
    name_rule_for(kind)(name)
}

/// A TCP/UDP/SCTP port number: 1 to 65535.
///
/// ```
/// use orch_core::validation::names::port_number;
/// assert!(port_number(8080).is_ok());
/// assert_eq!(port_number(0).unwrap_err(), "must be 1..65535");
/// assert!(port_number(65536).is_err());
/// ```
///
/// # Errors
/// `"must be 1..65535"` when out of range.
pub fn port_number(port: i32) -> Result<(), String> {
    if (1..=65535).contains(&port) { Ok(()) } else { Err("must be 1..65535".to_owned()) }
}

/// A port name (an IANA service name): at most 15 lowercase letters, digits and `-`, with at
/// least one letter, and no `-` at either end or twice in a row.
///
/// ```
/// use orch_core::validation::names::port_name;
/// assert!(port_name("http").is_ok());
/// assert!(port_name("grpc-web").is_ok());
/// assert!(port_name("8080").is_err());
/// assert!(port_name("a--b").is_err());
/// assert!(port_name("metrics-endpoint").is_err()); // 16 characters
/// ```
///
/// # Errors
/// The reason, when the name is empty, too long or malformed.
pub fn port_name(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if s.len() > PORT_NAME_MAX_LEN {
        return Err(format!("must be no more than {PORT_NAME_MAX_LEN} characters"));
    }
    if !s.chars().all(|c| is_lower_alnum(c) || c == '-') {
        return Err("must contain only lowercase letters, digits and '-'".to_owned());
    }
    if !s.chars().any(|c| c.is_ascii_lowercase()) {
        return Err("must contain at least one letter".to_owned());
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err("must not begin or end with '-'".to_owned());
    }
    if s.contains("--") {
        return Err("must not contain '--'".to_owned());
    }
    Ok(())
}

/// An environment variable name: `[-._a-zA-Z][-._a-zA-Z0-9]*`.
///
/// ```
/// use orch_core::validation::names::env_var_name;
/// assert!(env_var_name("JAVA_OPTS").is_ok());
/// assert!(env_var_name("my.var-1").is_ok());
/// assert!(env_var_name("1ST").is_err());
/// assert!(env_var_name("A=B").is_err());
/// ```
///
/// # Errors
/// The reason, when the name is empty or malformed.
pub fn env_var_name(s: &str) -> Result<(), String> {
    let first_ok = |c: char| c.is_ascii_alphabetic() || matches!(c, '-' | '.' | '_');
    let rest_ok = |c: char| first_ok(c) || c.is_ascii_digit();
    let mut chars = s.chars();
    match chars.next() {
        None => Err("must not be empty".to_owned()),
        Some(c) if first_ok(c) && chars.all(rest_ok) => Ok(()),
        Some(_) => Err(format!(
            "{s:?} is not a valid environment variable name: use letters, digits, '_', '-' and '.', \
             not starting with a digit"
        )),
    }
}

/// An IPv4 or IPv6 address in its usual text form (`10.0.0.1`, `fd00::1`).
///
/// ```
/// use orch_core::validation::names::ip_address;
/// assert!(ip_address("10.96.0.1").is_ok());
/// assert!(ip_address("fd00::1").is_ok());
/// assert!(ip_address("10.96.0").is_err());
/// assert!(ip_address("010.0.0.1").is_err());
/// ```
///
/// # Errors
/// The reason, when the value is not an IP address.
pub fn ip_address(s: &str) -> Result<(), String> {
    s.parse::<IpAddr>().map(|_| ()).map_err(|_| format!("{s:?} is not a valid IP address"))
}

/// A CIDR block: an IP address, `/`, and a prefix length that fits the address family.
///
/// ```
/// use orch_core::validation::names::cidr;
/// assert!(cidr("10.244.1.0/24").is_ok());
/// assert!(cidr("fd00:10:244::/64").is_ok());
/// assert!(cidr("10.244.1.0/33").is_err());
/// assert!(cidr("10.244.1.0").is_err());
/// ```
///
/// # Errors
/// The reason, when the value is not a CIDR block.
pub fn cidr(s: &str) -> Result<(), String> {
    let bad = || format!("{s:?} is not a valid CIDR (e.g. 10.244.0.0/24 or fd00::/64)");
    let (ip, prefix) = s.split_once('/').ok_or_else(bad)?;
    let ip: IpAddr = ip.parse().map_err(|_| bad())?;
    // Only plain decimal digits: `u8::from_str` would also accept a leading '+'.
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let prefix: u8 = prefix.parse().map_err(|_| bad())?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    if prefix > max {
        return Err(bad());
    }
    Ok(())
}

/// Checks a map of labels: every key a valid label key, every value a valid label value.
/// Errors name the entry, e.g. `metadata.labels[app]`.
///
/// ```
/// use std::collections::BTreeMap;
/// use orch_core::FieldPath;
/// use orch_core::validation::names::validate_labels;
/// let labels = BTreeMap::from([("app".to_owned(), "web".to_owned()), ("tier".to_owned(), "front end".to_owned())]);
/// let errs = validate_labels(&labels, &FieldPath::root("metadata").child("labels"));
/// assert_eq!(errs.len(), 1);
/// assert_eq!(errs.iter().next().unwrap().field, "metadata.labels[tier]");
/// ```
pub fn validate_labels(labels: &BTreeMap<String, String>, path: &FieldPath) -> FieldErrors {
    let mut errs = FieldErrors::default();
    for (k, v) in labels {
        let p = path.key(k);
        if let Err(reason) = validate_label_key(k) {
            errs.push(FieldError::invalid(&p, format!("invalid label key: {reason}")));
        }
        if let Err(reason) = validate_label_value(v) {
            errs.push(FieldError::invalid(&p, format!("invalid label value: {reason}")));
        }
    }
    errs
}

/// Checks a map of annotations: keys are qualified names (compared in lowercase) and the
/// keys and values together fit in [`ANNOTATIONS_MAX_BYTES`].
///
/// ```
/// use std::collections::BTreeMap;
/// use orch_core::FieldPath;
/// use orch_core::validation::names::validate_annotations;
/// let path = FieldPath::root("metadata").child("annotations");
/// let ok = BTreeMap::from([("example.com/owner".to_owned(), "team a".to_owned())]);
/// assert!(validate_annotations(&ok, &path).is_empty());
/// let huge = BTreeMap::from([("note".to_owned(), "x".repeat(300 * 1024))]);
/// assert_eq!(validate_annotations(&huge, &path).iter().next().unwrap().field, "metadata.annotations");
/// ```
pub fn validate_annotations(annotations: &BTreeMap<String, String>, path: &FieldPath) -> FieldErrors {
    let mut errs = FieldErrors::default();
    let mut total = 0usize;
    for (k, v) in annotations {
        total = total.saturating_add(k.len()).saturating_add(v.len());
        if let Err(reason) = validate_label_key(&k.to_ascii_lowercase()) {
            errs.push(FieldError::invalid(path.key(k), format!("invalid annotation key: {reason}")));
        }
    }
    if total > ANNOTATIONS_MAX_BYTES {
        errs.push(FieldError::too_long(path, ANNOTATIONS_MAX_BYTES));
    }
    errs
}

/// Checks an object's metadata, collecting every problem under `path` (usually `metadata`):
///
/// - `name` or `generateName` is set, and follows `name_rule` (for `generateName`, the prefix
///   without its trailing `-`);
/// - `namespace`, when set, is a DNS-1123 label for [`Scope::Namespaced`] kinds, and is absent
///   for [`Scope::Cluster`] ones (a namespaced object without one is fine here: manifests usually
///   leave it out, and the store fills it from the request before it validates);
/// - label keys and values, annotation keys and total size;
/// - finalizers are qualified names (like label keys), without duplicates;
/// - owner references have `apiVersion`, `kind`, `name` and `uid`, and at most one is the controller.
///
/// ```
/// use orch_core::{FieldPath, ObjectMeta, Scope};
/// use orch_core::validation::names::{dns1123_subdomain, validate_object_meta};
/// let path = FieldPath::root("metadata");
/// let ok = ObjectMeta::named("web-0").in_namespace("default").with_label("app", "web");
/// assert!(validate_object_meta(&ok, &path, Scope::Namespaced, dns1123_subdomain).is_empty());
///
/// let errs = validate_object_meta(&ObjectMeta::named("Web_0"), &path, Scope::Namespaced, dns1123_subdomain);
/// let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
/// assert_eq!(fields, ["metadata.name"]);
/// ```
pub fn validate_object_meta(meta: &ObjectMeta, path: &FieldPath, scope: Scope, name_rule: NameRule) -> FieldErrors {
    let mut errs = FieldErrors::default();

    let name = meta.name.as_deref().unwrap_or("");
    let generate_name = meta.generate_name.as_deref().unwrap_or("");
    if !name.is_empty() {
        if let Err(reason) = name_rule(name) {
            errs.push(FieldError::invalid(path.child("name"), reason));
        }
    } else if !generate_name.is_empty() {
        let prefix = generate_name.trim_end_matches('-');
        if let Err(reason) = name_rule(prefix) {
            errs.push(FieldError::invalid(path.child("generateName"), format!("invalid prefix: {reason}")));
        }
    } else {
        errs.push(FieldError::new(FieldErrorKind::Required, path.child("name"), "name or generateName is required"));
    }

    let namespace = meta.namespace.as_deref().unwrap_or("");
    match scope {
        Scope::Namespaced if namespace.is_empty() => {}
        Scope::Namespaced => {
            if let Err(reason) = dns1123_label(namespace) {
                errs.push(FieldError::invalid(path.child("namespace"), reason));
            }
        }
        Scope::Cluster if !namespace.is_empty() => {
            errs.push(FieldError::forbidden(path.child("namespace"), "not allowed on cluster-scoped objects"));
        }
        Scope::Cluster => {}
    }

    errs.extend(validate_labels(&meta.labels, &path.child("labels")));
    errs.extend(validate_annotations(&meta.annotations, &path.child("annotations")));

    let mut seen = BTreeSet::new();
    for (i, f) in meta.finalizers.iter().enumerate() {
        let p = path.child("finalizers").index(i);
        if let Err(reason) = validate_label_key(f) {
            errs.push(FieldError::invalid(&p, format!("must be a qualified name: {reason}")));
        }
        if !seen.insert(f.as_str()) {
            errs.push(FieldError::duplicate(&p, f));
        }
    }

    let mut controllers = 0;
    for (i, o) in meta.owner_references.iter().enumerate() {
        let p = path.child("ownerReferences").index(i);
        for (field, value) in [("apiVersion", &o.api_version), ("kind", &o.kind), ("name", &o.name), ("uid", &o.uid)] {
            if value.is_empty() {
                errs.push(FieldError::required(p.child(field)));
            }
        }
        if o.controller == Some(true) {
            controllers += 1;
            if controllers > 1 {
                errs.push(FieldError::invalid(p.child("controller"), "only one owner reference may be the controller"));
            }
        }
    }

    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OwnerReference;

    fn check(rule: NameRule, cases: &[(&str, bool)]) {
        for (input, ok) in cases {
            assert_eq!(rule(input).is_ok(), *ok, "{input:?}: {:?}", rule(input));
        }
    }

    #[test]
    fn dns1123_label_accepts_lowercase_alnum_and_inner_dashes_only() {
        let long = "a".repeat(63);
        let too_long = "a".repeat(64);
        check(
            dns1123_label,
            &[
                ("a", true),
                ("0", true),
                ("web-0", true),
                ("a-b-c", true),
                (&long, true),
                (&too_long, false),
                ("", false),
                ("-a", false),
                ("a-", false),
                ("A", false),
                ("a.b", false),
                ("a_b", false),
                ("a b", false),
                ("é", false),
            ],
        );
    }

    #[test]
    fn dns1123_subdomain_accepts_dotted_labels_up_to_253() {
        let long = format!("{}.{}.{}.{}", "a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(61));
        assert_eq!(long.len(), 253);
        let too_long = format!("{long}e");
        check(
            dns1123_subdomain,
            &[
                ("a", true),
                ("example.com", true),
                ("web-1.default.svc", true),
                (&long, true),
                (&too_long, false),
                ("", false),
                (".a", false),
                ("a.", false),
                ("a..b", false),
                ("a.-b", false),
                ("A.b", false),
                ("a_b", false),
            ],
        );
    }

    #[test]
    fn object_name_uses_labels_for_services_and_namespaces_and_subdomains_elsewhere() {
        let cases = [
            ("Pod", "web.v1", true),
            ("Node", "node-1.example.com", true),
            ("Deployment", "api.v2", true),
            ("Service", "web.v1", false),
            ("Service", "web", true),
            ("Namespace", "team.a", false),
            ("Namespace", "team-a", true),
            ("Pod", "Web", false),
        ];
        for (kind, name, ok) in cases {
            assert_eq!(object_name(kind, name).is_ok(), ok, "{kind} {name}");
        }
    }

    #[test]
    fn port_number_accepts_1_through_65535() {
        for (port, ok) in [(1, true), (80, true), (65535, true), (0, false), (-1, false), (65536, false)] {
            assert_eq!(port_number(port).is_ok(), ok, "{port}");
        }
    }

    #[test]
    fn port_name_follows_iana_service_name_rules() {
        check(
            port_name,
            &[
                ("http", true),
                ("h2c", true),
                ("grpc-web", true),
                ("a", true),
                ("abcdefghijklmno", true),
                ("abcdefghijklmnop", false),
                ("", false),
                ("8080", false),
                ("-http", false),
                ("http-", false),
                ("ht--tp", false),
                ("HTTP", false),
                ("http_2", false),
                ("http.2", false),
            ],
        );
    }

    #[test]
    fn env_var_name_allows_letters_digits_dash_dot_underscore_not_leading_digit() {
        check(
            env_var_name,
            &[
                ("PATH", true),
                ("_x", true),
                ("my.var", true),
                ("-flag", true),
                ("a1", true),
                ("", false),
                ("1a", false),
                ("A=B", false),
                ("A B", false),
                ("Ä", false),
            ],
        );
    }

    #[test]
    fn ip_address_accepts_v4_and_v6_text_forms() {
        check(
            ip_address,
            &[
                ("10.0.0.1", true),
                ("255.255.255.255", true),
                ("::1", true),
                ("fd00:10:96::a", true),
                ("", false),
                ("10.0.0", false),
                ("10.0.0.256", false),
                ("010.0.0.1", false),
                ("10.0.0.1/32", false),
                ("host.example", false),
            ],
        );
    }

    #[test]
    fn cidr_requires_an_address_and_a_prefix_that_fits_it() {
        check(
            cidr,
            &[
                ("10.244.0.0/16", true),
                ("10.244.1.0/24", true),
                ("0.0.0.0/0", true),
                ("fd00::/64", true),
                ("fd00::/128", true),
                ("10.0.0.0/33", false),
                ("fd00::/129", false),
                ("10.0.0.0", false),
                ("10.0.0.0/", false),
                ("10.0.0.0/+8", false),
                ("/24", false),
                ("x/24", false),
            ],
        );
    }

    fn owner(api_version: &str, kind: &str, name: &str, uid: &str, controller: bool) -> OwnerReference {
        OwnerReference {
            api_version: api_version.into(),
            kind: kind.into(),
            name: name.into(),
            uid: uid.into(),
            controller: Some(controller),
            block_owner_deletion: None,
        }
    }

    fn meta_fields(meta: &ObjectMeta, scope: Scope, rule: NameRule) -> Vec<(String, FieldErrorKind)> {
        validate_object_meta(meta, &FieldPath::root("metadata"), scope, rule)
            .into_iter()
            .map(|e| (e.field, e.kind))
            .collect()
    }

    #[test]
    fn valid_metadata_has_no_errors() {
        let mut meta = ObjectMeta::named("web-7f9c.v1")
            .in_namespace("default")
            .with_label("app.kubernetes.io/name", "web")
            .with_label("tier", "");
        meta.annotations.insert("Example.com/Owner".into(), "team a, with spaces".into());
        meta.finalizers.push("example.com/cleanup".into());
        meta.owner_references.push(owner("apps/v1", "ReplicaSet", "web-7f9c", "u-1", true));
        meta.owner_references.push(owner("v1", "ConfigMap", "cfg", "u-2", false));
        assert_eq!(meta_fields(&meta, Scope::Namespaced, dns1123_subdomain), vec![]);

        let node = ObjectMeta::named("node-1");
        assert_eq!(meta_fields(&node, Scope::Cluster, dns1123_subdomain), vec![]);

        let generated = ObjectMeta { generate_name: Some("web-".into()), ..ObjectMeta::default() }.in_namespace("ns");
        assert_eq!(meta_fields(&generated, Scope::Namespaced, dns1123_label), vec![]);
    }

    #[test]
    fn each_metadata_problem_is_reported_at_its_field() {
        use FieldErrorKind::*;
        let base = || ObjectMeta::named("ok").in_namespace("default");
        let cases: Vec<(&str, ObjectMeta, Scope, NameRule, &str, FieldErrorKind)> = vec![
            (
                "no name",
                ObjectMeta::default().in_namespace("ns"),
                Scope::Namespaced,
                dns1123_subdomain,
                "metadata.name",
                Required,
            ),
            (
                "bad name",
                ObjectMeta::named("Bad").in_namespace("ns"),
                Scope::Namespaced,
                dns1123_subdomain,
                "metadata.name",
                Invalid,
            ),
            (
                "dotted service name",
                ObjectMeta::named("a.b").in_namespace("ns"),
                Scope::Namespaced,
                dns1123_label,
                "metadata.name",
                Invalid,
            ),
            (
                "bad generateName",
                ObjectMeta { generate_name: Some("Web-".into()), ..ObjectMeta::default() }.in_namespace("ns"),
                Scope::Namespaced,
                dns1123_subdomain,
                "metadata.generateName",
                Invalid,
            ),
            (
                "namespace malformed",
                ObjectMeta::named("ok").in_namespace("Team_A"),
                Scope::Namespaced,
                dns1123_subdomain,
                "metadata.namespace",
                Invalid,
            ),
            (
                "namespace on cluster kind",
                ObjectMeta::named("ok").in_namespace("default"),
                Scope::Cluster,
                dns1123_subdomain,
                "metadata.namespace",
                Forbidden,
            ),
            (
                "bad label key",
                base().with_label("-app", "web"),
                Scope::Namespaced,
                dns1123_subdomain,
                "metadata.labels[-app]",
                Invalid,
            ),
            (
                "bad label value",
                base().with_label("app", "web app"),
                Scope::Namespaced,
                dns1123_subdomain,
                "metadata.labels[app]",
                Invalid,
            ),
            (
                "bad annotation key",
                ObjectMeta { annotations: BTreeMap::from([("a b".into(), "x".into())]), ..base() },
                Scope::Namespaced,
                dns1123_subdomain,
                "metadata.annotations[a b]",
                Invalid,
            ),
            (
                "annotations too big",
                ObjectMeta {
                    annotations: BTreeMap::from([("big".into(), "x".repeat(ANNOTATIONS_MAX_BYTES))]),
                    ..base()
                },
                Scope::Namespaced,
                dns1123_subdomain,
                "metadata.annotations",
                TooLong,
            ),
            (
                "bad finalizer",
                ObjectMeta { finalizers: vec!["ok/fine".into(), "not ok".into()], ..base() },
                Scope::Namespaced,
                dns1123_subdomain,
                "metadata.finalizers[1]",
                Invalid,
            ),
            (
                "duplicate finalizer",
                ObjectMeta { finalizers: vec!["a/b".into(), "a/b".into()], ..base() },
                Scope::Namespaced,
                dns1123_subdomain,
                "metadata.finalizers[1]",
                Duplicate,
            ),
            (
                "owner without uid",
                ObjectMeta { owner_references: vec![owner("v1", "Pod", "p", "", false)], ..base() },
                Scope::Namespaced,
                dns1123_subdomain,
                "metadata.ownerReferences[0].uid",
                Required,
            ),
            (
                "two controllers",
                ObjectMeta {
                    owner_references: vec![owner("v1", "A", "a", "1", true), owner("v1", "B", "b", "2", true)],
                    ..base()
                },
                Scope::Namespaced,
                dns1123_subdomain,
                "metadata.ownerReferences[1].controller",
                Invalid,
            ),
        ];
        for (what, meta, scope, rule, field, kind) in cases {
            assert_eq!(meta_fields(&meta, scope, rule), vec![(field.to_owned(), kind)], "{what}");
        }
    }

    #[test]
    fn metadata_reports_every_problem_at_once() {
        let meta = ObjectMeta {
            name: Some("Bad_Name".into()),
            finalizers: vec!["not ok".into()],
            owner_references: vec![owner("", "", "x", "1", false)],
            ..ObjectMeta::default()
        }
        .with_label("app", "a b");
        let fields: Vec<String> =
            meta_fields(&meta, Scope::Namespaced, dns1123_subdomain).into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "metadata.name",
                "metadata.labels[app]",
                "metadata.finalizers[0]",
                "metadata.ownerReferences[0].apiVersion",
                "metadata.ownerReferences[0].kind",
            ]
        );
    }
}
