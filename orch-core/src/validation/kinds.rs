//! Validation of the built-in kinds: every problem of an object, each at its full field path.
//!
//! Each `validate_<kind>` function is what the kind's [`Resource::validate`] calls. They
//! collect all problems rather than stop at the first, so a user fixes a manifest in one go:
//!
//! ```text
//! spec.containers[0].ports[1].containerPort: must be 1..65535; spec.restartPolicy: unsupported value ...
//! ```
//!
//! Pod spec rules live in [`validate_pod_spec`], which ReplicaSet and Deployment reuse for
//! their templates under `spec.template.spec`.

use std::collections::{BTreeMap, BTreeSet};

use super::names;
use crate::kinds::*;
use crate::quantity::ParsedQuantity;
use crate::selector::label::{LabelSelectorError, Selector, validate_label_key, validate_label_value};
use crate::{FieldError, FieldErrorKind, FieldErrors, FieldPath, LabelSelector, ObjectMeta, Quantity, Resource};

const PROTOCOLS: &[&str] = &["TCP", "UDP", "SCTP"];
const RESTART_POLICIES: &[&str] = &["Always", "OnFailure", "Never"];
const TAINT_EFFECTS: &[&str] = &["NoSchedule", "PreferNoSchedule", "NoExecute"];
const SERVICE_TYPES: &[&str] = &["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"];
const MAX_SESSION_TIMEOUT_SECONDS: i32 = 86_400;
const ENV_FIELD_PATHS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.podIP",
    "status.podIPs",
    "status.hostIP",
];

// ---------------------------------------------------------------------------------------------
// Small helpers shared by every kind.

/// Pushes an `Invalid` error when a rule fails.
fn check(errs: &mut FieldErrors, path: &FieldPath, result: Result<(), String>) {
    if let Err(reason) = result {
        errs.push(FieldError::invalid(path, reason));
    }
}

/// Pushes a `NotSupported` error when `value` is not among `supported`.
fn check_supported(errs: &mut FieldErrors, path: &FieldPath, value: &str, supported: &[&str]) {
    if !supported.contains(&value) {
        errs.push(FieldError::not_supported(path, value, supported));
    }
}

/// Pushes an `Invalid` error when `value` is set and below `min`.
fn check_min(errs: &mut FieldErrors, path: &FieldPath, value: Option<i64>, min: i64) {
    if let Some(v) = value
        && v < min
    {
        errs.push(FieldError::invalid(path, format!("must be greater than or equal to {min}")));
    }
}

