//! Node identities: a node agent may write only its own Node, its own Lease and its own pods.

use orch_core::DynamicObject;

use super::{RequestAttributes, UserInfo};

/// The group every node identity belongs to.
pub const NODE_GROUP: &str = "system:nodes";
/// Node identities are named `system:node:<node name>`.
pub const NODE_USER_PREFIX: &str = "system:node:";

/// The node a user speaks for, if it is a node identity (`system:node:<name>` in `system:nodes`).
///
/// ```
/// use orch_api::server::auth::{UserInfo, node_name_of};
/// let user = UserInfo { name: "system:node:n1".into(), groups: vec!["system:nodes".into()] };
/// assert_eq!(node_name_of(&user), Some("n1"));
/// ```
pub fn node_name_of(user: &UserInfo) -> Option<&str> {
    user.name.strip_prefix(NODE_USER_PREFIX).filter(|n| !n.is_empty() && user.in_group(super::NODE_GROUP))
}

/// The rules for node identities, as Kubernetes' Node authorizer and NodeRestriction admission
/// apply them: read anything; write the node's own Node (and its status) and its own Lease in
/// `kube-node-lease`; update the status of, and delete, pods bound to it; create Events.
#[derive(Clone, Copy, Debug, Default)]
pub struct NodeRestriction;

impl NodeRestriction {
    /// Whether `node` may do `attrs`. `name` is the object's name (from the path, or the body of a
    /// create); `current` is the stored object for writes to pods.
    pub fn allows(node: &str, attrs: &RequestAttributes, name: &str, current: Option<&DynamicObject>) -> bool {
        match attrs.verb.as_str() {
            "get" | "list" | "watch" => return true,
            "create" | "update" | "patch" | "delete" => {}
            _ => return false,
        }
        match (attrs.group.as_str(), attrs.resource.as_str()) {
            ("", "nodes") | ("", "nodes/status") => name == node,
            ("coordination.k8s.io", "leases") => attrs.namespace == "kube-node-lease" && name == node,
            ("", "pods/status") | ("", "pods") if attrs.verb != "create" => {
                (attrs.resource == "pods/status" || attrs.verb == "delete")
                    && current.and_then(|p| p.field_str("spec.nodeName")).as_deref() == Some(node)
            }
            ("", "events") | ("events.k8s.io", "events") => attrs.verb == "create",
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orch_core::ObjectMeta;

    fn attrs(verb: &str, group: &str, resource: &str, ns: &str) -> RequestAttributes {
        RequestAttributes {
            verb: verb.into(),
            group: group.into(),
            resource: resource.into(),
            namespace: ns.into(),
            name: String::new(),
        }
    }

    fn pod_on(node: &str) -> DynamicObject {
        let mut pod = DynamicObject::new("v1", "Pod", ObjectMeta::named("p"));
        pod.data.insert("spec".into(), serde_json::json!({"nodeName": node}));
        pod
    }

    #[test]
    fn node_writes_only_its_own_objects() {
        type Case = (&'static str, &'static str, &'static str, &'static str, &'static str, Option<DynamicObject>, bool);
        let cases: &[Case] = &[
            ("update", "", "nodes/status", "", "n1", None, true),
            ("create", "", "nodes", "", "n1", None, true),
            ("update", "", "nodes/status", "", "n2", None, false),
            ("update", "coordination.k8s.io", "leases", "kube-node-lease", "n1", None, true),
            ("update", "coordination.k8s.io", "leases", "kube-node-lease", "n2", None, false),
            ("update", "coordination.k8s.io", "leases", "default", "n1", None, false),
            ("patch", "", "pods/status", "default", "p", Some(pod_on("n1")), true),
            ("patch", "", "pods/status", "default", "p", Some(pod_on("n2")), false),
            ("delete", "", "pods", "default", "p", Some(pod_on("n1")), true),
            ("update", "", "pods", "default", "p", Some(pod_on("n1")), false),
            ("create", "", "pods", "default", "p", None, false),
            ("delete", "apps", "deployments", "default", "d", None, false),
            ("create", "", "events", "default", "e", None, true),
            ("list", "", "secrets", "", "", None, true),
        ];
        for (verb, group, resource, ns, name, current, want) in cases {
            let got = NodeRestriction::allows("n1", &attrs(verb, group, resource, ns), name, current.as_ref());
            assert_eq!(got, *want, "{verb} {group}/{resource} {ns}/{name}");
        }
    }

    #[test]
    fn node_identity_needs_the_prefix_and_the_group() {
        let user = |name: &str, groups: &[&str]| UserInfo {
            name: name.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        };
        assert_eq!(node_name_of(&user("system:node:a", &[NODE_GROUP])), Some("a"));
        assert_eq!(node_name_of(&user("system:node:a", &[])), None);
        assert_eq!(node_name_of(&user("alice", &[NODE_GROUP])), None);
    }
}
