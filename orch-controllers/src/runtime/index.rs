//! Ready-made secondary indexes for the cache: by label, by controller owner, by node, by namespace.

use std::sync::Arc;

use orch_core::Resource;
use orch_core::kinds::Pod;

use super::IndexFn;

/// Index name of [`by_owner_uid`].
pub const OWNER_UID_INDEX: &str = "owner-uid";
/// Index name of [`by_controller_uid`].
pub const CONTROLLER_UID_INDEX: &str = "controller-uid";
/// Index name of [`by_node_name`].
pub const NODE_NAME_INDEX: &str = "node-name";
/// Index name of [`by_namespace`].
pub const NAMESPACE_INDEX: &str = "namespace";
/// Index name of [`orphans_by_namespace`].
pub const ORPHAN_INDEX: &str = "orphans";

/// Files an object under the value of one label (objects without it are not filed).
///
/// ```
/// use orch_controllers::index::by_label;
/// use orch_core::{ObjectMeta, kinds::Pod};
/// let f = by_label::<Pod>("app");
/// let pod = Pod { metadata: ObjectMeta::named("p").with_label("app", "web"), ..Default::default() };
/// assert_eq!(f(&pod), vec!["web".to_string()]);
/// ```
pub fn by_label<K: Resource>(key: &str) -> IndexFn<K> {
    let key = key.to_owned();
    Arc::new(move |o: &K| o.meta().labels.get(&key).cloned().into_iter().collect())
}

/// Files an object under the uid of every owner it references.
pub fn by_owner_uid<K: Resource>() -> IndexFn<K> {
    Arc::new(|o: &K| o.meta().owner_references.iter().map(|r| r.uid.clone()).collect())
}

/// Files an object under the uid of its controller owner only.
pub fn by_controller_uid<K: Resource>() -> IndexFn<K> {
    Arc::new(|o: &K| o.meta().controller_owner().map(|r| r.uid.clone()).into_iter().collect())
}

/// Files a pod under `spec.nodeName` (unbound pods are not filed).
pub fn by_node_name() -> IndexFn<Pod> {
    Arc::new(|p: &Pod| p.spec.node_name.clone().filter(|n| !n.is_empty()).into_iter().collect())
}

/// Files an object under its namespace.
pub fn by_namespace<K: Resource>() -> IndexFn<K> {
    Arc::new(|o: &K| o.meta().namespace.clone().into_iter().collect())
}

/// Files objects without a controller owner under their namespace (candidates for adoption).
pub fn orphans_by_namespace<K: Resource>() -> IndexFn<K> {
    Arc::new(|o: &K| {
        if o.meta().controller_owner().is_some() || o.meta().is_deleting() {
            Vec::new()
        } else {
            o.meta().namespace.clone().into_iter().collect()
        }
    })
}