/// A port given as a number (1..65535) or as the name of a container port.
fn check_port_ref(errs: &mut FieldErrors, path: &FieldPath, port: &IntOrString) {
    match port {
        IntOrString::Int(n) => check(errs, path, names::port_number(*n)),
        IntOrString::String(s) => check(errs, path, names::port_name(s)),
    }
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

/// The metadata rules of kind `K`: its name rule and its scope.
fn validate_meta<K: Resource>(meta: &ObjectMeta) -> FieldErrors {
    names::validate_object_meta(meta, &FieldPath::root("metadata"), K::SCOPE, names::name_rule_for(K::KIND))
}

/// Checks a structured label selector, reporting every bad entry, and returns its parsed form
/// when it is valid.
fn validate_label_selector(errs: &mut FieldErrors, path: &FieldPath, sel: &LabelSelector) -> Option<Selector> {
    let before = errs.len();
    errs.extend(names::validate_labels(&sel.match_labels, &path.child("matchLabels")));
    for (i, req) in sel.match_expressions.iter().enumerate() {
        let p = path.child("matchExpressions").index(i);
        check(errs, &p.child("key"), validate_label_key(&req.key));
        match req.operator.as_str() {
            "In" | "NotIn" => {
                if req.values.is_empty() {
                    errs.push(FieldError::required(p.child("values")));
                }
            }
            "Exists" | "DoesNotExist" => {
                if !req.values.is_empty() {
                    errs.push(FieldError::forbidden(
                        p.child("values"),
                        format!("must be empty when `operator` is {:?}", req.operator),
                    ));
                }
            }
            other => check_supported(errs, &p.child("operator"), other, &["In", "NotIn", "Exists", "DoesNotExist"]),
        }
        for (j, v) in req.values.iter().enumerate() {
            check(errs, &p.child("values").index(j), validate_label_value(v));
        }
    }
    if errs.len() > before {
        return None;
    }
    match Selector::try_from(sel) {
        Ok(s) => Some(s),
        Err(LabelSelectorError::Field { field, message }) => {
            errs.push(FieldError::invalid(path.child(&field), message));
            None
        }
        Err(e) => {
            errs.push(FieldError::invalid(path, e.to_string()));
            None
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Pods.

/// Validates a pod: its metadata and its spec (see [`validate_pod_spec`]).
///
/// ```
/// use orch_core::ObjectMeta;
/// use orch_core::kinds::{Container, Pod, PodSpec};
/// use orch_core::validation::kinds::validate_pod;
/// let container = Container { name: "web".into(), image: "nginx:1.27".into(), ..Container::default() };
/// let mut pod = Pod {
///     metadata: ObjectMeta::named("web-0").in_namespace("default"),
///     spec: PodSpec { containers: vec![container], ..PodSpec::default() },
///     ..Pod::default()
/// };
/// assert!(validate_pod(&pod).is_ok());
///
/// pod.spec.containers[0].image.clear();
/// pod.spec.restart_policy = Some("Sometimes".into());
/// let errs = validate_pod(&pod).unwrap_err();
/// let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
/// assert_eq!(fields, ["spec.containers[0].image", "spec.restartPolicy"]);
/// ```
///
/// # Errors
/// Every problem found, each at its field path.
pub fn validate_pod(pod: &Pod) -> Result<(), FieldErrors> {
    let mut errs = validate_meta::<Pod>(&pod.metadata);
    errs.extend(validate_pod_spec(&pod.spec, &FieldPath::root("spec")));
    errs.into_result()
}

/// Validates a pod spec found at `path` (`spec` for a pod, `spec.template.spec` for a template):
/// containers (names, images, ports, env, resources, probes, volume mounts), restart policy,
/// scheduling constraints (node selector, affinity, tolerations, topology spread), grace
/// period and volumes.
///
/// ```
/// use orch_core::FieldPath;
/// use orch_core::kinds::{Container, PodSpec};
/// use orch_core::validation::kinds::validate_pod_spec;
/// let spec = PodSpec { containers: vec![Container { name: "web".into(), ..Container::default() }], ..PodSpec::default() };
/// let errs = validate_pod_spec(&spec, &FieldPath::root("spec").child("template").child("spec"));
/// assert_eq!(errs.to_string(), "spec.template.spec.containers[0].image: required value");
/// ```
pub fn validate_pod_spec(spec: &PodSpec, path: &FieldPath) -> FieldErrors {
    let mut errs = FieldErrors::default();
    let volumes = validate_volumes(&mut errs, &path.child("volumes"), &spec.volumes);

    if spec.containers.is_empty() {
        errs.push(FieldError::required(path.child("containers")));
    }
    let mut seen = PodUniques::default();
    for (i, c) in spec.init_containers.iter().enumerate() {
        validate_container(&mut errs, &path.child("initContainers").index(i), c, true, &volumes, &mut seen);
    }
    for (i, c) in spec.containers.iter().enumerate() {
        validate_container(&mut errs, &path.child("containers").index(i), c, false, &volumes, &mut seen);
    }

    if let Some(policy) = &spec.restart_policy {
        check_supported(&mut errs, &path.child("restartPolicy"), policy, RESTART_POLICIES);
    }
    check_min(&mut errs, &path.child("terminationGracePeriodSeconds"), spec.termination_grace_period_seconds, 0);
    check_min(&mut errs, &path.child("activeDeadlineSeconds"), spec.active_deadline_seconds, 1);
    if let Some(node) = non_empty(&spec.node_name) {
        check(&mut errs, &path.child("nodeName"), names::dns1123_subdomain(node));
    }
    if let Some(sa) = non_empty(&spec.service_account_name) {
        check(&mut errs, &path.child("serviceAccountName"), names::dns1123_subdomain(sa));
    }
    if let Some(host) = non_empty(&spec.hostname) {
        check(&mut errs, &path.child("hostname"), names::dns1123_label(host));
    }

    errs.extend(names::validate_labels(&spec.node_selector, &path.child("nodeSelector")));
    if let Some(affinity) = &spec.affinity {
        validate_affinity(&mut errs, &path.child("affinity"), affinity);
    }
    for (i, t) in spec.tolerations.iter().enumerate() {
        validate_toleration(&mut errs, &path.child("tolerations").index(i), t);
    }
    let mut spread_keys = BTreeSet::new();
    for (i, c) in spec.topology_spread_constraints.iter().enumerate() {
        let p = path.child("topologySpreadConstraints").index(i);
        validate_spread_constraint(&mut errs, &p, c);
        if !spread_keys.insert((c.topology_key.as_str(), c.when_unsatisfiable.as_str())) {
            errs.push(FieldError::duplicate(p, &format!("{{{}, {}}}", c.topology_key, c.when_unsatisfiable)));
        }
    }
    errs
}

/// Names that must be unique across all containers of a pod.
#[derive(Default)]
struct PodUniques {
    containers: BTreeSet<String>,
    ports: BTreeSet<String>,
    host_ports: BTreeSet<(i32, String, String)>,
}

fn validate_volumes(errs: &mut FieldErrors, path: &FieldPath, volumes: &[Volume]) -> BTreeSet<String> {
    let mut names_seen = BTreeSet::new();
    for (i, v) in volumes.iter().enumerate() {
        let p = path.index(i);
        if v.name.is_empty() {
            errs.push(FieldError::required(p.child("name")));
        } else {
            check(errs, &p.child("name"), names::dns1123_label(&v.name));
            if !names_seen.insert(v.name.clone()) {
                errs.push(FieldError::duplicate(p.child("name"), &v.name));
            }
        }
        let sources = [v.empty_dir.is_some(), v.host_path.is_some(), v.config_map.is_some(), v.secret.is_some()];
        if sources.iter().filter(|s| **s).count() > 1 {
            errs.push(FieldError::forbidden(&p, "may not specify more than one volume type"));
        }
        if let Some(hp) = &v.host_path
            && hp.path.is_empty()
        {
            errs.push(FieldError::required(p.child("hostPath").child("path")));
        }
    }
    names_seen
}

fn validate_container(
    errs: &mut FieldErrors,
    path: &FieldPath,
    c: &Container,
    is_init: bool,
    volumes: &BTreeSet<String>,
    seen: &mut PodUniques,
) {
    if c.name.is_empty() {
        errs.push(FieldError::required(path.child("name")));
    } else {
        check(errs, &path.child("name"), names::dns1123_label(&c.name));
        if !seen.containers.insert(c.name.clone()) {
            errs.push(FieldError::duplicate(path.child("name"), &c.name));
        }
    }
    if c.image.trim().is_empty() {
        errs.push(FieldError::required(path.child("image")));
    }
    if let Some(policy) = &c.image_pull_policy {
        check_supported(errs, &path.child("imagePullPolicy"), policy, &["Always", "IfNotPresent", "Never"]);
    }

    for (i, port) in c.ports.iter().enumerate() {
        validate_container_port(errs, &path.child("ports").index(i), port, seen);
    }
    for (i, env) in c.env.iter().enumerate() {
        validate_env_var(errs, &path.child("env").index(i), env);
    }
    validate_resources(errs, &path.child("resources"), &c.resources);

    let probes = [
        ("livenessProbe", &c.liveness_probe, true),
        ("readinessProbe", &c.readiness_probe, false),
        ("startupProbe", &c.startup_probe, true),
    ];
    for (field, probe, success_must_be_one) in probes {
        let Some(probe) = probe else { continue };
        let p = path.child(field);
        if is_init {
            errs.push(FieldError::forbidden(p, "may not be set for init containers"));
        } else {
            validate_probe(errs, &p, probe, success_must_be_one);
        }
    }

    let mut mount_paths = BTreeSet::new();
    for (i, m) in c.volume_mounts.iter().enumerate() {
        let p = path.child("volumeMounts").index(i);
        if m.name.is_empty() {
            errs.push(FieldError::required(p.child("name")));
        } else if !volumes.contains(&m.name) {
            errs.push(FieldError::invalid(
                p.child("name"),
                format!("volume {:?} not found: must match the name of a volume of the pod", m.name),
            ));
        }
        if m.mount_path.is_empty() {
            errs.push(FieldError::required(p.child("mountPath")));
        } else if !mount_paths.insert(m.mount_path.as_str()) {
            errs.push(FieldError::duplicate(p.child("mountPath"), &m.mount_path));
        }
    }
}

fn validate_container_port(errs: &mut FieldErrors, path: &FieldPath, port: &ContainerPort, seen: &mut PodUniques) {
    check(errs, &path.child("containerPort"), names::port_number(port.container_port));
    if let Some(name) = non_empty(&port.name) {
        check(errs, &path.child("name"), names::port_name(name));
        if !seen.ports.insert(name.to_owned()) {
            errs.push(FieldError::duplicate(path.child("name"), name));
        }
    }
    let protocol = port.protocol.as_deref().unwrap_or("TCP");
    check_supported(errs, &path.child("protocol"), protocol, PROTOCOLS);
    if let Some(ip) = non_empty(&port.host_ip) {
        check(errs, &path.child("hostIP"), names::ip_address(ip));
    }
    if let Some(host_port) = port.host_port.filter(|p| *p != 0) {
        check(errs, &path.child("hostPort"), names::port_number(host_port));
        let key = (host_port, protocol.to_owned(), port.host_ip.clone().unwrap_or_default());
        if !seen.host_ports.insert(key) {
            errs.push(FieldError::duplicate(path.child("hostPort"), &format!("{host_port}/{protocol}")));
        }
    }
}

fn validate_env_var(errs: &mut FieldErrors, path: &FieldPath, env: &EnvVar) {
    if env.name.is_empty() {
        errs.push(FieldError::required(path.child("name")));
    } else {
        check(errs, &path.child("name"), names::env_var_name(&env.name));
    }
    let Some(from) = &env.value_from else { return };
    let p = path.child("valueFrom");
    if non_empty(&env.value).is_some() {
        errs.push(FieldError::invalid(&p, "may not be specified when `value` is not empty"));
    }
    let Some(field_ref) = &from.field_ref else {
        errs.push(FieldError::invalid(&p, "must specify one of: `fieldRef`"));
        return;
    };
    let fp = p.child("fieldRef");
    if let Some(v) = non_empty(&field_ref.api_version) {
        check_supported(errs, &fp.child("apiVersion"), v, &["v1"]);
    }
    check(errs, &fp.child("fieldPath"), env_field_path(&field_ref.field_path));
}

/// A field a container's environment may read from its pod.
fn env_field_path(path: &str) -> Result<(), String> {
    if ENV_FIELD_PATHS.contains(&path) {
        return Ok(());
    }
    for prefix in ["metadata.labels", "metadata.annotations"] {
        if let Some(key) =
            path.strip_prefix(prefix).and_then(|r| r.strip_prefix("['")).and_then(|r| r.strip_suffix("']"))
        {
            return validate_label_key(key).map_err(|reason| format!("invalid key: {reason}"));
        }
    }
    Err(format!(
        "unsupported field path {path:?}: supported paths: {}, metadata.labels['<key>'], metadata.annotations['<key>']",
        ENV_FIELD_PATHS.join(", ")
    ))
}

fn validate_resources(errs: &mut FieldErrors, path: &FieldPath, res: &ResourceRequirements) {
    let requests = parse_quantities(errs, &path.child("requests"), &res.requests);
    let limits = parse_quantities(errs, &path.child("limits"), &res.limits);
    for (name, request) in &requests {
        if let Some(limit) = limits.get(name)
            && request > limit
        {
            errs.push(FieldError::invalid(
                path.child("requests").key(name),
                format!("must be less than or equal to the {name} limit of {limit}"),
            ));
        }
    }
}

/// Checks resource names and quantities, returning the ones that parse and are non-negative.
fn parse_quantities<'a>(
    errs: &mut FieldErrors,
    path: &FieldPath,
    map: &'a BTreeMap<String, Quantity>,
) -> BTreeMap<&'a str, ParsedQuantity> {
    let mut parsed = BTreeMap::new();
    for (name, q) in map {
        let p = path.key(name);
        check(errs, &p, validate_label_key(name).map_err(|r| format!("invalid resource name: {r}")));
        match q.parse() {
            Err(e) => errs.push(FieldError::invalid(&p, e.to_string())),
            Ok(v) if v.is_negative() => errs.push(FieldError::invalid(&p, "must be greater than or equal to 0")),
            Ok(v) => {
                parsed.insert(name.as_str(), v);
            }
        }
    }
    parsed
}

fn validate_probe(errs: &mut FieldErrors, path: &FieldPath, probe: &Probe, success_must_be_one: bool) {
    let handlers = [probe.exec.is_some(), probe.http_get.is_some(), probe.tcp_socket.is_some(), probe.grpc.is_some()];
    match handlers.iter().filter(|h| **h).count() {
        0 => errs.push(FieldError::new(
            FieldErrorKind::Required,
            path,
            "must specify a handler: one of `exec`, `httpGet`, `tcpSocket` or `grpc`",
        )),
        1 => {}
        _ => errs.push(FieldError::forbidden(path, "may not specify more than one handler")),
    }
    if let Some(exec) = &probe.exec
        && exec.command.is_empty()
    {
        errs.push(FieldError::required(path.child("exec").child("command")));
    }
    if let Some(http) = &probe.http_get {
        let p = path.child("httpGet");
        check_port_ref(errs, &p.child("port"), &http.port);
        if let Some(scheme) = &http.scheme {
            check_supported(errs, &p.child("scheme"), scheme, &["HTTP", "HTTPS"]);
        }
    }
    if let Some(tcp) = &probe.tcp_socket {
        check_port_ref(errs, &path.child("tcpSocket").child("port"), &tcp.port);
    }
    if let Some(grpc) = &probe.grpc {
        check(errs, &path.child("grpc").child("port"), names::port_number(grpc.port));
    }
    for (field, value) in [
        ("initialDelaySeconds", probe.initial_delay_seconds),
        ("periodSeconds", probe.period_seconds),
        ("timeoutSeconds", probe.timeout_seconds),
    ] {
        check_min(errs, &path.child(field), value.map(i64::from), 0);
    }
    check_min(errs, &path.child("terminationGracePeriodSeconds"), probe.termination_grace_period_seconds, 0);
    for (field, value) in [("successThreshold", probe.success_threshold), ("failureThreshold", probe.failure_threshold)]
    {
        check_min(errs, &path.child(field), value.map(i64::from), 1);
    }
    if success_must_be_one && probe.success_threshold.is_some_and(|t| t > 1) {
        errs.push(FieldError::invalid(path.child("successThreshold"), "must be 1 for liveness and startup probes"));
    }
}

fn validate_toleration(errs: &mut FieldErrors, path: &FieldPath, t: &Toleration) {
    let key = t.key.as_deref().unwrap_or("");
    let operator = t.operator.as_deref().filter(|o| !o.is_empty()).unwrap_or("Equal");
    if !key.is_empty() {
        check(errs, &path.child("key"), validate_label_key(key));
    }
    match operator {
        "Exists" => {
            if non_empty(&t.value).is_some() {
                errs.push(FieldError::invalid(path.child("value"), "must be empty when `operator` is \"Exists\""));
            }
        }
        "Equal" => {
            if key.is_empty() {
                errs.push(FieldError::invalid(path.child("operator"), "must be \"Exists\" when `key` is empty"));
            }
            if let Some(v) = &t.value {
                check(errs, &path.child("value"), validate_label_value(v));
            }
        }
        other => check_supported(errs, &path.child("operator"), other, &["Exists", "Equal"]),
    }
    let effect = t.effect.as_deref().unwrap_or("");
    if !effect.is_empty() {
        check_supported(errs, &path.child("effect"), effect, TAINT_EFFECTS);
    }
    if t.toleration_seconds.is_some() && effect != "NoExecute" {
        errs.push(FieldError::invalid(
            path.child("tolerationSeconds"),
            "may only be set when `effect` is \"NoExecute\"",
        ));
    }
}

fn validate_affinity(errs: &mut FieldErrors, path: &FieldPath, affinity: &Affinity) {
    if let Some(na) = &affinity.node_affinity {
        let p = path.child("nodeAffinity");
        if let Some(required) = &na.required_during_scheduling_ignored_during_execution {
            let rp = p.child("requiredDuringSchedulingIgnoredDuringExecution").child("nodeSelectorTerms");
            if required.node_selector_terms.is_empty() {
                errs.push(FieldError::required(&rp));
            }
            for (i, term) in required.node_selector_terms.iter().enumerate() {
                validate_node_selector_term(errs, &rp.index(i), term);
            }
        }
        for (i, pref) in na.preferred_during_scheduling_ignored_during_execution.iter().enumerate() {
            let pp = p.child("preferredDuringSchedulingIgnoredDuringExecution").index(i);
            check_weight(errs, &pp.child("weight"), pref.weight);
            validate_node_selector_term(errs, &pp.child("preference"), &pref.preference);
        }
    }
    for (field, pa) in [("podAffinity", &affinity.pod_affinity), ("podAntiAffinity", &affinity.pod_anti_affinity)] {
        let Some(pa) = pa else { continue };
        let p = path.child(field);
        for (i, term) in pa.required_during_scheduling_ignored_during_execution.iter().enumerate() {
            validate_pod_affinity_term(errs, &p.child("requiredDuringSchedulingIgnoredDuringExecution").index(i), term);
        }
        for (i, w) in pa.preferred_during_scheduling_ignored_during_execution.iter().enumerate() {
            let wp = p.child("preferredDuringSchedulingIgnoredDuringExecution").index(i);
            check_weight(errs, &wp.child("weight"), w.weight);
            validate_pod_affinity_term(errs, &wp.child("podAffinityTerm"), &w.pod_affinity_term);
        }
    }
}

fn check_weight(errs: &mut FieldErrors, path: &FieldPath, weight: i32) {
    if !(1..=100).contains(&weight) {
        errs.push(FieldError::invalid(path, "must be 1..100"));
    }
}

fn validate_node_selector_term(errs: &mut FieldErrors, path: &FieldPath, term: &NodeSelectorTerm) {
    for (i, req) in term.match_expressions.iter().enumerate() {
        let p = path.child("matchExpressions").index(i);
        check(errs, &p.child("key"), validate_label_key(&req.key));
        let values = p.child("values");
        match req.operator.as_str() {
            "In" | "NotIn" if req.values.is_empty() => errs.push(FieldError::required(values)),
            "In" | "NotIn" => {
                for (j, v) in req.values.iter().enumerate() {
                    check(errs, &values.index(j), validate_label_value(v));
                }
            }
            "Exists" | "DoesNotExist" if !req.values.is_empty() => {
                errs.push(FieldError::forbidden(values, format!("must be empty when `operator` is {:?}", req.operator)))
            }
            "Exists" | "DoesNotExist" => {}
            "Gt" | "Lt" => {
                if req.values.len() != 1 || req.values[0].parse::<i64>().is_err() {
                    errs.push(FieldError::invalid(
                        values,
                        format!("must have exactly one integer value when `operator` is {:?}", req.operator),
                    ));
                }
            }
            other => check_supported(
                errs,
                &p.child("operator"),
                other,
                &["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"],
            ),
        }
    }
    for (i, req) in term.match_fields.iter().enumerate() {
        let p = path.child("matchFields").index(i);
        check_supported(errs, &p.child("key"), &req.key, &["metadata.name"]);
        match req.operator.as_str() {
            "In" | "NotIn" => {
                if req.values.len() != 1 {
                    errs.push(FieldError::invalid(p.child("values"), "must have exactly one value"));
                }
            }
            other => check_supported(errs, &p.child("operator"), other, &["In", "NotIn"]),
        }
    }
}

fn validate_pod_affinity_term(errs: &mut FieldErrors, path: &FieldPath, term: &PodAffinityTerm) {
    if let Some(sel) = &term.label_selector {
        validate_label_selector(errs, &path.child("labelSelector"), sel);
    }
    if let Some(sel) = &term.namespace_selector {
        validate_label_selector(errs, &path.child("namespaceSelector"), sel);
    }
    for (i, ns) in term.namespaces.iter().enumerate() {
        check(errs, &path.child("namespaces").index(i), names::dns1123_label(ns));
    }
    if term.topology_key.is_empty() {
        errs.push(FieldError::required(path.child("topologyKey")));
    } else {
        check(errs, &path.child("topologyKey"), validate_label_key(&term.topology_key));
    }
}

fn validate_spread_constraint(errs: &mut FieldErrors, path: &FieldPath, c: &TopologySpreadConstraint) {
    if c.max_skew < 1 {
        errs.push(FieldError::invalid(path.child("maxSkew"), "must be greater than or equal to 1"));
    }
    if c.topology_key.is_empty() {
        errs.push(FieldError::required(path.child("topologyKey")));
    } else {
        check(errs, &path.child("topologyKey"), validate_label_key(&c.topology_key));
    }
    check_supported(
        errs,
        &path.child("whenUnsatisfiable"),
        &c.when_unsatisfiable,
        &["DoNotSchedule", "ScheduleAnyway"],
    );
    if let Some(min) = c.min_domains {
        if min < 1 {
            errs.push(FieldError::invalid(path.child("minDomains"), "must be greater than or equal to 1"));
        } else if c.when_unsatisfiable == "ScheduleAnyway" {
            errs.push(FieldError::invalid(
                path.child("minDomains"),
                "may only be set when `whenUnsatisfiable` is \"DoNotSchedule\"",
            ));
        }
    }
    if let Some(sel) = &c.label_selector {
        validate_label_selector(errs, &path.child("labelSelector"), sel);
    }
    for (i, key) in c.match_label_keys.iter().enumerate() {
        check(errs, &path.child("matchLabelKeys").index(i), validate_label_key(key));
    }
}

// ---------------------------------------------------------------------------------------------
// Workloads.

/// The checks ReplicaSet and Deployment share: replicas, selector, template.
fn validate_workload(
    errs: &mut FieldErrors,
    replicas: Option<i32>,
    min_ready_seconds: Option<i32>,
    selector: &LabelSelector,
    template: &PodTemplateSpec,
) {
    let spec = FieldPath::root("spec");
    check_min(errs, &spec.child("replicas"), replicas.map(i64::from), 0);
    check_min(errs, &spec.child("minReadySeconds"), min_ready_seconds.map(i64::from), 0);

    let sel_path = spec.child("selector");
    let parsed = if selector.match_labels.is_empty() && selector.match_expressions.is_empty() {
        errs.push(FieldError::new(FieldErrorKind::Required, &sel_path, "an empty selector is not allowed"));
        None
    } else {
        validate_label_selector(errs, &sel_path, selector)
    };

    let tpl = spec.child("template");
    let labels_path = tpl.child("metadata").child("labels");
    errs.extend(names::validate_labels(&template.metadata.labels, &labels_path));
    errs.extend(names::validate_annotations(
        &template.metadata.annotations,
        &tpl.child("metadata").child("annotations"),
    ));
    if let Some(sel) = parsed
        && !sel.matches(&template.metadata.labels)
    {
        errs.push(FieldError::invalid(labels_path, "`selector` does not match the template's `labels`"));
    }

    let tpl_spec = tpl.child("spec");
    errs.extend(validate_pod_spec(&template.spec, &tpl_spec));
    // An unknown policy is already reported by the pod spec checks; here only the known ones
    // that a controller cannot honour.
    if let Some(policy @ ("OnFailure" | "Never")) = template.spec.restart_policy.as_deref() {
        errs.push(FieldError::not_supported(tpl_spec.child("restartPolicy"), policy, &["Always"]));
    }
}

/// Validates a replica set: metadata, `spec.replicas ≥ 0`, a non-empty valid selector that
/// matches the template's labels, and the template's pod spec (restart policy `Always`).
///
/// ```
/// use orch_core::{LabelSelector, ObjectMeta};
/// use orch_core::kinds::{Container, PodSpec, PodTemplateSpec, ReplicaSet, ReplicaSetSpec};
/// use orch_core::validation::kinds::validate_replica_set;
/// let mut rs = ReplicaSet {
///     metadata: ObjectMeta::named("web-7f9c").in_namespace("default"),
///     spec: ReplicaSetSpec {
///         replicas: Some(3),
///         selector: LabelSelector { match_labels: [("app".into(), "web".into())].into(), ..Default::default() },
///         template: PodTemplateSpec {
///             metadata: ObjectMeta::default().with_label("app", "web"),
///             spec: PodSpec {
///                 containers: vec![Container { name: "web".into(), image: "nginx".into(), ..Container::default() }],
///                 ..PodSpec::default()
///             },
///         },
///         ..ReplicaSetSpec::default()
///     },
///     ..ReplicaSet::default()
/// };
/// assert!(validate_replica_set(&rs).is_ok());
/// rs.spec.template.metadata.labels.insert("app".into(), "api".into());
/// let errs = validate_replica_set(&rs).unwrap_err();
/// assert_eq!(errs.iter().next().unwrap().field, "spec.template.metadata.labels");
/// ```
///
/// # Errors
/// Every problem found, each at its field path.
pub fn validate_replica_set(rs: &ReplicaSet) -> Result<(), FieldErrors> {
    let mut errs = validate_meta::<ReplicaSet>(&rs.metadata);
    let s = &rs.spec;
    validate_workload(&mut errs, s.replicas, s.min_ready_seconds, &s.selector, &s.template);
    errs.into_result()
}

/// Validates a deployment: everything a replica set checks, plus the strategy (`RollingUpdate`
/// or `Recreate`; `maxSurge`/`maxUnavailable` non-negative counts or percentages, not both
/// zero), `revisionHistoryLimit ≥ 0` and `progressDeadlineSeconds > minReadySeconds`.
///
/// ```
/// use orch_core::kinds::{Deployment, IntOrString, RollingUpdateDeployment};
/// use orch_core::validation::kinds::validate_deployment;
/// let mut d: Deployment = serde_json::from_value(serde_json::json!({
///     "metadata": {"name": "web", "namespace": "default"},
///     "spec": {
///         "selector": {"matchLabels": {"app": "web"}},
///         "template": {
///             "metadata": {"labels": {"app": "web"}},
///             "spec": {"containers": [{"name": "web", "image": "nginx"}]}
///         }
///     }
/// })).unwrap();
/// assert!(validate_deployment(&d).is_ok());
/// d.spec.strategy.rolling_update = Some(RollingUpdateDeployment {
///     max_surge: Some(IntOrString::from("0%")),
///     max_unavailable: Some(IntOrString::Int(0)),
/// });
/// let errs = validate_deployment(&d).unwrap_err();
/// assert_eq!(errs.iter().next().unwrap().field, "spec.strategy.rollingUpdate.maxUnavailable");
/// ```
///
/// # Errors
/// Every problem found, each at its field path.
pub fn validate_deployment(d: &Deployment) -> Result<(), FieldErrors> {
    let mut errs = validate_meta::<Deployment>(&d.metadata);
    let s = &d.spec;
    let spec = FieldPath::root("spec");
    validate_workload(&mut errs, s.replicas, s.min_ready_seconds, &s.selector, &s.template);

    let strategy = spec.child("strategy");
    let kind = s.strategy.type_.as_deref().unwrap_or("RollingUpdate");
    check_supported(&mut errs, &strategy.child("type"), kind, &["RollingUpdate", "Recreate"]);
    if let Some(ru) = &s.strategy.rolling_update {
        let rp = strategy.child("rollingUpdate");
        if kind == "Recreate" {
            errs.push(FieldError::forbidden(&rp, "may not be specified when strategy `type` is \"Recreate\""));
        }
        if let Some(surge) = &ru.max_surge {
            check(&mut errs, &rp.child("maxSurge"), count_or_percent(surge, false));
        }
        if let Some(unavailable) = &ru.max_unavailable {
            check(&mut errs, &rp.child("maxUnavailable"), count_or_percent(unavailable, true));
        }
        if ru.max_surge.as_ref().is_some_and(is_zero) && ru.max_unavailable.as_ref().is_some_and(is_zero) {
            errs.push(FieldError::invalid(rp.child("maxUnavailable"), "may not be 0 when `maxSurge` is 0"));
        }
    }

    check_min(&mut errs, &spec.child("revisionHistoryLimit"), s.revision_history_limit.map(i64::from), 0);
    if let Some(deadline) = s.progress_deadline_seconds {
        let min_ready = s.min_ready_seconds.unwrap_or(0);
        if deadline <= min_ready {
            errs.push(FieldError::invalid(
                spec.child("progressDeadlineSeconds"),
                format!("must be greater than `minReadySeconds` ({min_ready})"),
            ));
        }
    }
    errs.into_result()
}

/// Parses `N%` into `N`, accepting plain decimal digits only.
fn percent(s: &str) -> Option<i64> {
    let digits = s.strip_suffix('%')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A non-negative count or a percentage (at most 100% when `at_most_100`).
fn count_or_percent(v: &IntOrString, at_most_100: bool) -> Result<(), String> {
    match v {
        IntOrString::Int(n) if *n < 0 => Err("must be greater than or equal to 0".to_owned()),
        IntOrString::Int(_) => Ok(()),
        IntOrString::String(s) => match percent(s) {
            None => Err(format!("{s:?} must be an integer or a percentage (e.g. '25%')")),
            Some(p) if at_most_100 && p > 100 => Err("must not be greater than 100%".to_owned()),
            Some(_) => Ok(()),
        },
    }
}

fn is_zero(v: &IntOrString) -> bool {
    match v {
        IntOrString::Int(n) => *n == 0,
        IntOrString::String(s) => percent(s) == Some(0),
    }
}

// ---------------------------------------------------------------------------------------------
// Services and endpoints.

/// Validates a service: type, ports (numbers, names, protocols, node ports, target ports),
/// session affinity, cluster IPs and the selector.
///
/// ```
/// use orch_core::kinds::Service;
/// use orch_core::validation::kinds::validate_service;
/// let svc: Service = serde_json::from_value(serde_json::json!({
///     "metadata": {"name": "web", "namespace": "default"},
///     "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]}
/// })).unwrap();
/// assert!(validate_service(&svc).is_ok());
///
/// let mut bad = svc.clone();
/// bad.spec.ports[0].node_port = Some(30080);
/// assert_eq!(
///     validate_service(&bad).unwrap_err().iter().next().unwrap().field,
///     "spec.ports[0].nodePort"
/// );
/// ```
///
/// # Errors
/// Every problem found, each at its field path.
pub fn validate_service(svc: &Service) -> Result<(), FieldErrors> {
    let mut errs = validate_meta::<Service>(&svc.metadata);
    let s = &svc.spec;
    let spec = FieldPath::root("spec");

    let kind = s.type_.as_deref().unwrap_or("ClusterIP");
    check_supported(&mut errs, &spec.child("type"), kind, SERVICE_TYPES);
    let cluster_ip = s.cluster_ip.as_deref().unwrap_or("");
    let headless = cluster_ip == "None";

    if kind == "ExternalName" {
        match non_empty(&s.external_name) {
            None => errs.push(FieldError::required(spec.child("externalName"))),
            Some(name) => {
                check(&mut errs, &spec.child("externalName"), names::dns1123_subdomain(name.trim_end_matches('.')))
            }
        }
    }

    match cluster_ip {
        "" => {}
        "None" => {
            if matches!(kind, "NodePort" | "LoadBalancer") {
                errs.push(FieldError::invalid(
                    spec.child("clusterIP"),
                    format!("may not be \"None\" when `type` is {kind:?}"),
                ));
            }
        }
        ip => check(&mut errs, &spec.child("clusterIP"), names::ip_address(ip)),
    }
    for (i, ip) in s.cluster_ips.iter().enumerate() {
        let p = spec.child("clusterIPs").index(i);
        if ip != "None" {
            check(&mut errs, &p, names::ip_address(ip));
        }
        if i == 0 && !cluster_ip.is_empty() && ip != cluster_ip {
            errs.push(FieldError::invalid(p, "must match `clusterIP`"));
        }
    }
    for (i, ip) in s.external_ips.iter().enumerate() {
        check(&mut errs, &spec.child("externalIPs").index(i), names::ip_address(ip));
    }
    if let Some(ip) = non_empty(&s.load_balancer_ip) {
        check(&mut errs, &spec.child("loadBalancerIP"), names::ip_address(ip));
    }
    for (field, policy) in
        [("externalTrafficPolicy", &s.external_traffic_policy), ("internalTrafficPolicy", &s.internal_traffic_policy)]
    {
        if let Some(p) = non_empty(policy) {
            check_supported(&mut errs, &spec.child(field), p, &["Cluster", "Local"]);
        }
    }

    if s.ports.is_empty() && kind != "ExternalName" && !headless {
        errs.push(FieldError::required(spec.child("ports")));
    }
    let mut port_names = BTreeSet::new();
    let mut port_protocols = BTreeSet::new();
    let node_ports_allowed = matches!(kind, "NodePort" | "LoadBalancer");
    for (i, port) in s.ports.iter().enumerate() {
        let p = spec.child("ports").index(i);
        match non_empty(&port.name) {
            None if s.ports.len() > 1 => errs.push(FieldError::new(
                FieldErrorKind::Required,
                p.child("name"),
                "required when the service has more than one port",
            )),
            None => {}
            Some(name) => {
                check(&mut errs, &p.child("name"), names::dns1123_label(name));
                if !port_names.insert(name) {
                    errs.push(FieldError::duplicate(p.child("name"), name));
                }
            }
        }
        check(&mut errs, &p.child("port"), names::port_number(port.port));
        let protocol = port.protocol.as_deref().unwrap_or("TCP");
        check_supported(&mut errs, &p.child("protocol"), protocol, PROTOCOLS);
        if !port_protocols.insert((port.port, protocol)) {
            errs.push(FieldError::duplicate(&p, &format!("{}/{protocol}", port.port)));
        }
        if let Some(node_port) = port.node_port.filter(|n| *n != 0) {
            if node_ports_allowed {
                check(&mut errs, &p.child("nodePort"), names::port_number(node_port));
            } else if SERVICE_TYPES.contains(&kind) {
                // (An unknown type is reported once, at `spec.type`.)
                errs.push(FieldError::forbidden(
                    p.child("nodePort"),
                    format!("may not be used when `type` is {kind:?}"),
                ));
            }
        }
        if let Some(target) = &port.target_port {
            check_port_ref(&mut errs, &p.child("targetPort"), target);
        }
    }

    let affinity = s.session_affinity.as_deref().unwrap_or("None");
    check_supported(&mut errs, &spec.child("sessionAffinity"), affinity, &["None", "ClientIP"]);
    if let Some(config) = &s.session_affinity_config {
        let p = spec.child("sessionAffinityConfig");
        if affinity == "None" {
            errs.push(FieldError::forbidden(&p, "may only be set when `sessionAffinity` is \"ClientIP\""));
        } else if let Some(timeout) = config.client_ip.as_ref().and_then(|c| c.timeout_seconds)
            && !(1..=MAX_SESSION_TIMEOUT_SECONDS).contains(&timeout)
        {
            errs.push(FieldError::invalid(
                p.child("clientIP").child("timeoutSeconds"),
                format!("must be 1..{MAX_SESSION_TIMEOUT_SECONDS}"),
            ));
        }
    }

    errs.extend(names::validate_labels(&s.selector, &spec.child("selector")));
    errs.into_result()
}

/// Validates endpoints: addresses are IPs (with valid hostnames and node names), ports have
/// valid numbers, names and protocols.
///
/// ```
/// use orch_core::kinds::Endpoints;
/// use orch_core::validation::kinds::validate_endpoints;
/// let ep: Endpoints = serde_json::from_value(serde_json::json!({
///     "metadata": {"name": "web", "namespace": "default"},
///     "subsets": [{"addresses": [{"ip": "10.244.1.7"}, {"ip": "10.244.2"}], "ports": [{"port": 8080}]}]
/// })).unwrap();
/// let errs = validate_endpoints(&ep).unwrap_err();
/// assert_eq!(errs.iter().next().unwrap().field, "subsets[0].addresses[1].ip");
/// ```
///
/// # Errors
/// Every problem found, each at its field path.
pub fn validate_endpoints(ep: &Endpoints) -> Result<(), FieldErrors> {
    let mut errs = validate_meta::<Endpoints>(&ep.metadata);
    for (i, subset) in ep.subsets.iter().enumerate() {
        let sp = FieldPath::root("subsets").index(i);
        for (field, addresses) in [("addresses", &subset.addresses), ("notReadyAddresses", &subset.not_ready_addresses)]
        {
            for (j, a) in addresses.iter().enumerate() {
                let ap = sp.child(field).index(j);
                check(&mut errs, &ap.child("ip"), names::ip_address(&a.ip));
                if let Some(h) = non_empty(&a.hostname) {
                    check(&mut errs, &ap.child("hostname"), names::dns1123_label(h));
                }
                if let Some(n) = non_empty(&a.node_name) {
                    check(&mut errs, &ap.child("nodeName"), names::dns1123_subdomain(n));
                }
            }
        }
        let mut port_names = BTreeSet::new();
        for (j, port) in subset.ports.iter().enumerate() {
            let pp = sp.child("ports").index(j);
            check(&mut errs, &pp.child("port"), names::port_number(port.port));
            match non_empty(&port.name) {
                None if subset.ports.len() > 1 => errs.push(FieldError::new(
                    FieldErrorKind::Required,
                    pp.child("name"),
                    "required when the subset has more than one port",
                )),
                None => {}
                Some(name) => {
                    check(&mut errs, &pp.child("name"), names::dns1123_label(name));
                    if !port_names.insert(name) {
                        errs.push(FieldError::duplicate(pp.child("name"), name));
                    }
                }
            }
            check_supported(&mut errs, &pp.child("protocol"), port.protocol.as_deref().unwrap_or("TCP"), PROTOCOLS);
        }
    }
    errs.into_result()
}

// ---------------------------------------------------------------------------------------------
// Cluster objects and the rest.

/// Validates a namespace: a DNS-1123 label name, no namespace of its own, and qualified
/// finalizer names.
///
/// ```
/// use orch_core::ObjectMeta;
/// use orch_core::kinds::Namespace;
/// use orch_core::validation::kinds::validate_namespace;
/// let ns = Namespace { metadata: ObjectMeta::named("team-a"), ..Namespace::default() };
/// assert!(validate_namespace(&ns).is_ok());
/// let dotted = Namespace { metadata: ObjectMeta::named("team.a"), ..Namespace::default() };
/// assert_eq!(validate_namespace(&dotted).unwrap_err().iter().next().unwrap().field, "metadata.name");
/// ```
///
/// # Errors
/// Every problem found, each at its field path.
pub fn validate_namespace(ns: &Namespace) -> Result<(), FieldErrors> {
    let mut errs = validate_meta::<Namespace>(&ns.metadata);
    if let Some(spec) = &ns.spec {
        for (i, f) in spec.finalizers.iter().enumerate() {
            check(&mut errs, &FieldPath::root("spec").child("finalizers").index(i), validate_label_key(f));
        }
    }
    errs.into_result()
}

/// Validates a node: taints (valid key, value and effect; no two with the same key and
/// effect) and pod CIDRs.
///
/// ```
/// use orch_core::ObjectMeta;
/// use orch_core::kinds::{Node, Taint};
/// use orch_core::validation::kinds::validate_node;
/// let mut node = Node { metadata: ObjectMeta::named("node-1"), ..Node::default() };
/// node.spec.pod_cidr = Some("10.244.1.0/24".into());
/// node.spec.taints.push(Taint { key: "dedicated".into(), effect: "NoSchedule".into(), ..Taint::default() });
/// assert!(validate_node(&node).is_ok());
/// node.spec.taints.push(Taint { key: "dedicated".into(), effect: "NoSchedule".into(), ..Taint::default() });
/// assert_eq!(validate_node(&node).unwrap_err().iter().next().unwrap().field, "spec.taints[1]");
/// ```
///
/// # Errors
/// Every problem found, each at its field path.
pub fn validate_node(node: &Node) -> Result<(), FieldErrors> {
    let mut errs = validate_meta::<Node>(&node.metadata);
    let spec = FieldPath::root("spec");
    let mut seen = BTreeSet::new();
    for (i, t) in node.spec.taints.iter().enumerate() {
        let p = spec.child("taints").index(i);
        if t.key.is_empty() {
            errs.push(FieldError::required(p.child("key")));
        } else {
            check(&mut errs, &p.child("key"), validate_label_key(&t.key));
        }
        if let Some(v) = &t.value {
            check(&mut errs, &p.child("value"), validate_label_value(v));
        }
        if t.effect.is_empty() {
            errs.push(FieldError::required(p.child("effect")));
        } else {
            check_supported(&mut errs, &p.child("effect"), &t.effect, TAINT_EFFECTS);
        }
        if !seen.insert((t.key.as_str(), t.effect.as_str())) {
            errs.push(FieldError::duplicate(p, &format!("{}:{}", t.key, t.effect)));
        }
    }
    if let Some(c) = non_empty(&node.spec.pod_cidr) {
        check(&mut errs, &spec.child("podCIDR"), names::cidr(c));
    }
    for (i, c) in node.spec.pod_cidrs.iter().enumerate() {
        check(&mut errs, &spec.child("podCIDRs").index(i), names::cidr(c));
    }
    errs.into_result()
}

/// Validates a lease: `leaseDurationSeconds > 0` and `leaseTransitions ≥ 0` when set.
///
/// ```
/// use orch_core::ObjectMeta;
/// use orch_core::kinds::Lease;
/// use orch_core::validation::kinds::validate_lease;
/// let mut lease = Lease { metadata: ObjectMeta::named("node-1").in_namespace("kube-node-lease"), ..Lease::default() };
/// lease.spec.lease_duration_seconds = Some(40);
/// assert!(validate_lease(&lease).is_ok());
/// lease.spec.lease_duration_seconds = Some(0);
/// assert_eq!(validate_lease(&lease).unwrap_err().to_string(), "spec.leaseDurationSeconds: must be greater than 0");
/// ```
///
/// # Errors
/// Every problem found, each at its field path.
pub fn validate_lease(lease: &Lease) -> Result<(), FieldErrors> {
    let mut errs = validate_meta::<Lease>(&lease.metadata);
    let spec = FieldPath::root("spec");
    if lease.spec.lease_duration_seconds.is_some_and(|d| d <= 0) {
        errs.push(FieldError::invalid(spec.child("leaseDurationSeconds"), "must be greater than 0"));
    }
    check_min(&mut errs, &spec.child("leaseTransitions"), lease.spec.lease_transitions.map(i64::from), 0);
    errs.into_result()
}

/// Validates an event: the involved object names its `kind` and `name`, and `count ≥ 0`.
///
/// ```
/// use orch_core::ObjectMeta;
/// use orch_core::kinds::Event;
/// use orch_core::validation::kinds::validate_event;
/// let mut ev = Event { metadata: ObjectMeta::named("web-0.17f3").in_namespace("default"), ..Event::default() };
/// ev.involved_object.kind = Some("Pod".into());
/// assert_eq!(validate_event(&ev).unwrap_err().to_string(), "involvedObject.name: required value");
/// ```
///
/// # Errors
/// Every problem found, each at its field path.
pub fn validate_event(ev: &Event) -> Result<(), FieldErrors> {
    let mut errs = validate_meta::<Event>(&ev.metadata);
    let obj = FieldPath::root("involvedObject");
    if non_empty(&ev.involved_object.kind).is_none() {
        errs.push(FieldError::required(obj.child("kind")));
    }
    if non_empty(&ev.involved_object.name).is_none() {
        errs.push(FieldError::required(obj.child("name")));
    }
    check_min(&mut errs, &FieldPath::root("count"), ev.count.map(i64::from), 0);
    errs.into_result()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::LabelSelectorRequirement;

    use super::*;

    fn fields(result: Result<(), FieldErrors>) -> Vec<String> {
        match result {
            Ok(()) => vec![],
            Err(errs) => errs.into_iter().map(|e| e.field).collect(),
        }
    }

    fn pod_spec_json() -> serde_json::Value {
        json!({
            "initContainers": [{
                "name": "migrate",
                "image": "registry.example.com/web:1.4.2",
                "command": ["/bin/migrate", "--up"],
                "volumeMounts": [{"name": "cache", "mountPath": "/cache"}]
            }],
            "containers": [{
                "name": "web",
                "image": "registry.example.com/web:1.4.2",
                "ports": [
                    {"name": "http", "containerPort": 8080},
                    {"name": "metrics", "containerPort": 9090, "protocol": "TCP"},
                    {"containerPort": 5353, "protocol": "UDP", "hostPort": 5353}
                ],
                "env": [
                    {"name": "LOG_LEVEL", "value": "info"},
                    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "POD_IP", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}}},
                    {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}}
                ],
                "resources": {
                    "requests": {"cpu": "250m", "memory": "256Mi"},
                    "limits": {"cpu": "1", "memory": "512Mi", "example.com/gpu": "1"}
                },
                "livenessProbe": {
                    "httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"},
                    "initialDelaySeconds": 5, "periodSeconds": 10, "failureThreshold": 3, "successThreshold": 1
                },
                "readinessProbe": {"tcpSocket": {"port": 8080}, "successThreshold": 2},
                "startupProbe": {"exec": {"command": ["cat", "/tmp/ready"]}, "failureThreshold": 30},
                "volumeMounts": [
                    {"name": "cache", "mountPath": "/cache"},
                    {"name": "config", "mountPath": "/etc/web", "readOnly": true}
                ]
            }, {
                "name": "sidecar",
                "image": "busybox",
                "ports": [{"name": "admin", "containerPort": 8081}]
            }],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{
                        "matchExpressions": [
                            {"key": "zone", "operator": "In", "values": ["a", "b"]},
                            {"key": "cores", "operator": "Gt", "values": ["4"]},
                            {"key": "spot", "operator": "DoesNotExist"}
                        ],
                        "matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["node-9"]}]
                    }]},
                    "preferredDuringSchedulingIgnoredDuringExecution": [{
                        "weight": 50,
                        "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}
                    }]
                },
                "podAntiAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [{
                        "weight": 100,
                        "podAffinityTerm": {
                            "labelSelector": {"matchLabels": {"app": "web"}},
                            "topologyKey": "kubernetes.io/hostname"
                        }
                    }]
                }
            },
            "tolerations": [
                {"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
                 "tolerationSeconds": 300},
                {"operator": "Exists"}
            ],
            "topologySpreadConstraints": [{
                "maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule", "minDomains": 2,
                "labelSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]}
            }],
            "volumes": [
                {"name": "cache", "emptyDir": {}},
                {"name": "config", "configMap": {"name": "web-config"}}
            ]
        })
    }

    fn valid_pod() -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "web-7f9c-x2k4p", "namespace": "shop", "labels": {"app": "web"}},
            "spec": pod_spec_json()
        }))
        .unwrap()
    }

    fn valid_deployment() -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web"},
                             "matchExpressions": [{"key": "track", "operator": "NotIn", "values": ["canary"]}]},
                "template": {"metadata": {"labels": {"app": "web", "track": "stable"}}, "spec": pod_spec_json()},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
                "minReadySeconds": 5,
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600
            }
        }))
        .unwrap()
    }

    fn valid_replica_set() -> ReplicaSet {
        let d = valid_deployment();
        ReplicaSet {
            metadata: ObjectMeta::named("web-7f9c").in_namespace("shop"),
            spec: ReplicaSetSpec {
                replicas: Some(3),
                min_ready_seconds: None,
                selector: d.spec.selector,
                template: d.spec.template,
            },
            status: None,
        }
    }

    fn valid_service() -> Service {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {
                "type": "NodePort",
                "selector": {"app": "web"},
                "clusterIP": "10.96.12.7",
                "clusterIPs": ["10.96.12.7"],
                "ports": [
                    {"name": "http", "port": 80, "targetPort": "http", "nodePort": 30080},
                    {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 5353},
                    {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 5353}
                ],
                "sessionAffinity": "ClientIP",
                "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}},
                "externalTrafficPolicy": "Local"
            }
        }))
        .unwrap()
    }

    fn c0(p: &mut Pod) -> &mut Container {
        &mut p.spec.containers[0]
    }

    #[test]
    fn realistic_objects_of_every_kind_pass() {
        assert_eq!(fields(validate_pod(&valid_pod())), Vec::<String>::new());
        assert_eq!(fields(validate_deployment(&valid_deployment())), Vec::<String>::new());
        assert_eq!(fields(validate_replica_set(&valid_replica_set())), Vec::<String>::new());
        assert_eq!(fields(validate_service(&valid_service())), Vec::<String>::new());

        let headless: Service = serde_json::from_value(json!({
            "metadata": {"name": "db", "namespace": "shop"},
            "spec": {"clusterIP": "None", "selector": {"app": "db"}}
        }))
        .unwrap();
        assert_eq!(fields(validate_service(&headless)), Vec::<String>::new());
        let external: Service = serde_json::from_value(json!({
            "metadata": {"name": "mail", "namespace": "shop"},
            "spec": {"type": "ExternalName", "externalName": "mail.example.com"}
        }))
        .unwrap();
        assert_eq!(fields(validate_service(&external)), Vec::<String>::new());

        let endpoints: Endpoints = serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "shop"},
            "subsets": [{
                "addresses": [{"ip": "10.244.1.7", "nodeName": "node-1", "targetRef": {"kind": "Pod", "name": "web-0"}}],
                "notReadyAddresses": [{"ip": "fd00:10:244::8", "hostname": "web-1"}],
                "ports": [{"name": "http", "port": 8080}, {"name": "dns", "port": 53, "protocol": "UDP"}]
            }]
        }))
        .unwrap();
        assert_eq!(fields(validate_endpoints(&endpoints)), Vec::<String>::new());

        let node: Node = serde_json::from_value(json!({
            "metadata": {"name": "node-1.example.com", "labels": {"kubernetes.io/hostname": "node-1"}},
            "spec": {
                "podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24", "fd00:10:244:1::/64"],
                "taints": [
                    {"key": "dedicated", "value": "web", "effect": "NoSchedule"},
                    {"key": "dedicated", "value": "web", "effect": "NoExecute"}
                ]
            }
        }))
        .unwrap();
        assert_eq!(fields(validate_node(&node)), Vec::<String>::new());

        let lease: Lease = serde_json::from_value(json!({
            "metadata": {"name": "node-1", "namespace": "kube-node-lease"},
            "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40, "leaseTransitions": 0}
        }))
        .unwrap();
        assert_eq!(fields(validate_lease(&lease)), Vec::<String>::new());

        let event: Event = serde_json::from_value(json!({
            "metadata": {"name": "web-0.17f3a2b4c5d6e7f8", "namespace": "shop"},
            "involvedObject": {"kind": "Pod", "name": "web-0", "namespace": "shop"},
            "reason": "Scheduled", "count": 1
        }))
        .unwrap();
        assert_eq!(fields(validate_event(&event)), Vec::<String>::new());

        let ns: Namespace = serde_json::from_value(json!({
            "metadata": {"name": "shop"}, "spec": {"finalizers": ["kubernetes"]}
        }))
        .unwrap();
        assert_eq!(fields(validate_namespace(&ns)), Vec::<String>::new());
    }

    #[test]
    fn each_broken_pod_reports_the_exact_field() {
        type Break = fn(&mut Pod);
        let cases: &[(&str, Break, &str)] = &[
            ("namespace malformed", |p| p.metadata.namespace = Some("Shop".into()), "metadata.namespace"),
            ("no containers", |p| p.spec.containers.clear(), "spec.containers"),
            ("container name upper case", |p| c0(p).name = "Web".into(), "spec.containers[0].name"),
            ("container name missing", |p| c0(p).name.clear(), "spec.containers[0].name"),
            ("container name reused by init", |p| c0(p).name = "migrate".into(), "spec.containers[0].name"),
            ("image missing", |p| p.spec.containers[1].image = " ".into(), "spec.containers[1].image"),
            ("init image missing", |p| p.spec.init_containers[0].image.clear(), "spec.initContainers[0].image"),
            (
                "pull policy",
                |p| c0(p).image_pull_policy = Some("Sometimes".into()),
                "spec.containers[0].imagePullPolicy",
            ),
            ("port zero", |p| c0(p).ports[1].container_port = 0, "spec.containers[0].ports[1].containerPort"),
            ("port too big", |p| c0(p).ports[0].container_port = 70000, "spec.containers[0].ports[0].containerPort"),
            (
                "port name digits only",
                |p| c0(p).ports[0].name = Some("8080".into()),
                "spec.containers[0].ports[0].name",
            ),
            (
                "port name reused in another container",
                |p| p.spec.containers[1].ports[0].name = Some("http".into()),
                "spec.containers[1].ports[0].name",
            ),
            ("protocol", |p| c0(p).ports[0].protocol = Some("HTTP".into()), "spec.containers[0].ports[0].protocol"),
            ("host port", |p| c0(p).ports[2].host_port = Some(-1), "spec.containers[0].ports[2].hostPort"),
            ("host ip", |p| c0(p).ports[2].host_ip = Some("localhost".into()), "spec.containers[0].ports[2].hostIP"),
            ("env name", |p| c0(p).env[0].name = "1LOG".into(), "spec.containers[0].env[0].name"),
            ("env name missing", |p| c0(p).env[0].name.clear(), "spec.containers[0].env[0].name"),
            ("value and valueFrom", |p| c0(p).env[1].value = Some("x".into()), "spec.containers[0].env[1].valueFrom"),
            (
                "valueFrom without source",
                |p| c0(p).env[1].value_from = Some(EnvVarSource::default()),
                "spec.containers[0].env[1].valueFrom",
            ),
            (
                "unsupported fieldRef",
                |p| {
                    c0(p).env[1].value_from.as_mut().unwrap().field_ref.as_mut().unwrap().field_path =
                        "spec.hostname".into()
                },
                "spec.containers[0].env[1].valueFrom.fieldRef.fieldPath",
            ),
            (
                "fieldRef label key",
                |p| {
                    c0(p).env[3].value_from.as_mut().unwrap().field_ref.as_mut().unwrap().field_path =
                        "metadata.labels['a b']".into()
                },
                "spec.containers[0].env[3].valueFrom.fieldRef.fieldPath",
            ),
            (
                "fieldRef apiVersion",
                |p| {
                    c0(p).env[2].value_from.as_mut().unwrap().field_ref.as_mut().unwrap().api_version =
                        Some("v2".into())
                },
                "spec.containers[0].env[2].valueFrom.fieldRef.apiVersion",
            ),
            (
                "bad quantity",
                |p| _ = c0(p).resources.requests.insert("cpu".into(), "lots".into()),
                "spec.containers[0].resources.requests[cpu]",
            ),
            (
                "negative quantity",
                |p| _ = c0(p).resources.limits.insert("memory".into(), "-1Gi".into()),
                "spec.containers[0].resources.limits[memory]",
            ),
            (
                "request above limit",
                |p| _ = c0(p).resources.requests.insert("cpu".into(), "1500m".into()),
                "spec.containers[0].resources.requests[cpu]",
            ),
            (
                "resource name",
                |p| _ = c0(p).resources.limits.insert("a b".into(), "1".into()),
                "spec.containers[0].resources.limits[a b]",
            ),
            (
                "probe without handler",
                |p| c0(p).liveness_probe = Some(Probe::default()),
                "spec.containers[0].livenessProbe",
            ),
            (
                "probe with two handlers",
                |p| c0(p).readiness_probe.as_mut().unwrap().exec = Some(ExecAction { command: vec!["true".into()] }),
                "spec.containers[0].readinessProbe",
            ),
            (
                "probe exec without command",
                |p| c0(p).startup_probe.as_mut().unwrap().exec.as_mut().unwrap().command.clear(),
                "spec.containers[0].startupProbe.exec.command",
            ),
            (
                "probe threshold zero",
                |p| c0(p).liveness_probe.as_mut().unwrap().failure_threshold = Some(0),
                "spec.containers[0].livenessProbe.failureThreshold",
            ),
            (
                "liveness success threshold above one",
                |p| c0(p).liveness_probe.as_mut().unwrap().success_threshold = Some(2),
                "spec.containers[0].livenessProbe.successThreshold",
            ),
            (
                "probe negative seconds",
                |p| c0(p).liveness_probe.as_mut().unwrap().initial_delay_seconds = Some(-5),
                "spec.containers[0].livenessProbe.initialDelaySeconds",
            ),
            (
                "probe http port name",
                |p| c0(p).liveness_probe.as_mut().unwrap().http_get.as_mut().unwrap().port = "HTTP_PORT".into(),
                "spec.containers[0].livenessProbe.httpGet.port",
            ),
            (
                "probe scheme",
                |p| c0(p).liveness_probe.as_mut().unwrap().http_get.as_mut().unwrap().scheme = Some("FTP".into()),
                "spec.containers[0].livenessProbe.httpGet.scheme",
            ),
            (
                "probe tcp port number",
                |p| c0(p).readiness_probe.as_mut().unwrap().tcp_socket.as_mut().unwrap().port = IntOrString::Int(0),
                "spec.containers[0].readinessProbe.tcpSocket.port",
            ),
            (
                "probe on init container",
                |p| p.spec.init_containers[0].readiness_probe = p.spec.containers[0].readiness_probe.clone(),
                "spec.initContainers[0].readinessProbe",
            ),
            ("restart policy", |p| p.spec.restart_policy = Some("Sometimes".into()), "spec.restartPolicy"),
            (
                "negative grace period",
                |p| p.spec.termination_grace_period_seconds = Some(-1),
                "spec.terminationGracePeriodSeconds",
            ),
            ("node name", |p| p.spec.node_name = Some("Node_1".into()), "spec.nodeName"),
            (
                "toleration operator",
                |p| p.spec.tolerations[0].operator = Some("Like".into()),
                "spec.tolerations[0].operator",
            ),
            (
                "toleration Exists with value",
                |p| p.spec.tolerations[1].value = Some("x".into()),
                "spec.tolerations[1].value",
            ),
            (
                "toleration effect",
                |p| p.spec.tolerations[0].effect = Some("NoRun".into()),
                "spec.tolerations[0].effect",
            ),
            (
                "tolerationSeconds without NoExecute",
                |p| p.spec.tolerations[0].toleration_seconds = Some(60),
                "spec.tolerations[0].tolerationSeconds",
            ),
            (
                "toleration Equal without key",
                |p| p.spec.tolerations[2].operator = Some("Equal".into()),
                "spec.tolerations[2].operator",
            ),
            (
                "node selector value",
                |p| _ = p.spec.node_selector.insert("disk".into(), "fast ssd".into()),
                "spec.nodeSelector[disk]",
            ),
            (
                "node affinity In without values",
                |p| node_terms(p)[0].match_expressions[0].values.clear(),
                "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]\
                 .matchExpressions[0].values",
            ),
            (
                "node affinity Gt not an integer",
                |p| node_terms(p)[0].match_expressions[1].values = vec!["four".into()],
                "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]\
                 .matchExpressions[1].values",
            ),
            (
                "node affinity DoesNotExist with values",
                |p| node_terms(p)[0].match_expressions[2].values = vec!["x".into()],
                "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]\
                 .matchExpressions[2].values",
            ),
            (
                "node affinity operator",
                |p| node_terms(p)[0].match_expressions[0].operator = "Near".into(),
                "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]\
                 .matchExpressions[0].operator",
            ),
            (
                "node affinity field key",
                |p| node_terms(p)[0].match_fields[0].key = "metadata.uid".into(),
                "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]\
                 .matchFields[0].key",
            ),
            (
                "node affinity no terms",
                |p| node_terms(p).clear(),
                "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms",
            ),
            (
                "preferred weight",
                |p| node_affinity(p).preferred_during_scheduling_ignored_during_execution[0].weight = 0,
                "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight",
            ),
            (
                "pod anti-affinity weight",
                |p| anti_affinity(p).weight = 101,
                "spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight",
            ),
            (
                "pod anti-affinity topology key",
                |p| anti_affinity(p).pod_affinity_term.topology_key.clear(),
                "spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm\
                 .topologyKey",
            ),
            (
                "pod anti-affinity selector",
                |p| {
                    let sel = anti_affinity(p).pod_affinity_term.label_selector.as_mut().unwrap();
                    sel.match_expressions.push(LabelSelectorRequirement {
                        key: "tier".into(),
                        operator: "Exists".into(),
                        values: vec!["x".into()],
                    });
                },
                "spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm\
                 .labelSelector.matchExpressions[0].values",
            ),
            (
                "max skew",
                |p| p.spec.topology_spread_constraints[0].max_skew = 0,
                "spec.topologySpreadConstraints[0].maxSkew",
            ),
            (
                "whenUnsatisfiable",
                |p| p.spec.topology_spread_constraints[0].when_unsatisfiable = "Whatever".into(),
                "spec.topologySpreadConstraints[0].whenUnsatisfiable",
            ),
            (
                "duplicate spread constraint",
                |p| p.spec.topology_spread_constraints.push(p.spec.topology_spread_constraints[0].clone()),
                "spec.topologySpreadConstraints[1]",
            ),
            (
                "volume name",
                |p| {
                    let scratch = Volume { name: "Scratch".into(), empty_dir: Some(json!({})), ..Volume::default() };
                    p.spec.volumes.push(scratch);
                },
                "spec.volumes[2].name",
            ),
            ("duplicate volume", |p| p.spec.volumes.push(p.spec.volumes[0].clone()), "spec.volumes[2].name"),
            (
                "mount of a missing volume",
                |p| c0(p).volume_mounts[1].name = "secrets".into(),
                "spec.containers[0].volumeMounts[1].name",
            ),
            (
                "duplicate mount path",
                |p| c0(p).volume_mounts[1].mount_path = "/cache".into(),
                "spec.containers[0].volumeMounts[1].mountPath",
            ),
        ];
        for (what, break_it, field) in cases {
            let mut pod = valid_pod();
            break_it(&mut pod);
            assert_eq!(fields(validate_pod(&pod)), vec![field.to_string()], "{what}");
        }
    }

    fn node_affinity(p: &mut Pod) -> &mut NodeAffinity {
        p.spec.affinity.as_mut().unwrap().node_affinity.as_mut().unwrap()
    }

    fn node_terms(p: &mut Pod) -> &mut Vec<NodeSelectorTerm> {
        let required = node_affinity(p).required_during_scheduling_ignored_during_execution.as_mut();
        &mut required.unwrap().node_selector_terms
    }

    fn anti_affinity(p: &mut Pod) -> &mut WeightedPodAffinityTerm {
        let anti = p.spec.affinity.as_mut().unwrap().pod_anti_affinity.as_mut().unwrap();
        &mut anti.preferred_during_scheduling_ignored_during_execution[0]
    }

    #[test]
    fn a_pod_with_several_problems_reports_all_of_them() {
        let mut pod = valid_pod();
        pod.metadata.name = Some("Web".into());
        pod.spec.containers[0].ports[1].container_port = 0;
        pod.spec.containers[0].env[0].name = "1X".into();
        pod.spec.containers[1].image.clear();
        pod.spec.restart_policy = Some("Sometimes".into());
        pod.spec.tolerations[0].effect = Some("Nope".into());
        let errs = validate_pod(&pod).unwrap_err();
        let got: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            got,
            [
                "metadata.name",
                "spec.containers[0].ports[1].containerPort",
                "spec.containers[0].env[0].name",
                "spec.containers[1].image",
                "spec.restartPolicy",
                "spec.tolerations[0].effect",
            ]
        );
        assert!(errs.to_string().contains("spec.containers[0].ports[1].containerPort: must be 1..65535"));
    }

    #[test]
    fn each_broken_deployment_reports_the_exact_field() {
        type Break = fn(&mut Deployment);
        let cases: &[(&str, Break, &str)] = &[
            ("negative replicas", |d| d.spec.replicas = Some(-1), "spec.replicas"),
            ("empty selector", |d| d.spec.selector = LabelSelector::default(), "spec.selector"),
            (
                "selector operator",
                |d| d.spec.selector.match_expressions[0].operator = "Has".into(),
                "spec.selector.matchExpressions[0].operator",
            ),
            (
                "selector label value",
                |d| _ = d.spec.selector.match_labels.insert("app".into(), "a b".into()),
                "spec.selector.matchLabels[app]",
            ),
            (
                "selector misses template",
                |d| _ = d.spec.template.metadata.labels.insert("app".into(), "api".into()),
                "spec.template.metadata.labels",
            ),
            (
                "template label key",
                |d| _ = d.spec.template.metadata.labels.insert("-x".into(), "y".into()),
                "spec.template.metadata.labels[-x]",
            ),
            (
                "template pod spec checked",
                |d| d.spec.template.spec.containers[0].ports[0].container_port = 0,
                "spec.template.spec.containers[0].ports[0].containerPort",
            ),
            (
                "template restart policy",
                |d| d.spec.template.spec.restart_policy = Some("OnFailure".into()),
                "spec.template.spec.restartPolicy",
            ),
            (
                "unknown template restart policy reported once",
                |d| d.spec.template.spec.restart_policy = Some("Sometimes".into()),
                "spec.template.spec.restartPolicy",
            ),
            ("strategy type", |d| d.spec.strategy.type_ = Some("BlueGreen".into()), "spec.strategy.type"),
            (
                "rollingUpdate with Recreate",
                |d| d.spec.strategy.type_ = Some("Recreate".into()),
                "spec.strategy.rollingUpdate",
            ),
            (
                "negative maxSurge",
                |d| d.spec.strategy.rolling_update.as_mut().unwrap().max_surge = Some(IntOrString::Int(-1)),
                "spec.strategy.rollingUpdate.maxSurge",
            ),
            (
                "maxSurge not a percentage",
                |d| d.spec.strategy.rolling_update.as_mut().unwrap().max_surge = Some("25".into()),
                "spec.strategy.rollingUpdate.maxSurge",
            ),
            (
                "maxUnavailable above 100%",
                |d| d.spec.strategy.rolling_update.as_mut().unwrap().max_unavailable = Some("150%".into()),
                "spec.strategy.rollingUpdate.maxUnavailable",
            ),
            (
                "both zero",
                |d| d.spec.strategy.rolling_update.as_mut().unwrap().max_surge = Some("0%".into()),
                "spec.strategy.rollingUpdate.maxUnavailable",
            ),
            ("revision history", |d| d.spec.revision_history_limit = Some(-1), "spec.revisionHistoryLimit"),
            ("progress deadline", |d| d.spec.progress_deadline_seconds = Some(5), "spec.progressDeadlineSeconds"),
            ("min ready", |d| d.spec.min_ready_seconds = Some(-1), "spec.minReadySeconds"),
            ("name", |d| d.metadata.name = Some("Web".into()), "metadata.name"),
        ];
        for (what, break_it, field) in cases {
            let mut d = valid_deployment();
            break_it(&mut d);
            assert_eq!(fields(validate_deployment(&d)), vec![field.to_string()], "{what}");
        }
    }

    #[test]
    fn replica_sets_share_the_workload_and_pod_rules() {
        type Break = fn(&mut ReplicaSet);
        let cases: &[(&str, Break, &str)] = &[
            ("negative replicas", |r| r.spec.replicas = Some(-3), "spec.replicas"),
            ("empty selector", |r| r.spec.selector = LabelSelector::default(), "spec.selector"),
            ("selector misses template", |r| r.spec.template.metadata.labels.clear(), "spec.template.metadata.labels"),
            (
                "template container image",
                |r| r.spec.template.spec.containers[1].image.clear(),
                "spec.template.spec.containers[1].image",
            ),
            (
                "template restart policy",
                |r| r.spec.template.spec.restart_policy = Some("Never".into()),
                "spec.template.spec.restartPolicy",
            ),
        ];
        for (what, break_it, field) in cases {
            let mut rs = valid_replica_set();
            break_it(&mut rs);
            assert_eq!(fields(validate_replica_set(&rs)), vec![field.to_string()], "{what}");
        }
    }

    #[test]
    fn each_broken_service_reports_the_exact_field() {
        type Break = fn(&mut Service);
        let cases: &[(&str, Break, &str)] = &[
            ("dotted name", |s| s.metadata.name = Some("web.v1".into()), "metadata.name"),
            ("type", |s| s.spec.type_ = Some("Ingress".into()), "spec.type"),
            ("no ports", |s| s.spec.ports.clear(), "spec.ports"),
            ("port zero", |s| s.spec.ports[1].port = 0, "spec.ports[1].port"),
            ("missing name among several", |s| s.spec.ports[0].name = None, "spec.ports[0].name"),
            ("name malformed", |s| s.spec.ports[0].name = Some("HTTP".into()), "spec.ports[0].name"),
            ("duplicate name", |s| s.spec.ports[2].name = Some("dns".into()), "spec.ports[2].name"),
            ("duplicate port and protocol", |s| s.spec.ports[2].protocol = Some("UDP".into()), "spec.ports[2]"),
            ("protocol", |s| s.spec.ports[0].protocol = Some("ICMP".into()), "spec.ports[0].protocol"),
            ("node port out of range", |s| s.spec.ports[0].node_port = Some(70000), "spec.ports[0].nodePort"),
            ("node port on ClusterIP", |s| s.spec.type_ = Some("ClusterIP".into()), "spec.ports[0].nodePort"),
            (
                "target port number",
                |s| s.spec.ports[1].target_port = Some(IntOrString::Int(-1)),
                "spec.ports[1].targetPort",
            ),
            (
                "target port name",
                |s| s.spec.ports[0].target_port = Some("web--http".into()),
                "spec.ports[0].targetPort",
            ),
            ("session affinity", |s| s.spec.session_affinity = Some("Cookie".into()), "spec.sessionAffinity"),
            (
                "session timeout",
                |s| {
                    s.spec.session_affinity_config.as_mut().unwrap().client_ip.as_mut().unwrap().timeout_seconds =
                        Some(86_401)
                },
                "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
            ),
            (
                "session config without ClientIP",
                |s| s.spec.session_affinity = Some("None".into()),
                "spec.sessionAffinityConfig",
            ),
            (
                "cluster ip malformed",
                |s| {
                    s.spec.cluster_ip = Some("10.96.12".into());
                    s.spec.cluster_ips.clear();
                },
                "spec.clusterIP",
            ),
            ("cluster ips disagree", |s| s.spec.cluster_ips = vec!["10.96.0.9".into()], "spec.clusterIPs[0]"),
            (
                "headless NodePort",
                |s| {
                    s.spec.cluster_ip = Some("None".into());
                    s.spec.cluster_ips.clear();
                },
                "spec.clusterIP",
            ),
            ("external ip", |s| s.spec.external_ips = vec!["example.com".into()], "spec.externalIPs[0]"),
            (
                "traffic policy",
                |s| s.spec.external_traffic_policy = Some("Nearest".into()),
                "spec.externalTrafficPolicy",
            ),
            ("selector value", |s| _ = s.spec.selector.insert("app".into(), "-web".into()), "spec.selector[app]"),
            (
                "ExternalName without a name",
                |s| {
                    *s = serde_json::from_value(json!({
                        "metadata": {"name": "mail", "namespace": "shop"},
                        "spec": {"type": "ExternalName"}
                    }))
                    .unwrap();
                },
                "spec.externalName",
            ),
        ];
        for (what, break_it, field) in cases {
            let mut svc = valid_service();
            break_it(&mut svc);
            assert_eq!(fields(validate_service(&svc)), vec![field.to_string()], "{what}");
        }
    }

    #[test]
    fn a_service_with_several_problems_reports_all_of_them() {
        let mut svc = valid_service();
        svc.metadata.namespace = Some("Shop".into());
        svc.spec.type_ = Some("ClusterIP".into());
        svc.spec.ports[1].port = 0;
        svc.spec.ports[2].name = None;
        svc.spec.session_affinity_config = None;
        svc.spec.session_affinity = Some("Sticky".into());
        assert_eq!(
            fields(validate_service(&svc)),
            [
                "metadata.namespace",
                "spec.ports[0].nodePort",
                "spec.ports[1].port",
                "spec.ports[2].name",
                "spec.sessionAffinity",
            ]
        );
    }

    #[test]
    fn other_kinds_report_their_broken_fields() {
        let node = |taints: serde_json::Value, cidr: &str| -> Node {
            serde_json::from_value(json!({
                "metadata": {"name": "node-1"},
                "spec": {"podCIDR": cidr, "taints": taints}
            }))
            .unwrap()
        };
        let taint = |key: &str, effect: &str| json!({"key": key, "effect": effect});
        let cases: Vec<(&str, Result<(), FieldErrors>, Vec<&str>)> = vec![
            (
                "node taint key",
                validate_node(&node(json!([taint("a b", "NoSchedule")]), "10.0.0.0/24")),
                vec!["spec.taints[0].key"],
            ),
            (
                "node taint effect",
                validate_node(&node(json!([taint("k", "Evict")]), "10.0.0.0/24")),
                vec!["spec.taints[0].effect"],
            ),
            (
                "node taint effect missing",
                validate_node(&node(json!([taint("k", "")]), "10.0.0.0/24")),
                vec!["spec.taints[0].effect"],
            ),
            (
                "node duplicate taint",
                validate_node(&node(json!([taint("k", "NoSchedule"), taint("k", "NoSchedule")]), "10.0.0.0/24")),
                vec!["spec.taints[1]"],
            ),
            ("node pod cidr", validate_node(&node(json!([]), "10.0.0.0/40")), vec!["spec.podCIDR"]),
            (
                "node namespaced",
                validate_node(&Node { metadata: ObjectMeta::named("n").in_namespace("default"), ..Node::default() }),
                vec!["metadata.namespace"],
            ),
            (
                "lease duration",
                validate_lease(&Lease {
                    metadata: ObjectMeta::named("n").in_namespace("kube-node-lease"),
                    spec: LeaseSpec { lease_duration_seconds: Some(-5), ..LeaseSpec::default() },
                }),
                vec!["spec.leaseDurationSeconds"],
            ),
            (
                "event without involved object",
                validate_event(&Event {
                    metadata: ObjectMeta::named("e.1").in_namespace("default"),
                    ..Event::default()
                }),
                vec!["involvedObject.kind", "involvedObject.name"],
            ),
            (
                "endpoints ip and port",
                validate_endpoints(
                    &serde_json::from_value(json!({
                        "metadata": {"name": "web", "namespace": "shop"},
                        "subsets": [{
                            "addresses": [{"ip": "10.0.0.1"}],
                            "notReadyAddresses": [{"ip": "10.0.0.300"}],
                            "ports": [{"port": 0}]
                        }]
                    }))
                    .unwrap(),
                ),
                vec!["subsets[0].notReadyAddresses[0].ip", "subsets[0].ports[0].port"],
            ),
            (
                "endpoints port protocol",
                validate_endpoints(
                    &serde_json::from_value(json!({
                        "metadata": {"name": "web", "namespace": "shop"},
                        "subsets": [{"ports": [{"port": 80, "protocol": "tcp"}]}]
                    }))
                    .unwrap(),
                ),
                vec!["subsets[0].ports[0].protocol"],
            ),
            (
                "namespace dotted name",
                validate_namespace(&Namespace { metadata: ObjectMeta::named("a.b"), ..Namespace::default() }),
                vec!["metadata.name"],
            ),
            (
                "namespace finalizer",
                validate_namespace(&Namespace {
                    metadata: ObjectMeta::named("a"),
                    spec: Some(NamespaceSpec { finalizers: vec!["no good".into()] }),
                    status: None,
                }),
                vec!["spec.finalizers[0]"],
            ),
        ];
        for (what, result, expected) in cases {
            assert_eq!(fields(result), expected, "{what}");
        }
    }

    #[test]
    fn resource_validate_calls_the_kind_validators() {
        let mut pod = valid_pod();
        assert!(pod.validate().is_ok());
        pod.spec.containers.clear();
        assert_eq!(pod.validate().unwrap_err().to_string(), "spec.containers: required value");
    }

    #[test]
    fn percentages_and_counts_follow_the_rollout_rules() {
        let cases = [
            (IntOrString::Int(0), true, true),
            (IntOrString::Int(3), true, true),
            (IntOrString::Int(-1), false, false),
            (IntOrString::from("0%"), true, true),
            (IntOrString::from("100%"), true, true),
            (IntOrString::from("150%"), true, false),
            (IntOrString::from("%"), false, false),
            (IntOrString::from("-5%"), false, false),
            (IntOrString::from("+5%"), false, false),
            (IntOrString::from("5"), false, false),
        ];
        for (v, surge_ok, unavailable_ok) in cases {
            assert_eq!(count_or_percent(&v, false).is_ok(), surge_ok, "maxSurge {v}");
            assert_eq!(count_or_percent(&v, true).is_ok(), unavailable_ok, "maxUnavailable {v}");
        }
    }
}
