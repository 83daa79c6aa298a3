//! `Snapshot`: the immutable view of every node that one scheduling cycle computes from.

use std::collections::HashMap;
use std::sync::Arc;

use super::{NodeInfo, Nominator};

/// The nodes (with their pods) as of the start of a scheduling cycle.
///
/// A cycle reads only the snapshot, so its decision is a pure function of it. The scheduler keeps
/// one snapshot and brings it up to date incrementally before every cycle
/// ([`SchedulerCache::update_snapshot`](super::SchedulerCache::update_snapshot)): only nodes that
/// changed are replaced. Nodes are ordered by name.
///
/// ```
/// use orch_core::{ObjectMeta, kinds::Node};
/// use orch_sched::{NodeInfo, Snapshot};
/// let snap = Snapshot::from_nodes(vec![NodeInfo::new(Node { metadata: ObjectMeta::named("b"), ..Default::default() }),
///                                      NodeInfo::new(Node { metadata: ObjectMeta::named("a"), ..Default::default() })]);
/// assert_eq!(snap.len(), 2);
/// assert_eq!(snap.nodes()[0].name(), "a");
/// assert!(snap.get("b").is_some());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub(super) nodes: Vec<Arc<NodeInfo>>,
    pub(super) index: HashMap<String, usize>,
    pub(super) image_nodes: HashMap<String, usize>,
    pub(super) pods_with_affinity: usize,
    pub(super) pods_with_required_anti_affinity: usize,
    pub(super) built: bool,
    pub(super) nominated: Arc<Nominator>,
}

impl Snapshot {
    /// A snapshot of the given nodes (tests and simulations; the scheduler uses the cache).
    pub fn from_nodes(nodes: impl IntoIterator<Item = NodeInfo>) -> Self {
        let mut snap = Snapshot::default();
        snap.rebuild(nodes.into_iter().map(Arc::new).collect());
        snap
    }

    pub(super) fn rebuild(&mut self, mut nodes: Vec<Arc<NodeInfo>>) {
        nodes.retain(|n| n.node().is_some());
        nodes.sort_by(|a, b| a.name().cmp(b.name()));
        self.index = nodes.iter().enumerate().map(|(i, n)| (n.name().to_owned(), i)).collect();
        self.image_nodes.clear();
        self.pods_with_affinity = 0;
        self.pods_with_required_anti_affinity = 0;
        for n in &nodes {
            self.count(n, true);
        }
        self.nodes = nodes;
        self.built = true;
    }

    /// The same snapshot with these nominated pods (tests and simulations; the scheduler's
    /// cache sets them in [`update_snapshot`](super::SchedulerCache::update_snapshot)).
    pub fn with_nominated(mut self, nominated: Nominator) -> Self {
        self.nominated = Arc::new(nominated);
        self
    }

    /// The pods nominated to nodes by preemption, as of the start of the cycle.
    pub fn nominated(&self) -> &Nominator {
        &self.nominated
    }

    /// Replaces one node in place; `false` if the node is not in the snapshot.
    pub(super) fn replace(&mut self, info: Arc<NodeInfo>) -> bool {
        let Some(&i) = self.index.get(info.name()) else { return false };
        if info.node().is_none() {
            return false;
        }
        let old = std::mem::replace(&mut self.nodes[i], info.clone());
        self.count(&old, false);
        self.count(&info, true);
        true
    }

    fn count(&mut self, n: &NodeInfo, add: bool) {
        let sign: isize = if add { 1 } else { -1 };
        self.pods_with_affinity = self.pods_with_affinity.saturating_add_signed(sign * n.pods_with_affinity() as isize);
        self.pods_with_required_anti_affinity = self
            .pods_with_required_anti_affinity
            .saturating_add_signed(sign * n.pods_with_required_anti_affinity() as isize);
        for image in n.images().keys() {
            let c = self.image_nodes.entry(image.clone()).or_insert(0);
            *c = c.saturating_add_signed(sign);
        }
    }

    /// Every node, ordered by name.
    pub fn nodes(&self) -> &[Arc<NodeInfo>] {
        &self.nodes
    }

    /// One node by name.
    pub fn get(&self, name: &str) -> Option<&Arc<NodeInfo>> {
        self.index.get(name).map(|&i| &self.nodes[i])
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// On how many nodes an image (normalized name) is present.
    pub fn nodes_with_image(&self, image: &str) -> usize {
        self.image_nodes.get(image).copied().unwrap_or(0)
    }

    /// How many pods in the cluster have pod affinity or anti-affinity terms.
    pub fn pods_with_affinity(&self) -> usize {
        self.pods_with_affinity
    }

    /// How many pods in the cluster have required anti-affinity terms.
    pub fn pods_with_required_anti_affinity(&self) -> usize {
        self.pods_with_required_anti_affinity
    }
}
