//! `SchedulerCache`: nodes and pods kept current from watch events, plus assumed pods.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use orch_core::kinds::Node;

use super::{NodeInfo, Nominator, PodInfo, Snapshot};

/// Errors of cache operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheError {
    /// The pod is already in the cache (assumed or bound).
    #[error("pod {0} is already in the cache")]
    AlreadyPresent(String),
    /// The pod has no node name to assume it on.
    #[error("pod {0} has no node")]
    NoNode(String),
}

#[derive(Clone, Debug)]
struct PodState {
    node: String,
    assumed: bool,
}

/// The scheduler's picture of the cluster: every node with the pods bound (or assumed) there.
///
/// Watch events keep it current ([`add_node`](Self::add_node), [`add_pod`](Self::add_pod), ...).
/// A pod the scheduler has placed but whose binding is not yet confirmed by the store is
/// *assumed*: it counts on its node at once, so the next cycle does not place another pod in
/// the same space. When the bound pod arrives from the watch the assumption is confirmed; when
/// binding fails it is [forgotten](Self::forget_pod).
///
/// Assumed pods do not expire. Kubernetes expires an assumed pod whose binding never finished
/// (a TTL after binding ended without the watch confirming it); here every binding cycle ends
/// in exactly one of two ways: the store wrote the binding, so the pod's watch event follows
/// and confirms it (or a later delete removes it), or the binding failed or was rejected and
/// the binding cycle forgets the pod itself (a relist after a broken watch confirms the
/// binding instead, since it lists the bound pod).
///
/// ```
/// use std::sync::Arc;
/// use orch_core::{ObjectMeta, kinds::{Node, Pod}};
/// use orch_sched::{PodInfo, SchedulerCache, Snapshot};
/// let mut cache = SchedulerCache::new();
/// cache.add_node(Node { metadata: ObjectMeta::named("n1"), ..Default::default() });
/// let pod = PodInfo::new(Pod { metadata: ObjectMeta::named("p").in_namespace("default"), ..Default::default() });
/// cache.assume_pod(Arc::new(pod.bound_to("n1"))).unwrap();
/// let mut snap = Snapshot::default();
/// cache.update_snapshot(&mut snap);
/// assert_eq!(snap.get("n1").unwrap().pods().len(), 1);
/// cache.forget_pod("default/p");
/// cache.update_snapshot(&mut snap);
/// assert!(snap.get("n1").unwrap().pods().is_empty());
/// ```
#[derive(Debug, Default)]
pub struct SchedulerCache {
    nodes: HashMap<String, Arc<NodeInfo>>,
    pods: HashMap<String, PodState>,
    dirty: HashSet<String>,
    structure_changed: bool,
    nominator: Arc<Nominator>,
}

