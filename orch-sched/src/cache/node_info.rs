//! `NodeInfo`: one node with what is allocatable, what its pods request, and the pods themselves.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use orch_core::kinds::{Node, Taint};

use super::{PodInfo, Resources};

/// A node as the scheduler sees it: allocatable resources, the sum of its pods' requests, its
/// pods (bound and assumed), labels, taints and images.
///
/// A `NodeInfo` may exist without its `Node` object (pods arrived before the node did); such
/// entries never appear in a [`Snapshot`](super::Snapshot).
///
/// ```
/// use std::collections::BTreeMap;
/// use orch_core::{ObjectMeta, kinds::{Node, Pod, Container}};
/// use orch_sched::{NodeInfo, PodInfo};
/// let mut node = Node { metadata: ObjectMeta::named("n1"), ..Default::default() };
/// node.status.allocatable = BTreeMap::from([("cpu".into(), "4".into()), ("pods".into(), "110".into())]);
/// let mut info = NodeInfo::new(node);
/// let mut pod = Pod { metadata: ObjectMeta::named("p").in_namespace("default"), ..Default::default() };
/// let mut c = Container::default();
/// c.resources.requests.insert("cpu".into(), "500m".into());
/// pod.spec.containers.push(c);
/// info.add_pod(std::sync::Arc::new(PodInfo::new(pod)));
/// assert_eq!(info.requested().milli_cpu, 500);
/// assert_eq!(info.allocatable().milli_cpu, 4000);
/// assert_eq!(info.pods().len(), 1);
/// ```
#[derive(Clone, Debug, Default)]
// Filter and Score read a few fields of thousands of nodes per cycle, and each node is its own
// allocation: the fields they read come first and together (`repr(C)` keeps this order), so a
// node costs the fewest cache lines.
#[repr(C)]
pub struct NodeInfo {
    allocatable: Resources,
    requested: Resources,
    non_zero_requested: (i64, i64),
    pods: Vec<Arc<PodInfo>>,
    // Copied from the node object so that Filter does not read a second allocation.
    taints: Vec<Taint>,
    unschedulable: bool,
    pods_with_affinity: usize,
    pods_with_required_anti_affinity: usize,
    name: String,
    node: Option<Arc<Node>>,
    images: HashMap<String, i64>,
}

/// Image names as the node agent reports them and as pods write them compare equal after this:
/// a missing tag means `:latest`.
pub fn normalize_image_name(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') || last.contains('@') { name.to_owned() } else { format!("{name}:latest") }
}

impl NodeInfo {
    /// Info for a node with no pods yet.
    pub fn new(node: impl Into<Arc<Node>>) -> Self {
        let mut info = NodeInfo::default();
        info.set_node(node.into());
        info
    }

    /// A placeholder for pods whose node is not known yet.
    pub fn placeholder(name: &str) -> Self {
        NodeInfo { name: name.to_owned(), ..Default::default() }
    }

    /// Replaces the node object (its labels, taints, allocatable, images).
    pub fn set_node(&mut self, node: Arc<Node>) {
        self.name = node.metadata.name_str().to_owned();
        self.allocatable = Resources::allocatable_of(&node);
        self.unschedulable = node.spec.unschedulable == Some(true);
        self.taints.clone_from(&node.spec.taints);
        self.images.clear();
        for image in &node.status.images {
            let size = image.size_bytes.unwrap_or(0);
            for n in &image.names {
                self.images.insert(normalize_image_name(n), size);
            }
        }
        self.node = Some(node);
    }

    /// Drops the node object, keeping the pods (the node was deleted while pods remain).
    pub fn clear_node(&mut self) {
        self.node = None;
        self.unschedulable = false;
        self.taints.clear();
        self.allocatable = Resources::default();
        self.images.clear();
    }

    /// Reads a word of each cache line that Filter reads, so that a caller can load several
    /// nodes' memory at once (see the Filter loop); the value means nothing.
    pub(crate) fn touch(&self) -> i64 {
        self.allocatable.milli_cpu
            ^ self.requested.milli_cpu
            ^ self.non_zero_requested.0
            ^ self.pods.len() as i64
            ^ i64::from(self.unschedulable)
    }

