//! Store keys of objects: `/registry/{group}/{plural}/{namespace}/{name}`.

use orch_core::ResourceType;

/// The key prefix every object key starts with.
pub const ROOT: &str = "/registry/";

/// The group segment of a key: the group, or `core` for the core group.
fn group_segment(rt: &ResourceType) -> &str {
    if rt.group.is_empty() { "core" } else { &rt.group }
}

/// The key of one object (`namespace` is ignored for cluster-scoped kinds).
///
/// ```
/// use orch_core::{Resource, kinds::{Node, Pod}};
/// use orch_store::registry::keys::object_key;
/// assert_eq!(object_key(&Pod::resource_type(), "default", "web"), "/registry/core/pods/default/web");
/// assert_eq!(object_key(&Node::resource_type(), "", "n1"), "/registry/core/nodes/n1");
/// ```
pub fn object_key(rt: &ResourceType, namespace: &str, name: &str) -> String {
    if rt.namespaced() {
        format!("{ROOT}{}/{}/{namespace}/{name}", group_segment(rt), rt.plural)
    } else {
        format!("{ROOT}{}/{}/{name}", group_segment(rt), rt.plural)
    }
}

/// The prefix of every object of a type in one namespace, or in all with `None`.
///
/// ```
/// use orch_core::{Resource, kinds::Deployment};
/// use orch_store::registry::keys::type_prefix;
/// assert_eq!(type_prefix(&Deployment::resource_type(), Some("shop")), "/registry/apps/deployments/shop/");
/// assert_eq!(type_prefix(&Deployment::resource_type(), None), "/registry/apps/deployments/");
/// ```
pub fn type_prefix(rt: &ResourceType, namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) if rt.namespaced() => format!("{ROOT}{}/{}/{ns}/", group_segment(rt), rt.plural),
        _ => format!("{ROOT}{}/{}/", group_segment(rt), rt.plural),
    }
}