impl SchedulerCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    fn node_mut(&mut self, name: &str) -> &mut NodeInfo {
        self.dirty.insert(name.to_owned());
        let entry = self.nodes.entry(name.to_owned()).or_insert_with(|| Arc::new(NodeInfo::placeholder(name)));
        Arc::make_mut(entry)
    }

    /// Adds a node or replaces its object; returns the previous object, if any.
    pub fn add_node(&mut self, node: impl Into<Arc<Node>>) -> Option<Arc<Node>> {
        let node = node.into();
        let name = node.metadata.name_str().to_owned();
        let old = self.nodes.get(&name).and_then(|n| n.node().cloned());
        self.node_mut(&name).set_node(node);
        if old.is_none() {
            self.structure_changed = true;
        }
        old
    }

    /// Removes a node; its pods stay accounted until they are removed.
    pub fn remove_node(&mut self, name: &str) {
        let Some(info) = self.nodes.get(name) else { return };
        if info.pods().is_empty() {
            self.nodes.remove(name);
        } else {
            self.node_mut(name).clear_node();
        }
        self.structure_changed = true;
    }

    /// Names of the nodes with a node object.
    pub fn node_names(&self) -> Vec<String> {
        self.nodes.values().filter(|n| n.node().is_some()).map(|n| n.name().to_owned()).collect()
    }

    /// Keys of the bound (not assumed) pods.
    pub fn bound_pod_keys(&self) -> Vec<String> {
        self.pods.iter().filter(|(_, s)| !s.assumed).map(|(k, _)| k.clone()).collect()
    }

    /// Places an assumed pod (its `spec.nodeName` must be set) on its node; it is no longer
    /// nominated anywhere.
    ///
    /// # Errors
    /// [`CacheError::AlreadyPresent`] when the pod is already cached; [`CacheError::NoNode`].
    pub fn assume_pod(&mut self, pod: Arc<PodInfo>) -> Result<(), CacheError> {
        if self.pods.contains_key(&pod.key) {
            return Err(CacheError::AlreadyPresent(pod.key.clone()));
        }
        let node = pod.node_name().ok_or_else(|| CacheError::NoNode(pod.key.clone()))?.to_owned();
        self.pods.insert(pod.key.clone(), PodState { node: node.clone(), assumed: true });
        self.remove_nomination(&pod.key);
        self.node_mut(&node).add_pod(pod);
        Ok(())
    }

    /// The pods nominated to nodes by preemption.
    pub fn nominator(&self) -> &Nominator {
        &self.nominator
    }

    /// Nominates an unbound pod to `node` (preemption chose it): the pod counts there for other
    /// pods of lower or equal priority until it is placed, deleted or nominated elsewhere.
    pub fn nominate(&mut self, pod: Arc<PodInfo>, node: &str) {
        Arc::make_mut(&mut self.nominator).nominate(pod, node);
    }

    /// Follows an update of an unbound pod's `status.nominatedNodeName`
    /// (see [`Nominator::update_from_pod`]).
    pub fn update_nomination(&mut self, pod: Arc<PodInfo>) {
        let known = self.nominator.node_of(&pod.key).is_some();
        let written = pod.pod.status.nominated_node_name.as_deref().is_some_and(|n| !n.is_empty());
        if known || written {
            Arc::make_mut(&mut self.nominator).update_from_pod(pod);
        }
    }

    /// Ends the nomination of a pod (deleted, placed).
    pub fn remove_nomination(&mut self, key: &str) {
        if self.nominator.node_of(key).is_some() {
            Arc::make_mut(&mut self.nominator).remove(key);
        }
    }

    /// Keeps only the nominations of pods for which `keep(key)` holds (after a relist).
    pub fn retain_nominations(&mut self, keep: impl FnMut(&str) -> bool) {
        if !self.nominator.is_empty() {
            Arc::make_mut(&mut self.nominator).retain(keep);
        }
    }

    /// Whether the pod is assumed (placed, binding not confirmed).
    pub fn is_assumed(&self, key: &str) -> bool {
        self.pods.get(key).is_some_and(|s| s.assumed)
    }

    /// Whether the pod is cached at all (assumed or bound).
    pub fn contains_pod(&self, key: &str) -> bool {
        self.pods.contains_key(key)
    }

    /// Undoes an assumption (binding failed). Bound pods are left alone.
    pub fn forget_pod(&mut self, key: &str) {
        if self.is_assumed(key) {
            self.remove_pod(key);
        }
    }

    /// Adds (or confirms, or moves) a pod bound to a node, as seen in a watch event; it is no
    /// longer nominated anywhere. Terminal pods no longer hold resources and are removed instead.
    pub fn add_pod(&mut self, pod: Arc<PodInfo>) {
        let Some(node) = pod.node_name().map(str::to_owned) else { return };
        self.remove_nomination(&pod.key);
        if pod.pod.is_terminal() {
            self.remove_pod(&pod.key);
            return;
        }
        if let Some(old) = self.pods.get(&pod.key).cloned() {
            self.node_mut(&old.node).remove_pod(&pod.key);
            self.gc_placeholder(&old.node);
        }
        self.pods.insert(pod.key.clone(), PodState { node: node.clone(), assumed: false });
        self.node_mut(&node).add_pod(pod);
    }

    /// Removes a pod (deleted, or finished), and its nomination if it has one.
    pub fn remove_pod(&mut self, key: &str) {
        self.remove_nomination(key);
        let Some(state) = self.pods.remove(key) else { return };
        self.node_mut(&state.node).remove_pod(key);
        self.gc_placeholder(&state.node);
    }

    fn gc_placeholder(&mut self, name: &str) {
        if self.nodes.get(name).is_some_and(|n| n.node().is_none() && n.pods().is_empty()) {
            self.nodes.remove(name);
            self.dirty.remove(name);
        }
    }

    /// The number of nodes with a node object.
    pub fn node_count(&self) -> usize {
        self.nodes.values().filter(|n| n.node().is_some()).count()
    }

    /// The number of cached pods (bound and assumed).
    pub fn pod_count(&self) -> usize {
        self.pods.len()
    }

    /// Brings `snapshot` up to date: replaces only the nodes that changed since the last call,
    /// or rebuilds it when nodes were added or removed; shares the nominated pods.
    pub fn update_snapshot(&mut self, snapshot: &mut Snapshot) {
        if !Arc::ptr_eq(&snapshot.nominated, &self.nominator) {
            snapshot.nominated = self.nominator.clone();
        }
        if self.structure_changed || !snapshot.built {
            snapshot.rebuild(self.nodes.values().cloned().collect());
            self.structure_changed = false;
        } else {
            for name in &self.dirty {
                if let Some(info) = self.nodes.get(name) {
                    snapshot.replace(info.clone());
                }
            }
        }
        self.dirty.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orch_core::ObjectMeta;
    use orch_core::kinds::Pod;

    fn node(name: &str) -> Node {
        Node { metadata: ObjectMeta::named(name), ..Default::default() }
    }

    fn pod(name: &str, node: Option<&str>) -> Arc<PodInfo> {
        let mut p = Pod { metadata: ObjectMeta::named(name).in_namespace("ns"), ..Default::default() };
        p.spec.node_name = node.map(str::to_owned);
        Arc::new(PodInfo::new(p))
    }

    fn pods_on(snap: &Snapshot, node: &str) -> usize {
        snap.get(node).map_or(0, |n| n.pods().len())
    }

    #[test]
    fn bound_pod_from_watch_confirms_assumed_pod_once() {
        let mut cache = SchedulerCache::new();
        cache.add_node(node("n1"));
        cache.assume_pod(pod("a", Some("n1"))).expect("assume");
        assert!(cache.is_assumed("ns/a"));
        cache.add_pod(pod("a", Some("n1")));
        assert!(!cache.is_assumed("ns/a"));
        let mut snap = Snapshot::default();
        cache.update_snapshot(&mut snap);
        assert_eq!(pods_on(&snap, "n1"), 1);
        cache.forget_pod("ns/a");
        cache.update_snapshot(&mut snap);
        assert_eq!(pods_on(&snap, "n1"), 1, "a confirmed pod is not forgotten");
    }

    #[test]
    fn assuming_twice_is_an_error() {
        let mut cache = SchedulerCache::new();
        cache.assume_pod(pod("a", Some("n1"))).expect("assume");
        assert_eq!(cache.assume_pod(pod("a", Some("n1"))), Err(CacheError::AlreadyPresent("ns/a".into())));
        assert_eq!(cache.assume_pod(pod("b", None)), Err(CacheError::NoNode("ns/b".into())));
    }

    #[test]
    fn snapshot_updates_incrementally_and_hides_nodes_without_object() {
        let mut cache = SchedulerCache::new();
        let mut snap = Snapshot::default();
        cache.add_pod(pod("early", Some("n2")));
        cache.add_node(node("n1"));
        cache.update_snapshot(&mut snap);
        assert_eq!(snap.len(), 1, "n2 has pods but no node object yet");
        cache.add_node(node("n2"));
        cache.update_snapshot(&mut snap);
        assert_eq!((snap.len(), pods_on(&snap, "n2")), (2, 1));
        let before = snap.get("n1").cloned().expect("n1");
        cache.add_pod(pod("x", Some("n2")));
        cache.update_snapshot(&mut snap);
        assert!(Arc::ptr_eq(&before, snap.get("n1").expect("n1")), "unchanged node is not copied");
        assert_eq!(pods_on(&snap, "n2"), 2);
        cache.remove_node("n2");
        cache.update_snapshot(&mut snap);
        assert_eq!(snap.len(), 1);
        assert_eq!(cache.pod_count(), 2, "pods stay until removed");
    }

    #[test]
    fn terminal_pod_is_removed() {
        let mut cache = SchedulerCache::new();
        cache.add_pod(pod("a", Some("n1")));
        let mut done = (*pod("a", Some("n1")).pod).clone();
        done.status.phase = Some("Succeeded".into());
        cache.add_pod(Arc::new(PodInfo::new(done)));
        assert_eq!(cache.pod_count(), 0);
    }
}
