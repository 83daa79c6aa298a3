//! The filtering half of a scheduling cycle: PreFilter, sampling, and Filter over nodes in parallel.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::parallel::Parallelizer;
use super::*;
use crate::{NodeInfo, Nominator, PodInfo, Snapshot};

/// Below this many nodes every node is evaluated (Kubernetes' `minFeasibleNodesToFind`).
pub const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;
/// The adaptive percentage never goes below this (Kubernetes' `minFeasibleNodesPercentageToFind`).
pub const MIN_FEASIBLE_NODES_PERCENTAGE: usize = 5;

/// How many feasible nodes to look for among `all` nodes: all of them below 100 nodes or at
/// 100%; otherwise `percentage` of them (adaptive when `None`: 50% minus 1% per 125 nodes, at
/// least 5%), and never fewer than 100.
///
/// ```
/// use orch_sched::num_feasible_nodes_to_find;
/// assert_eq!(num_feasible_nodes_to_find(50, None), 50);
/// assert_eq!(num_feasible_nodes_to_find(5000, None), 500);   // 50 - 5000/125 = 10%
/// assert_eq!(num_feasible_nodes_to_find(20000, None), 1000); // floor of 5%
/// assert_eq!(num_feasible_nodes_to_find(5000, Some(100)), 5000);
/// assert_eq!(num_feasible_nodes_to_find(500, Some(1)), 100);
/// ```
pub fn num_feasible_nodes_to_find(all: usize, percentage: Option<u32>) -> usize {
    if all < MIN_FEASIBLE_NODES_TO_FIND || percentage.is_some_and(|p| p >= 100) {
        return all;
    }
    let pct = match percentage {
        Some(p) if p > 0 => p as usize,
        _ => (50usize.saturating_sub(all / 125)).max(MIN_FEASIBLE_NODES_PERCENTAGE),
    };
    (all * pct / 100).max(MIN_FEASIBLE_NODES_TO_FIND)
}

/// Where a pod goes, and how much of the cluster was looked at to decide it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleResult {
    /// The chosen node.
    pub node: String,
    /// Nodes run through Filter.
    pub evaluated_nodes: usize,
    /// Nodes that passed Filter.
    pub feasible_nodes: usize,
}

/// Why a cycle did not place the pod.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ScheduleError {
    /// No node fits (the normal "unschedulable").
    #[error("{0}")]
    Fit(Box<FitError>),
    /// A plugin failed with `Error`.
    #[error("plugin error: {0}")]
    Plugin(Status),
}

/// How many nodes ahead of the one being filtered [`warm`] loads, in batches of as many.
const WARM_AHEAD: usize = 8;

/// Loads the fields Filter reads of the nodes at rotation positions `from..to` (of `nodes`
/// rotated by `start`), one node right after the other. Each node is its own allocation and
/// thousands do not fit in the core's cache, so filtering node by node waits for each node's
/// memory in turn; asking for a batch of upcoming nodes together lets those waits overlap, as a
/// prefetch would (which safe Rust cannot issue).
fn warm(nodes: &[Arc<NodeInfo>], start: usize, from: usize, to: usize) {
    let n = nodes.len();
    let mut x = 0;
    for j in from..to.min(n) {
        x ^= nodes[(start + j) % n].touch();
    }
    std::hint::black_box(x);
}

/// What Filter concluded on one chunk of the candidate nodes (indices into the rotation).
#[derive(Default)]
struct Chunk {
    feasible: Vec<usize>,
    rejected: Vec<(usize, Status)>,
    error: Option<Status>,
    /// One past the last index evaluated.
    end: usize,
}

impl Framework {
    /// PreFilter on every plugin; node restrictions are intersected.
    pub fn run_pre_filter(&self, state: &mut CycleState, pod: &PodInfo, snapshot: &Snapshot) -> PreFilterResult {
        let mut out = PreFilterResult::default();
        for p in &self.pre_filter {
            let r = p.plugin.pre_filter(state, pod, snapshot);
            if r.status.is_skip() {
                state.skip_filter(&p.name);
                continue;
            }
            if !r.status.is_success() {
                return PreFilterResult { status: r.status.with_plugin(p.name.clone()), node_names: None };
            }
            if let Some(names) = r.node_names {
                out.node_names = Some(match out.node_names.take() {
                    None => names,
                    Some(prev) => prev.intersection(&names).cloned().collect(),
                });
            }
        }
        out
    }