    /// The node name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The node object, if known.
    pub fn node(&self) -> Option<&Arc<Node>> {
        self.node.as_ref()
    }

    /// The node's labels (empty without a node object).
    pub fn labels(&self) -> &BTreeMap<String, String> {
        static EMPTY: BTreeMap<String, String> = BTreeMap::new();
        self.node.as_ref().map_or(&EMPTY, |n| &n.metadata.labels)
    }

    /// The node's taints.
    pub fn taints(&self) -> &[Taint] {
        &self.taints
    }

    /// Whether the node is cordoned (`spec.unschedulable`).
    pub fn unschedulable(&self) -> bool {
        self.unschedulable
    }

    /// What the node offers to pods.
    pub fn allocatable(&self) -> &Resources {
        &self.allocatable
    }

    /// The sum of the requests of the pods on the node (bound and assumed).
    pub fn requested(&self) -> &Resources {
        &self.requested
    }

    /// CPU and memory requested, counting request-less containers at the defaults (for scoring).
    pub fn non_zero_requested(&self) -> (i64, i64) {
        self.non_zero_requested
    }

    /// The pods on the node.
    pub fn pods(&self) -> &[Arc<PodInfo>] {
        &self.pods
    }

    /// How many pods on the node have pod affinity or anti-affinity terms.
    pub fn pods_with_affinity(&self) -> usize {
        self.pods_with_affinity
    }

    /// How many pods on the node have required anti-affinity terms.
    pub fn pods_with_required_anti_affinity(&self) -> usize {
        self.pods_with_required_anti_affinity
    }

    /// Images present on the node (normalized name → size in bytes).
    pub fn images(&self) -> &HashMap<String, i64> {
        &self.images
    }

    /// Adds a pod and its requests.
    pub fn add_pod(&mut self, pod: Arc<PodInfo>) {
        self.account(&pod, true);
        self.pods.push(pod);
    }

    /// Removes the pod with `key`; returns whether it was there.
    pub fn remove_pod(&mut self, key: &str) -> bool {
        let Some(i) = self.pods.iter().position(|p| p.key == key) else { return false };
        let pod = self.pods.swap_remove(i);
        self.account(&pod, false);
        true
    }

    fn account(&mut self, pod: &PodInfo, add: bool) {
        let sign = if add { 1 } else { -1 };
        if add {
            self.requested.add(&pod.requests);
        } else {
            self.requested.sub(&pod.requests);
        }
        self.non_zero_requested.0 += sign * pod.non_zero.0;
        self.non_zero_requested.1 += sign * pod.non_zero.1;
        if pod.has_affinity() {
            self.pods_with_affinity = self.pods_with_affinity.saturating_add_signed(sign as isize);
        }
        if !pod.required_anti_affinity.is_empty() {
            self.pods_with_required_anti_affinity =
                self.pods_with_required_anti_affinity.saturating_add_signed(sign as isize);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orch_core::ObjectMeta;
    use orch_core::kinds::{Container, Pod};

    fn pod(name: &str, cpu: &str) -> Arc<PodInfo> {
        let mut p = Pod { metadata: ObjectMeta::named(name).in_namespace("ns"), ..Default::default() };
        let mut c = Container::default();
        c.resources.requests.insert("cpu".into(), cpu.into());
        p.spec.containers.push(c);
        Arc::new(PodInfo::new(p))
    }

    #[test]
    fn removing_a_pod_returns_its_requests() {
        let mut info = NodeInfo::placeholder("n");
        info.add_pod(pod("a", "100m"));
        info.add_pod(pod("b", "300m"));
        assert_eq!(info.requested().milli_cpu, 400);
        assert!(info.remove_pod("ns/a"));
        assert!(!info.remove_pod("ns/a"));
        assert_eq!(info.requested().milli_cpu, 300);
        assert_eq!(info.non_zero_requested().0, 300);
        assert_eq!(info.pods().len(), 1);
    }

    #[test]
    fn image_names_without_tag_mean_latest() {
        let cases = [("nginx", "nginx:latest"), ("nginx:1.2", "nginx:1.2"), ("reg:5000/app", "reg:5000/app:latest")];
        for (input, want) in cases {
            assert_eq!(normalize_image_name(input), want);
        }
    }
}
