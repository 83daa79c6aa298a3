//! The invariants checked after every step, each a small object-safe [`Invariant`].
//!
//! Safety properties (no over-committed node, no pod bound twice, no surge above the limit) must
//! hold after every step. Liveness properties (endpoints drop pods that are no longer ready or
//! whose node is gone; pods of a dead node are replaced) hold within a stated bound after the
//! cluster could first know, with time during store outages not counted against it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use orch_controllers::controllers::node_lifecycle::{UNREACHABLE_TAINT, toleration_for};
use orch_core::Timestamp;
use orch_core::kinds::{Pod, Taint, find_condition};
use orch_sched::Resources;

use super::log::{ClusterView, StepChanges};

/// A broken invariant: which, when, and what exactly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The invariant's name.
    pub invariant: String,
    /// Simulated time of the step that found it.
    pub at: Timestamp,
    /// What was wrong, naming the objects.
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}: {}", self.at, self.invariant, self.message)
    }
}

/// What the simulation knows that the cluster may not yet: the faults in force.
#[derive(Clone, Debug, Default)]
pub struct GroundTruth {
    /// Nodes lost now, with when they were lost.
    pub lost_nodes: BTreeMap<String, Timestamp>,
    /// Whether the store is down now.
    pub store_down: bool,
    /// When the store last came back (liveness bounds restart from here).
    pub store_back_at: Option<Timestamp>,
    /// How long the node lifecycle controller waits for a lease before it acts.
    pub node_grace: Duration,
    /// The eviction toleration of pods without their own.
    pub default_toleration: Duration,
}

impl GroundTruth {
    /// The later of `t` and the last time the store came back: a liveness clock that does not
    /// run while the components could not reach the store.
    pub fn since(&self, t: Timestamp) -> Timestamp {
        match self.store_back_at {
            Some(b) if b > t => b,
            _ => t,
        }
    }
}

/// What an invariant sees after a step.
pub struct CheckContext<'a> {
    /// Simulated now.
    pub now: Timestamp,
    /// The cluster as the store holds it.
    pub view: &'a ClusterView,
    /// What changed in this step.
    pub changes: &'a StepChanges,
    /// The faults in force.
    pub truth: &'a GroundTruth,
}

/// A property of the cluster, checked after every simulated step. Add your own with
/// [`Simulation::with_invariant`](super::Simulation::with_invariant).
///
/// ```
/// use orch_tests::sim::{CheckContext, Invariant};
///
/// /// This cluster never runs more than 2,000 pods.
/// struct AtMost2000Pods;
///
/// impl Invariant for AtMost2000Pods {
///     fn name(&self) -> &'static str {
///         "at-most-2000-pods"
///     }
///     fn check(&mut self, ctx: &CheckContext<'_>) -> Vec<String> {
///         let n = ctx.view.pods.len();
///         if n > 2000 { vec![format!("{n} pods")] } else { vec![] }
///     }
/// }
/// ```
pub trait Invariant: Send {
    /// A short name for reports.
    fn name(&self) -> &'static str;
    /// Returns what is broken now (empty when all holds).
    fn check(&mut self, ctx: &CheckContext<'_>) -> Vec<String>;
}

/// Every invariant of the simulation, in the order they run.
pub fn all(liveness_bound: Duration) -> Vec<Box<dyn Invariant>> {
    vec![
        Box::new(NoOvercommit),
        Box::new(BoundOnce),
        Box::new(SurgeLimit),
        Box::new(EndpointsReady::new(liveness_bound)),
        Box::new(DeadNodeReplaced::new(liveness_bound)),
    ]
}

fn counts(pod: &Pod) -> bool {
    !pod.is_terminal()
}

/// No node holds pods whose requests exceed its allocatable CPU, memory or pod slots.
pub struct NoOvercommit;

impl Invariant for NoOvercommit {
    fn name(&self) -> &'static str {
        "no-overcommit"
    }

    fn check(&mut self, ctx: &CheckContext<'_>) -> Vec<String> {
        let mut out = Vec::new();
        for name in &ctx.changes.nodes {
            let Some(node) = ctx.view.nodes.get(name) else { continue };
            let alloc = Resources::allocatable_of(node);
            let mut used = Resources::default();
            let mut pods = 0;
            for key in ctx.view.pods_by_node.get(name).into_iter().flatten() {
                if let Some(p) = ctx.view.pods.get(key).filter(|p| counts(p)) {
                    used.add(&Resources::of_pod(p));
                    pods += 1;
                }
            }
            if pods > alloc.pods || used.milli_cpu > alloc.milli_cpu || used.memory > alloc.memory {
                out.push(format!(
                    "node {name} holds {pods} pods requesting {}m CPU and {} bytes; it has {} slots, {}m, {} bytes",
                    used.milli_cpu, used.memory, alloc.pods, alloc.milli_cpu, alloc.memory
                ));
            }
        }
        out
    }
}

/// Once bound, a pod never moves to another node.
pub struct BoundOnce;