    /// One scheduling cycle's decision for `pod` on `snapshot`: PreFilter, Filter over (a sample
    /// of) the nodes, PreScore, Score, and the best node. Pure: nothing outside `state` changes.
    ///
    /// # Errors
    /// [`ScheduleError::Fit`] when no node fits; [`ScheduleError::Plugin`] when a plugin failed.
    pub fn schedule_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> Result<ScheduleResult, ScheduleError> {
        let fit_error = |diagnosis: Diagnosis| {
            ScheduleError::Fit(Box::new(FitError { pod: pod.key.clone(), num_all_nodes: snapshot.len(), diagnosis }))
        };
        let pre = self.run_pre_filter(state, pod, snapshot);
        if !pre.status.is_success() {
            if pre.status.code() == Code::Error {
                return Err(ScheduleError::Plugin(pre.status));
            }
            let mut d = Diagnosis::default();
            d.unschedulable_plugins.extend(pre.status.plugin().map(str::to_owned));
            d.pre_filter_status = Some(pre.status);
            return Err(fit_error(d));
        }
        let restricted: Vec<Arc<NodeInfo>>;
        let candidates: &[Arc<NodeInfo>] = match &pre.node_names {
            None => snapshot.nodes(),
            Some(names) => {
                let mut v: Vec<_> = names.iter().filter_map(|n| snapshot.get(n).cloned()).collect();
                v.sort_by(|a, b| a.name().cmp(b.name()));
                restricted = v;
                &restricted
            }
        };
        // Kubernetes' evaluateNominatedNode: a pod that preempted goes where its victims left.
        if let Some(node) = self.nominated_node(pod, snapshot, pre.node_names.as_ref()) {
            let s = self.run_filters_with_nominated(state, pod, node, snapshot.nominated());
            if s.is_success() {
                return Ok(ScheduleResult { node: node.name().to_owned(), evaluated_nodes: 1, feasible_nodes: 1 });
            }
            if s.code() == Code::Error {
                return Err(ScheduleError::Plugin(s));
            }
        }
        let (feasible, diagnosis, evaluated) = self.find_feasible(state, pod, candidates, snapshot.nominated())?;
        if feasible.is_empty() {
            return Err(fit_error(diagnosis));
        }
        let feasible_nodes = feasible.len();
        if feasible.len() == 1 {
            let node = feasible[0].name().to_owned();
            return Ok(ScheduleResult { node, evaluated_nodes: evaluated, feasible_nodes });
        }
        let totals = self.prioritize(state, pod, snapshot, &feasible)?;
        let best = self.select_host(&totals);
        Ok(ScheduleResult { node: feasible[best].name().to_owned(), evaluated_nodes: evaluated, feasible_nodes })
    }

