//! Extension points that rank the feasible nodes: PreScore and Score (with NormalizeScore).

use std::sync::Arc;

use super::{CycleState, Plugin, Status};
use crate::{NodeInfo, PodInfo, Snapshot};

/// The highest score a plugin gives a node (after normalization).
pub const MAX_NODE_SCORE: i64 = 100;

/// Runs once per cycle before Score with the nodes that passed Filter.
///
/// # Contract
/// Pure; writes the cycle state. `Skip` means the plugin's Score is not called this cycle.
///
/// ```
/// use std::sync::Arc;
/// use orch_sched::*;
/// struct Feasible(usize);
/// struct CountNodes;
/// impl Plugin for CountNodes { fn name(&self) -> &str { "CountNodes" } }
/// impl PreScorePlugin for CountNodes {
///     fn pre_score(&self, state: &mut CycleState, _: &PodInfo, _: &Snapshot, nodes: &[Arc<NodeInfo>]) -> Status {
///         state.write(Feasible(nodes.len()));
///         Status::success()
///     }
/// }
/// ```
pub trait PreScorePlugin: Plugin {
    /// Prepares scoring of `feasible` nodes.
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        feasible: &[Arc<NodeInfo>],
    ) -> Status;
}

/// Scores one feasible node; higher is better. Scores are normalized to `0..=MAX_NODE_SCORE`,
/// multiplied by the plugin's weight and summed over plugins.
///
/// # Contract
/// `score` is pure and thread-safe (called for many nodes, maybe in parallel). A plugin whose raw
/// scores are not already in `0..=100` rescales them in `normalize_scores`, which sees every
/// node's score at once (in the order of the feasible nodes). An `Err` aborts the cycle.
///
/// ```
/// use orch_sched::*;
/// struct PreferSsd;
/// impl Plugin for PreferSsd { fn name(&self) -> &str { "PreferSsd" } }
/// impl ScorePlugin for PreferSsd {
///     fn score(&self, _: &CycleState, _: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
///         Ok(if node.labels().get("disk").map(String::as_str) == Some("ssd") { MAX_NODE_SCORE } else { 0 })
///     }
/// }
/// ```
pub trait ScorePlugin: Plugin {
    /// The raw score of `node`.
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status>;

    /// Rescales all raw scores into `0..=MAX_NODE_SCORE` (default: leave them).
    fn normalize_scores(&self, _state: &CycleState, _pod: &PodInfo, _scores: &mut [i64]) -> Status {
        Status::success()
    }
}

/// Scales `scores` so that the highest becomes [`MAX_NODE_SCORE`] (or, with `reverse`, so that
/// the highest becomes 0 and 0 becomes the maximum) — Kubernetes' `DefaultNormalizeScore`.
///
/// ```
/// let mut s = [1, 2, 4];
/// orch_sched::default_normalize_score(false, &mut s);
/// assert_eq!(s, [25, 50, 100]);
/// orch_sched::default_normalize_score(true, &mut s);
/// assert_eq!(s, [75, 50, 0]);
/// ```
pub fn default_normalize_score(reverse: bool, scores: &mut [i64]) {
    let max = scores.iter().copied().max().unwrap_or(0);
    if max == 0 {
        if reverse {
            scores.iter_mut().for_each(|s| *s = MAX_NODE_SCORE);
        }
        return;
    }
    for s in scores.iter_mut() {
        let v = MAX_NODE_SCORE * *s / max;
        *s = if reverse { MAX_NODE_SCORE - v } else { v };
    }
}

#[allow(dead_code)]
fn _obj_safe(_: &dyn PreScorePlugin, _: &dyn ScorePlugin) {}
