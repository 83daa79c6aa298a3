//! `ObjectKey`: the namespace/name an object is cached and queued under.

use std::fmt;

use orch_core::{ObjectMeta, Resource};

/// Identifies one object of a known kind: its namespace (`None` for cluster-scoped kinds) and name.
///
/// Keys order by namespace, then name, so every listing of the cache is deterministic.
///
/// ```
/// use orch_controllers::ObjectKey;
/// let k = ObjectKey::namespaced("default", "web");
/// assert_eq!(k.to_string(), "default/web");
/// assert_eq!(ObjectKey::cluster("node-1").to_string(), "node-1");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    /// The namespace, `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
}

impl ObjectKey {
    /// The key of a namespaced object.
    pub fn namespaced(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        ObjectKey { namespace: Some(namespace.into()), name: name.into() }
    }

    /// The key of a cluster-scoped object.
    pub fn cluster(name: impl Into<String>) -> Self {
        ObjectKey { namespace: None, name: name.into() }
    }

    /// The key of an object from its metadata (an empty namespace counts as none).
    pub fn from_meta(meta: &ObjectMeta) -> Self {
        ObjectKey {
            namespace: meta.namespace.clone().filter(|n| !n.is_empty()),
            name: meta.name.clone().unwrap_or_default(),
        }
    }

    /// The key of a typed object.
    pub fn of<K: Resource>(obj: &K) -> Self {
        Self::from_meta(obj.meta())
    }

    /// The namespace, or `""` for cluster-scoped objects.
    pub fn namespace_str(&self) -> &str {
        self.namespace.as_deref().unwrap_or("")
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{ns}/{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_namespace_in_metadata_means_cluster_scoped() {
        let meta = ObjectMeta::named("n1").in_namespace("");
        assert_eq!(ObjectKey::from_meta(&meta), ObjectKey::cluster("n1"));
    }

    #[test]
    fn keys_order_by_namespace_then_name() {
        let mut keys = [ObjectKey::namespaced("b", "a"), ObjectKey::namespaced("a", "z"), ObjectKey::cluster("c")];
        keys.sort();
        assert_eq!(keys[0], ObjectKey::cluster("c"));
        assert_eq!(keys[1], ObjectKey::namespaced("a", "z"));
    }
}
