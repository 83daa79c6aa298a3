//! The ranking half of a scheduling cycle: PreScore, Score (in parallel), normalize, weigh, select.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::parallel::Parallelizer;
use super::*;
use crate::{NodeInfo, PodInfo, Snapshot};

impl Framework {
    /// PreScore, then every Score plugin on every feasible node; returns the weighted sum per
    /// node (in the order of `feasible`).
    ///
    /// # Errors
    /// [`ScheduleError::Plugin`] when a plugin fails or a normalized score leaves `0..=100`.
    pub fn prioritize(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        feasible: &[Arc<NodeInfo>],
    ) -> Result<Vec<i64>, ScheduleError> {
        for p in &self.pre_score {
            let s = p.plugin.pre_score(state, pod, snapshot, feasible);
            if s.is_skip() {
                state.skip_score(&p.name);
            } else if !s.is_success() {
                return Err(ScheduleError::Plugin(s.with_plugin(p.name.clone())));
            }
        }
        let state: &CycleState = state;
        let active: Vec<&(Named<dyn ScorePlugin>, i64)> =
            self.score.iter().filter(|(p, _)| !state.is_score_skipped(&p.name)).collect();
        let n = feasible.len();
        let mut totals = vec![0i64; n];
        if active.is_empty() {
            return Ok(totals);
        }
        // One chunk's scores, plugin by plugin: [plugin][node of the chunk].
        let score_range = |range: std::ops::Range<usize>| -> Result<Vec<Vec<i64>>, Status> {
            let mut out = vec![Vec::with_capacity(range.len()); active.len()];
            for node in &feasible[range] {
                for ((p, _), scores) in active.iter().zip(out.iter_mut()) {
                    scores.push(p.plugin.score(state, pod, node).map_err(|s| s.with_plugin(p.name.clone()))?);
                }
            }
            Ok(out)
        };
        let parallel = n >= self.parallel_threshold && self.parallelizer.threads() > 1;
        let chunk = if parallel { Parallelizer::chunk_size(n) } else { n };
        let mut parts = self.parallelizer.for_chunks(n, chunk, parallel, score_range, || false).into_iter();
        // scores[plugin][node]; serially the one chunk is the whole.
        let mut scores = match parts.next() {
            Some((_, first)) => first.map_err(ScheduleError::Plugin)?,
            None => return Ok(totals),
        };
        for (_, part) in parts {
            for (all, chunk) in scores.iter_mut().zip(part.map_err(ScheduleError::Plugin)?) {
                all.extend(chunk);
            }
        }
        for (i, (p, weight)) in active.iter().enumerate() {
            let s = p.plugin.normalize_scores(state, pod, &mut scores[i]);
            if !s.is_success() {
                return Err(ScheduleError::Plugin(s.with_plugin(p.name.clone())));
            }
            for (j, v) in scores[i].iter().enumerate() {
                if !(0..=MAX_NODE_SCORE).contains(v) {
                    return Err(ScheduleError::Plugin(
                        Status::error(format!("score {v} of node {} is outside 0..=100", feasible[j].name()))
                            .with_plugin(p.name.clone()),
                    ));
                }
                totals[j] += v * weight;
            }
        }
        Ok(totals)
    }

    /// The index of the highest total; ties are broken uniformly at random (reservoir sampling
    /// on the framework's seeded generator), as Kubernetes does.
    pub fn select_host(&self, totals: &[i64]) -> usize {
        let mut best = 0;
        let mut ties = 0u64;
        for (i, &s) in totals.iter().enumerate() {
            if i == 0 || s > totals[best] {
                best = i;
                ties = 1;
            } else if s == totals[best] {
                ties += 1;
                if self.next_random() % ties == 0 {
                    best = i;
                }
            }
        }
        best
    }

    fn next_random(&self) -> u64 {
        // xorshift64*; a lost update between threads only costs randomness, not correctness.
        let mut x = self.rng.load(Ordering::Relaxed);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.store(x, Ordering::Relaxed);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}
