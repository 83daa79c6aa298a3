//! A series of checked trials: a fresh store and seed each, every history checked, the figures
//! summed for a report.

use std::future::Future;
use std::sync::Arc;

use super::checker::{CheckConfig, check};
use super::workload::{ModelStore, Workload, run_workload};

/// What a series of trials did; every trial was linearizable.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrialFigures {
    /// Trials run.
    pub trials: u64,
    /// Operations checked.
    pub operations: usize,
    /// Of which writes (applied or refused).
    pub writes: usize,
    /// Writes the store said took effect.
    pub writes_applied: usize,
    /// Calls abandoned at an injected deadline.
    pub injected_timeouts: usize,
    /// Operations with an unknown outcome.
    pub unknown_outcomes: usize,
    /// Search steps of the checker.
    pub search_steps: u64,
}

impl TrialFigures {
    /// The figures as one JSON object, named `name`, with `"violations":0`.
    pub fn to_json(&self, name: &str) -> String {
        serde_json::json!({
            "lin": name,
            "trials": self.trials,
            "operations": self.operations,
            "writes": self.writes,
            "writes_applied": self.writes_applied,
            "injected_timeouts": self.injected_timeouts,
            "unknown_outcomes": self.unknown_outcomes,
            "search_steps": self.search_steps,
            "violations": 0,
        })
        .to_string()
    }
}

/// Runs `trials` trials, trial `seed` with `workload(seed)` against `open(seed)`, checks each
/// history, and returns the summed figures.
///
/// # Panics
/// On a history that is not linearizable (with the checker's report), a key the search gave
/// up on, a call that failed without an injected fault, or a series in which no injected
/// timeout fired (unknown outcomes would then be untested).
///
/// ```
/// use std::sync::Arc;
/// use orch_store::mem::MemKv;
/// use orch_store::testkit::linearizability::{KvModelStore, ModelStore, Workload, check_trials};
/// # #[tokio::main] async fn main() {
/// let open = |seed: u64| async move {
///     Arc::new(KvModelStore::new(Arc::new(MemKv::new()), format!("t{seed}/"))) as Arc<dyn ModelStore>
/// };
/// let workload = |seed| Workload::default().ops_per_client(50).seed(seed).timeouts(0.2, std::time::Duration::from_millis(2));
/// let figures = check_trials("mem_kv", 2, workload, open).await;
/// assert_eq!(figures.operations, 400);
/// # }
/// ```
pub async fn check_trials<W, F, Fut>(name: &str, trials: u64, workload: W, mut open: F) -> TrialFigures
where
    W: Fn(u64) -> Workload,
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Arc<dyn ModelStore>>,
{
    let mut figures = TrialFigures { trials, ..TrialFigures::default() };
    for seed in 0..trials {
        let store = open(seed).await;
        let (history, stats) = run_workload(store, &workload(seed)).await;
        assert_eq!(stats.indefinite, 0, "{name}, seed {seed}: calls failed without an injected fault");
        let report = check(&history.operations(), &CheckConfig::default());
        if let Some(v) = report.violations.first() {
            panic!("{name}, seed {seed}: not linearizable:\n{v}");
        }
        assert!(report.inconclusive.is_empty(), "{name}, seed {seed}: search gave up on {:?}", report.inconclusive);
        figures.operations += report.operations;
        figures.writes += report.writes;
        figures.unknown_outcomes += report.unknown;
        figures.search_steps += report.steps;
        figures.writes_applied += stats.writes_applied;
        figures.injected_timeouts += stats.injected_timeouts;
    }
    assert!(figures.injected_timeouts > 0, "{name}: no injected timeout fired, so unknown outcomes went untested");
    figures
}