impl Invariant for BoundOnce {
    fn name(&self) -> &'static str {
        "bound-once"
    }

    fn check(&mut self, ctx: &CheckContext<'_>) -> Vec<String> {
        let mut out = Vec::new();
        for (old, new) in &ctx.changes.pods {
            let (Some(old), Some(new)) = (old, new) else { continue };
            if old.metadata.uid != new.metadata.uid {
                continue;
            }
            if let Some(was) = &old.spec.node_name
                && new.spec.node_name.as_ref() != Some(was)
            {
                out.push(format!(
                    "pod {}/{} moved from {was} to {:?}",
                    new.metadata.namespace_str(),
                    new.metadata.name_str(),
                    new.spec.node_name
                ));
            }
        }
        out
    }
}

/// A Deployment's ReplicaSets together never ask for more than `replicas + maxSurge` pods once
/// the controller has seen the Deployment's current spec.
pub struct SurgeLimit;

impl Invariant for SurgeLimit {
    fn name(&self) -> &'static str {
        "surge-limit"
    }

    fn check(&mut self, ctx: &CheckContext<'_>) -> Vec<String> {
        let mut out = Vec::new();
        for key in &ctx.changes.deployments {
            let Some(d) = ctx.view.deployments.get(key) else { continue };
            if d.status.as_ref().and_then(|s| s.observed_generation) != d.metadata.generation
                || d.metadata.is_deleting()
            {
                continue;
            }
            let Some(uid) = d.metadata.uid.as_deref() else { continue };
            let replicas = d.spec.replicas.unwrap_or(1);
            let limit = replicas + d.spec.strategy.max_surge(replicas);
            let prefix = format!("{}/", d.metadata.namespace_str());
            let asked: i32 = ctx
                .view
                .replica_sets
                .range(prefix.clone()..)
                .take_while(|(k, _)| k.starts_with(&prefix))
                .filter(|(_, rs)| rs.metadata.owner_references.iter().any(|o| o.uid == uid))
                .map(|(_, rs)| rs.spec.replicas.unwrap_or(1))
                .sum();
            if asked > limit {
                out.push(format!("deployment {key}: its ReplicaSets ask for {asked} pods, above {limit}"));
            }
        }
        out
    }
}

/// Endpoints list as ready only pods that exist, are Ready, are not being deleted, and run on a
/// node that is Ready and alive, within `bound` of when the cluster could know otherwise.
pub struct EndpointsReady {
    bound: Duration,
    /// (endpoints, pod) → since when the address has been wrong.
    wrong_since: BTreeMap<(String, String), Timestamp>,
}

impl EndpointsReady {
    /// With `bound` as the allowed lag.
    pub fn new(bound: Duration) -> Self {
        EndpointsReady { bound, wrong_since: BTreeMap::new() }
    }

    /// Why `pod` should not be a ready address now, and since when the cluster could know.
    fn wrong(ctx: &CheckContext<'_>, pod_key: &str) -> Option<(String, Timestamp)> {
        let Some(pod) = ctx.view.pods.get(pod_key) else { return Some(("is gone".into(), ctx.now)) };
        if pod.metadata.is_deleting() {
            return Some(("is being deleted".into(), pod.metadata.deletion_timestamp.unwrap_or(ctx.now)));
        }
        if !pod.is_ready() {
            let since = find_condition(&pod.status.conditions, "Ready").and_then(|c| c.last_transition_time);
            return Some(("is not ready".into(), since.unwrap_or(ctx.now)));
        }
        let node = pod.spec.node_name.as_deref()?;
        if let Some(lost) = ctx.truth.lost_nodes.get(node) {
            // The lifecycle controller can know once the lease is stale and its next check ran.
            let knows = *lost + ctx.truth.node_grace + ctx.truth.node_grace / 4;
            return Some((format!("runs on lost node {node}"), knows));
        }
        None
    }
}

impl Invariant for EndpointsReady {
    fn name(&self) -> &'static str {
        "endpoints-ready"
    }

    fn check(&mut self, ctx: &CheckContext<'_>) -> Vec<String> {
        // Addresses to (re)examine: of changed endpoints, of changed pods, of changed nodes,
        // and those already found wrong.
        let mut pods_touched: BTreeSet<String> = BTreeSet::new();
        for (old, new) in &ctx.changes.pods {
            for p in [old, new].into_iter().flatten() {
                pods_touched.insert(format!("{}/{}", p.metadata.namespace_str(), p.metadata.name_str()));
            }
        }
        for n in &ctx.changes.nodes {
            pods_touched.extend(ctx.view.pods_by_node.get(n).into_iter().flatten().cloned());
        }
        for n in ctx.truth.lost_nodes.keys() {
            pods_touched.extend(ctx.view.pods_by_node.get(n).into_iter().flatten().cloned());
        }
        let mut out = Vec::new();
        let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
        for (ep_key, ep) in &ctx.view.endpoints {
            let whole = ctx.changes.endpoints.contains(ep_key);
            let ns = ep.metadata.namespace_str();
            for addr in ep.subsets.iter().flat_map(|s| s.addresses.iter()) {
                let Some(name) = addr.target_ref.as_ref().and_then(|r| r.name.as_deref()) else { continue };
                let pod_key = format!("{ns}/{name}");
                let pair = (ep_key.clone(), pod_key.clone());
                if !whole && !pods_touched.contains(&pod_key) && !self.wrong_since.contains_key(&pair) {
                    seen.insert(pair);
                    continue;
                }
                match Self::wrong(ctx, &pod_key) {
                    Some((why, since)) => {
                        let since = ctx.truth.since(*self.wrong_since.entry(pair.clone()).or_insert(since));
                        if !ctx.truth.store_down && ctx.now.saturating_duration_since(since) > self.bound {
                            out.push(format!(
                                "endpoints {ep_key} still list pod {pod_key}, which {why}, {:?} after it could be known",
                                ctx.now.saturating_duration_since(since)
                            ));
                        }
                    }
                    None => {
                        self.wrong_since.remove(&pair);
                    }
                }
                seen.insert(pair);
            }
        }
        self.wrong_since.retain(|k, _| seen.contains(k));
        out
    }
}