    /// The node `pod` is nominated to (by this scheduler's preemption, or its
    /// `status.nominatedNodeName`), if it is in the snapshot and allowed by PreFilter.
    fn nominated_node<'s>(
        &self,
        pod: &PodInfo,
        snapshot: &'s Snapshot,
        allowed: Option<&std::collections::HashSet<String>>,
    ) -> Option<&'s Arc<NodeInfo>> {
        let name = snapshot
            .nominated()
            .node_of(&pod.key)
            .or_else(|| pod.pod.status.nominated_node_name.as_deref().filter(|n| !n.is_empty()))?;
        if allowed.is_some_and(|names| !names.contains(name)) {
            return None;
        }
        snapshot.get(name)
    }

    /// Filter on `node` counting the pods nominated there that `pod` must leave room for (other
    /// pods of equal or higher priority), as Kubernetes' `RunFilterPluginsWithNominatedPods`:
    /// the pod must fit both with them and without them. Nodes without such pods are filtered
    /// as they are; the others on a copy.
    ///
    /// PreFilter state is not adjusted for the nominated pods (there are no PreFilter
    /// extensions), so plugins that precompute cluster-wide state in PreFilter (inter-pod
    /// affinity, topology spread) see them only through the node itself.
    pub fn run_filters_with_nominated(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
        nominated: &Nominator,
    ) -> Status {
        self.filter_with_nominated(&self.active_filters(state), state, pod, node, nominated)
    }

    /// [`run_filters_with_nominated`](Self::run_filters_with_nominated) with the cycle's Filter
    /// plugins already picked out.
    fn filter_with_nominated(
        &self,
        filters: &[&Named<dyn FilterPlugin>],
        state: &CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
        nominated: &Nominator,
    ) -> Status {
        if nominated.is_empty() {
            return run_filter_plugins(filters.iter().copied(), state, pod, node);
        }
        let mut blocking = nominated.blocking(pod, node.name()).peekable();
        if blocking.peek().is_none() {
            return run_filter_plugins(filters.iter().copied(), state, pod, node);
        }
        let mut with = node.clone();
        for p in blocking {
            with.add_pod(p.clone());
        }
        let s = run_filter_plugins(filters.iter().copied(), state, pod, &with);
        if !s.is_success() {
            return s;
        }
        run_filter_plugins(filters.iter().copied(), state, pod, node)
    }

    /// Filter over `nodes`, starting where the previous cycle stopped and ending once enough
    /// feasible nodes are found. Returns the feasible nodes, the diagnosis (empty when a node
    /// was found) and how many nodes ran.
    ///
    /// On several threads, nodes are filtered in chunks claimed in order; the result is then
    /// cut at the node where the serial loop would have stopped (the `want`-th feasible one), so
    /// the feasible nodes, the diagnosis and the next starting node do not depend on timing.
    fn find_feasible(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        nodes: &[Arc<NodeInfo>],
        nominated: &Nominator,
    ) -> Result<(Vec<Arc<NodeInfo>>, Diagnosis, usize), ScheduleError> {
        let n = nodes.len();
        let mut diagnosis = Diagnosis::default();
        if n == 0 {
            return Ok((Vec::new(), diagnosis, 0));
        }
        let want = num_feasible_nodes_to_find(n, self.percentage_of_nodes_to_score);
        let start = self.next_start_node.load(Ordering::Relaxed) % n;
        let filters = self.active_filters(state);
        let parallel = want >= self.parallel_threshold && self.parallelizer.threads() > 1;
        let found = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let run = |range: std::ops::Range<usize>| -> Chunk {
            let expected = if parallel { range.len() } else { want };
            let mut c = Chunk { end: range.start, feasible: Vec::with_capacity(expected), ..Chunk::default() };
            warm(nodes, start, range.start, range.start + WARM_AHEAD);
            for i in range {
                // Serially the loop stops at the exact node; in parallel a chunk runs to its end.
                if !parallel && found.load(Ordering::Relaxed) >= want {
                    break;
                }
                c.end = i + 1;
                if i % WARM_AHEAD == 0 {
                    warm(nodes, start, i + WARM_AHEAD, i + 2 * WARM_AHEAD);
                }
                let s = self.filter_with_nominated(&filters, state, pod, &nodes[(start + i) % n], nominated);
                if s.is_success() {
                    c.feasible.push(i);
                    if !parallel {
                        found.fetch_add(1, Ordering::Relaxed);
                    }
                } else if s.code() == Code::Error {
                    c.error = Some(s);
                    failed.store(true, Ordering::Relaxed);
                    break;
                } else {
                    c.rejected.push((i, s));
                }
            }
            if parallel {
                found.fetch_add(c.feasible.len(), Ordering::Relaxed);
            }
            c
        };
        let enough = || failed.load(Ordering::Relaxed) || found.load(Ordering::Relaxed) >= want;
        let chunk = if parallel { Parallelizer::chunk_size(n) } else { n };
        let mut chunks = self.parallelizer.for_chunks(n, chunk, parallel, run, enough);
        let mut feasible: Vec<usize> = Vec::new();
        let mut processed = 0;
        for (_, c) in &mut chunks {
            if let Some(e) = c.error.take() {
                return Err(ScheduleError::Plugin(e));
            }
            if feasible.is_empty() {
                feasible = std::mem::take(&mut c.feasible);
            } else {
                feasible.append(&mut c.feasible);
            }
            processed = c.end;
        }
        if feasible.len() >= want {
            feasible.truncate(want);
            processed = feasible[want - 1] + 1;
        }
        // The diagnosis only explains a pod that fits nowhere; with a node found it would be
        // thrown away (on a filling cluster, hundreds of rejected nodes a cycle).
        if feasible.is_empty() {
            for (_, c) in chunks {
                for (i, s) in c.rejected.into_iter().take_while(|(i, _)| *i < processed) {
                    diagnosis.record(nodes[(start + i) % n].name(), s);
                }
            }
        }
        self.next_start_node.store((start + processed) % n, Ordering::Relaxed);
        let feasible = feasible.into_iter().map(|i| nodes[(start + i) % n].clone()).collect();
        Ok((feasible, diagnosis, processed))
    }
}
