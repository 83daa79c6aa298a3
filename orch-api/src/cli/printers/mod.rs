//! Table printers: one row layout per built-in kind (kubectl's columns) and `NAME AGE` for every other kind.

mod cluster;
mod network;
mod workloads;

pub use workloads::{pod_status, selector};

use std::collections::BTreeMap;

use orch_core::{DynamicObject, KindInfo, Timestamp};
use serde_json::Value;

use super::duration::age;
use super::kinds::kind_label;
use super::table::Table;

/// How to lay out a table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TableOptions {
    /// `-o wide`: add the kind's extra columns.
    pub wide: bool,
    /// `-A`: add a NAMESPACE column in front.
    pub namespace_column: bool,
    /// `--show-labels`: add a LABELS column at the end.
    pub show_labels: bool,
    /// Print names as `kind.group/name` (when several kinds share one output).
    pub kind_prefix: bool,
}

/// The table of `objects` of kind `info`, as `orchctl get` prints it, with ages seen at `now`.
///
/// ```
/// use orch_api::cli::printers::{TableOptions, table};
/// use orch_core::{DynamicObject, KindRegistry, ObjectMeta, Timestamp};
/// let kinds = KindRegistry::with_builtins();
/// let ns = DynamicObject::new("v1", "Namespace", ObjectMeta::named("default"));
/// let t = table(kinds.by_kind("v1", "Namespace").unwrap(), &[&ns], TableOptions::default(), Timestamp::EPOCH);
/// assert_eq!(t.render(), "NAME      STATUS   AGE\ndefault   Active   <unknown>\n");
/// ```
pub fn table(info: &KindInfo, objects: &[&DynamicObject], opts: TableOptions, now: Timestamp) -> Table {
    let rt = &info.resource_type;
    let layout: (&[&str], &[&str], RowFn) = match (rt.group.as_ref(), rt.kind.as_ref()) {
        ("", "Pod") => (workloads::POD_COLUMNS, workloads::POD_WIDE, workloads::pod_row),
        ("apps", "Deployment") => (workloads::DEPLOY_COLUMNS, workloads::TEMPLATE_WIDE, workloads::deployment_row),
        ("apps", "ReplicaSet") => (workloads::RS_COLUMNS, workloads::TEMPLATE_WIDE, workloads::replica_set_row),
        ("", "Service") => (network::SERVICE_COLUMNS, network::SERVICE_WIDE, network::service_row),
        ("", "Endpoints") => (network::ENDPOINTS_COLUMNS, &[], network::endpoints_row),
        ("", "Node") => (cluster::NODE_COLUMNS, cluster::NODE_WIDE, cluster::node_row),
        ("", "Namespace") => (cluster::NAMESPACE_COLUMNS, &[], cluster::namespace_row),
        ("", "Event") => (cluster::EVENT_COLUMNS, &[], cluster::event_row),
        ("coordination.k8s.io", "Lease") => (cluster::LEASE_COLUMNS, &[], cluster::lease_row),
        _ => (&["NAME", "AGE"], &[], generic_row),
    };
    let (columns, wide_columns, row) = layout;
    let mut header: Vec<&str> = columns.to_vec();
    if opts.wide {
        header.extend_from_slice(wide_columns);
    }
    if opts.show_labels {
        header.push("LABELS");
    }
    let name_column = if opts.kind_prefix { header.iter().position(|h| *h == "NAME") } else { None };
    let prefix = kind_label(info);
    let mut t = Table::new(header);
    for obj in objects {
        let mut cells = row(obj, opts.wide, now);
        if let Some(cell) = name_column.and_then(|i| cells.get_mut(i)) {
            *cell = format!("{prefix}/{cell}");
        }
        if opts.show_labels {
            cells.push(labels(&obj.metadata.labels));
        }
        t.push(cells);
    }
    if opts.namespace_column {
        t.prepend_column("NAMESPACE", objects.iter().map(|o| o.namespace().to_owned()).collect());
    }
    t
}

/// Builds one row: the object, whether `-o wide` was asked for, and the time ages are measured at.
type RowFn = fn(&DynamicObject, bool, Timestamp) -> Vec<String>;

fn generic_row(obj: &DynamicObject, _wide: bool, now: Timestamp) -> Vec<String> {
    vec![obj.name().to_owned(), object_age(obj, now)]
}

/// The AGE cell of an object.
fn object_age(obj: &DynamicObject, now: Timestamp) -> String {
    age(obj.metadata.creation_timestamp, now)
}

/// The value at a dotted path below the object's top-level fields (`status.podIP`).
fn field<'a>(obj: &'a DynamicObject, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut cur = obj.data.get(parts.next()?)?;
    for p in parts {
        cur = cur.get(p)?;
    }
    Some(cur)
}

/// A string field, or `None` when absent, empty or not a string.
fn text<'a>(obj: &'a DynamicObject, path: &str) -> Option<&'a str> {
    field(obj, path).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// An integer field, or 0.
fn int(obj: &DynamicObject, path: &str) -> i64 {
    field(obj, path).and_then(Value::as_i64).unwrap_or(0)
}

/// An array field, or an empty slice.
fn list<'a>(obj: &'a DynamicObject, path: &str) -> &'a [Value] {
    field(obj, path).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// `<none>` for an empty cell, as kubectl prints it.
fn or_none(s: impl Into<String>) -> String {
    let s = s.into();
    if s.is_empty() { "<none>".to_owned() } else { s }
}

/// `k=v,k2=v2`, or `<none>`.
fn labels(map: &BTreeMap<String, String>) -> String {
    or_none(map.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","))
}

/// A timestamp field parsed, if present and well-formed.
fn timestamp(obj: &DynamicObject, path: &str) -> Option<Timestamp> {
    text(obj, path).and_then(|s| s.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use orch_core::{KindRegistry, ObjectMeta};

    #[test]
    fn unknown_kinds_get_name_and_age() {
        let info = KindInfo::of::<orch_core::kinds::Lease>();
        let mut info = info;
        info.resource_type =
            orch_core::ResourceType::new("example.com", "v1", "Widget", "widgets", orch_core::Scope::Namespaced);
        let mut w = DynamicObject::new("example.com/v1", "Widget", ObjectMeta::named("w1"));
        w.metadata.creation_timestamp = Some(Timestamp::from_unix(100, 0));
        let t = table(&info, &[&w], TableOptions::default(), Timestamp::from_unix(105, 0));
        assert_eq!(t.render(), "NAME   AGE\nw1     5s\n");
    }

    #[test]
    fn all_namespaces_and_labels_add_columns() {
        let kinds = KindRegistry::with_builtins();
        let info = kinds.by_kind("coordination.k8s.io/v1", "Lease").unwrap();
        let l = DynamicObject::new(
            "coordination.k8s.io/v1",
            "Lease",
            ObjectMeta::named("n1").in_namespace("kube-node-lease").with_label("a", "b"),
        );
        let opts = TableOptions { namespace_column: true, show_labels: true, ..Default::default() };
        let t = table(info, &[&l], opts, Timestamp::EPOCH);
        assert_eq!(
            t.render(),
            "NAMESPACE         NAME   HOLDER   AGE         LABELS\nkube-node-lease   n1     <none>   <unknown>   a=b\n"
        );
    }
}
