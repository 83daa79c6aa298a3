//! `Nominator`: pods that preemption nominated to a node, waiting for their victims to go.

use std::collections::HashMap;
use std::sync::Arc;

use super::PodInfo;

/// Pods nominated to a node (Kubernetes' nominator): a preemptor waits for its victims to be
/// evicted, and meanwhile the room it freed is counted as taken, so that other pods of lower or
/// equal priority do not fill it (and other preemptors do not evict more pods for it).
///
/// The scheduler nominates a pod when its own PostFilter picks a node, and follows
/// `status.nominatedNodeName` of unbound pods; a nomination ends when the pod is assumed or
/// bound, deleted, or nominated elsewhere.
///
/// ```
/// use std::sync::Arc;
/// use orch_core::{ObjectMeta, kinds::Pod};
/// use orch_sched::{Nominator, PodInfo};
/// let mut nominator = Nominator::default();
/// let pod = Arc::new(PodInfo::new(Pod { metadata: ObjectMeta::named("p").in_namespace("ns"), ..Default::default() }));
/// nominator.nominate(pod.clone(), "n1");
/// nominator.nominate(pod, "n2");
/// assert_eq!(nominator.node_of("ns/p"), Some("n2"));
/// assert!(nominator.pods_on("n1").is_empty());
/// assert_eq!(nominator.pods_on("n2").len(), 1);
/// assert!(nominator.remove("ns/p"));
/// assert!(nominator.is_empty());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Nominator {
    by_pod: HashMap<String, String>,
    by_node: HashMap<String, Vec<Arc<PodInfo>>>,
}

impl Nominator {
    /// Nominates `pod` to `node`, replacing any earlier nomination of the pod.
    pub fn nominate(&mut self, pod: Arc<PodInfo>, node: &str) {
        self.remove(&pod.key);
        self.by_pod.insert(pod.key.clone(), node.to_owned());
        self.by_node.entry(node.to_owned()).or_default().push(pod);
    }

    /// Ends the nomination of the pod with `key`; returns whether it had one.
    pub fn remove(&mut self, key: &str) -> bool {
        let Some(node) = self.by_pod.remove(key) else { return false };
        if let Some(pods) = self.by_node.get_mut(&node) {
            pods.retain(|p| p.key != key);
            if pods.is_empty() {
                self.by_node.remove(&node);
            }
        }
        true
    }

    /// Follows an update of an unbound pod: a `status.nominatedNodeName` nominates it there; one
    /// that was set on the nominated version and is now cleared ends the nomination; otherwise
    /// an in-memory nomination (not yet written back) is kept, with the new pod object.
    pub fn update_from_pod(&mut self, pod: Arc<PodInfo>) {
        let written = pod.pod.status.nominated_node_name.as_deref().filter(|n| !n.is_empty()).map(str::to_owned);
        if let Some(node) = written {
            self.nominate(pod, &node);
            return;
        }
        let Some(node) = self.by_pod.get(&pod.key).cloned() else { return };
        let was_written = self
            .pods_on(&node)
            .iter()
            .any(|p| p.key == pod.key && p.pod.status.nominated_node_name.as_deref().is_some_and(|n| !n.is_empty()));
        if was_written {
            self.remove(&pod.key);
        } else {
            self.nominate(pod, &node);
        }
    }

    /// Keeps only the nominations of pods for which `keep(key)` holds.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        let gone: Vec<String> = self.by_pod.keys().filter(|k| !keep(k)).cloned().collect();
        for key in gone {
            self.remove(&key);
        }
    }

    /// The node the pod with `key` is nominated to.
    pub fn node_of(&self, key: &str) -> Option<&str> {
        self.by_pod.get(key).map(String::as_str)
    }

    /// The pods nominated to `node`.
    pub fn pods_on(&self, node: &str) -> &[Arc<PodInfo>] {
        // Filter asks for every node: without nominations, skip hashing the name.
        if self.by_node.is_empty() {
            return &[];
        }
        self.by_node.get(node).map_or(&[], Vec::as_slice)
    }

    /// The number of nominated pods.
    pub fn len(&self) -> usize {
        self.by_pod.len()
    }

    /// Whether no pod is nominated.
    pub fn is_empty(&self) -> bool {
        self.by_pod.is_empty()
    }

    /// The pods nominated to `node` that count against `pod` there: every other pod of equal
    /// or higher priority.
    pub fn blocking(&self, pod: &PodInfo, node: &str) -> impl Iterator<Item = &Arc<PodInfo>> {
        self.pods_on(node).iter().filter(move |p| p.key != pod.key && p.priority >= pod.priority)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orch_core::ObjectMeta;
    use orch_core::kinds::Pod;

    fn pod(name: &str, priority: i32, nominated: Option<&str>) -> Arc<PodInfo> {
        let mut p = Pod { metadata: ObjectMeta::named(name).in_namespace("ns"), ..Default::default() };
        p.spec.priority = Some(priority);
        p.status.nominated_node_name = nominated.map(str::to_owned);
        Arc::new(PodInfo::new(p))
    }

    #[test]
    fn in_memory_nomination_survives_updates_until_the_status_clears_it() {
        let mut n = Nominator::default();
        n.nominate(pod("a", 10, None), "n1");
        n.update_from_pod(pod("a", 10, None));
        assert_eq!(n.node_of("ns/a"), Some("n1"), "kept: the status write has not landed yet");
        n.update_from_pod(pod("a", 10, Some("n2")));
        assert_eq!(n.node_of("ns/a"), Some("n2"), "the written nomination wins");
        n.update_from_pod(pod("a", 10, None));
        assert_eq!(n.node_of("ns/a"), None, "cleared in the status");
        n.update_from_pod(pod("b", 10, None));
        assert!(n.is_empty(), "no nomination, none made");
    }

    #[test]
    fn only_other_pods_of_equal_or_higher_priority_block() {
        let mut n = Nominator::default();
        for (name, prio) in [("low", 1), ("same", 10), ("high", 20), ("me", 10)] {
            n.nominate(pod(name, prio, None), "n1");
        }
        let me = pod("me", 10, None);
        let mut keys: Vec<&str> = n.blocking(&me, "n1").map(|p| p.key.as_str()).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["ns/high", "ns/same"]);
        n.retain(|k| k != "ns/high");
        assert_eq!(n.blocking(&me, "n1").count(), 1);
        assert_eq!(n.len(), 3);
    }
}
