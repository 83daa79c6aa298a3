//! `Diagnosis` and `FitError`: why no node fits, summarized as Kubernetes words it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use super::Status;

/// Why the nodes a cycle evaluated were rejected.
#[derive(Clone, Debug, Default)]
pub struct Diagnosis {
    /// The rejection status of every evaluated node that did not fit.
    pub node_statuses: HashMap<String, Status>,
    /// Plugins that rejected the pod somewhere (the queue retries the pod on their events).
    pub unschedulable_plugins: BTreeSet<String>,
    /// The rejection of a PreFilter plugin, if the cycle stopped there.
    pub pre_filter_status: Option<Status>,
    /// What PostFilter (preemption) concluded, if it ran and failed.
    pub post_filter_message: Option<String>,
}

impl Diagnosis {
    /// Records a node's rejection.
    pub fn record(&mut self, node: &str, status: Status) {
        if let Some(p) = status.plugin() {
            if !self.unschedulable_plugins.contains(p) {
                self.unschedulable_plugins.insert(p.to_owned());
            }
        }
        self.node_statuses.insert(node.to_owned(), status);
    }

    /// Reason → number of nodes, over every rejected node.
    pub fn reason_histogram(&self) -> BTreeMap<String, usize> {
        let mut h = BTreeMap::new();
        for status in self.node_statuses.values() {
            for r in status.reasons() {
                *h.entry(r.to_string()).or_insert(0) += 1;
            }
        }
        h
    }
}

/// No node fits the pod. Its `Display` is Kubernetes' summary, which becomes the message of the
/// pod's `PodScheduled=False` condition:
///
/// ```
/// use orch_sched::{Diagnosis, FitError, Status};
/// let mut d = Diagnosis::default();
/// for n in ["a", "b", "c"] { d.record(n, Status::unschedulable("Insufficient cpu").with_plugin("NodeResourcesFit")); }
/// for n in ["d", "e"] { d.record(n, Status::unresolvable("node(s) had untolerated taint {gpu: true}")); }
/// let e = FitError { pod: "default/web".into(), num_all_nodes: 5, diagnosis: d };
/// assert_eq!(e.to_string(), "0/5 nodes are available: 2 node(s) had untolerated taint {gpu: true}, 3 Insufficient cpu.");
/// ```
///
/// Reasons are listed as `count reason`, sorted as strings (as Kubernetes sorts them).
#[derive(Clone, Debug)]
pub struct FitError {
    /// `namespace/name` of the pod.
    pub pod: String,
    /// Nodes in the snapshot.
    pub num_all_nodes: usize,
    /// Why they were rejected.
    pub diagnosis: Diagnosis,
}

impl fmt::Display for FitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0/{} nodes are available:", self.num_all_nodes)?;
        if let Some(pre) = &self.diagnosis.pre_filter_status {
            write!(f, " {}.", pre.message())?;
        } else {
            let mut reasons: Vec<String> =
                self.diagnosis.reason_histogram().into_iter().map(|(r, n)| format!("{n} {r}")).collect();
            reasons.sort();
            if !reasons.is_empty() {
                write!(f, " {}.", reasons.join(", "))?;
            }
        }
        if let Some(post) = &self.diagnosis.post_filter_message {
            write!(f, " {post}.")?;
        }
        Ok(())
    }
}

impl std::error::Error for FitError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefilter_rejection_is_reported_once_not_per_node() {
        let d = Diagnosis {
            pre_filter_status: Some(Status::unresolvable("node(s) didn't match the requested node name")),
            ..Default::default()
        };
        let e = FitError { pod: "ns/p".into(), num_all_nodes: 3, diagnosis: d };
        assert_eq!(e.to_string(), "0/3 nodes are available: node(s) didn't match the requested node name.");
    }

    #[test]
    fn postfilter_message_is_appended() {
        let mut d = Diagnosis::default();
        d.record("a", Status::unschedulable("Too many pods").with_plugin("NodeResourcesFit"));
        d.post_filter_message = Some("preemption: not eligible".into());
        let e = FitError { pod: "ns/p".into(), num_all_nodes: 1, diagnosis: d.clone() };
        assert_eq!(e.to_string(), "0/1 nodes are available: 1 Too many pods. preemption: not eligible.");
        assert_eq!(d.unschedulable_plugins.iter().collect::<Vec<_>>(), ["NodeResourcesFit"]);
    }
}