/// Every pod of a lost node is deleted once its toleration of the unreachable taint has run
/// out, and every ReplicaSet has its replicas (pending ones count: the controller did its part)
/// within `bound` of losing one, pods on lost nodes counting until their eviction is due.
pub struct DeadNodeReplaced {
    bound: Duration,
    reported: BTreeSet<String>,
    /// ReplicaSets short of pods, since when.
    short_since: BTreeMap<String, Timestamp>,
}

impl DeadNodeReplaced {
    /// With `bound` as the allowed lag.
    pub fn new(bound: Duration) -> Self {
        DeadNodeReplaced { bound, reported: BTreeSet::new(), short_since: BTreeMap::new() }
    }

    /// When `pod`, on a node lost at `lost`, is due for eviction (`None`: it tolerates forever).
    fn due(ctx: &CheckContext<'_>, pod: &Pod, lost: Timestamp) -> Option<Timestamp> {
        let taint = Taint { key: UNREACHABLE_TAINT.into(), value: None, effect: "NoExecute".into(), time_added: None };
        let tolerate = toleration_for(pod, &taint, ctx.truth.default_toleration)?;
        let tainted = lost + ctx.truth.node_grace + ctx.truth.node_grace / 4;
        let start = pod.metadata.creation_timestamp.map_or(tainted, |created| created.max(tainted));
        Some(ctx.truth.since(start + tolerate))
    }
}

impl Invariant for DeadNodeReplaced {
    fn name(&self) -> &'static str {
        "dead-node-pods-replaced"
    }

    fn check(&mut self, ctx: &CheckContext<'_>) -> Vec<String> {
        let mut out = Vec::new();
        let mut candidates: BTreeSet<String> = ctx.changes.replica_sets.clone();
        candidates.extend(self.short_since.keys().cloned());
        for (node, lost) in &ctx.truth.lost_nodes {
            for key in ctx.view.pods_by_node.get(node).into_iter().flatten() {
                let Some(pod) = ctx.view.pods.get(key) else { continue };
                let ns = pod.metadata.namespace_str();
                candidates.extend(
                    pod.metadata
                        .owner_references
                        .iter()
                        .filter(|o| o.kind == "ReplicaSet")
                        .map(|o| format!("{ns}/{}", o.name)),
                );
                let Some(due) = Self::due(ctx, pod, *lost) else { continue };
                if ctx.now > due + self.bound && !ctx.truth.store_down && self.reported.insert(key.clone()) {
                    out.push(format!("pod {key} is still on node {node}, lost at {lost}, past its eviction at {due}"));
                }
            }
        }
        for key in candidates {
            let Some(rs) = ctx.view.replica_sets.get(&key) else {
                self.short_since.remove(&key);
                continue;
            };
            let want = rs.spec.replicas.unwrap_or(1);
            let uid = rs.metadata.uid.clone().unwrap_or_default();
            let mut have = 0;
            for pk in ctx.view.pods_by_owner.get(&uid).into_iter().flatten() {
                let Some(p) = ctx.view.pods.get(pk) else { continue };
                if p.metadata.is_deleting() || p.is_terminal() {
                    continue;
                }
                let lost = p.spec.node_name.as_deref().and_then(|n| ctx.truth.lost_nodes.get(n));
                match lost.map(|l| Self::due(ctx, p, *l)) {
                    Some(Some(due)) if ctx.now > due => {}
                    _ => have += 1,
                }
            }
            if have >= want || rs.metadata.is_deleting() {
                self.short_since.remove(&key);
                continue;
            }
            let since = ctx.truth.since(*self.short_since.entry(key.clone()).or_insert(ctx.now));
            if !ctx.truth.store_down && ctx.now.saturating_duration_since(since) > self.bound {
                out.push(format!("replicaset {key} has {have} of {want} pods since {since}"));
                self.short_since.insert(key, ctx.now);
            }
        }
        out
    }
}
