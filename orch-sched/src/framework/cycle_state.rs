//! `CycleState`: typed state of one scheduling cycle, written by PreFilter/PreScore, read later.

use std::any::{Any, TypeId};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Per-cycle state shared by the plugins of one scheduling cycle.
///
/// Entries are keyed by their Rust type, so each plugin owns its own state type and two plugins
/// can never overwrite each other. PreFilter and PreScore receive `&mut CycleState` and write;
/// Filter and Score receive `&CycleState` and read (Filter may run on several threads at once).
/// Values sit behind `Arc`, so cloning a state (preemption simulates with a copy) is cheap.
///
/// ```
/// use orch_sched::CycleState;
/// struct PreFilterCpu(i64);
/// let mut state = CycleState::new();
/// state.write(PreFilterCpu(250));
/// assert_eq!(state.read::<PreFilterCpu>().map(|s| s.0), Some(250));
/// assert!(state.read::<String>().is_none());
/// ```
#[derive(Clone, Default)]
pub struct CycleState {
    values: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
    skip_filter: HashSet<String>,
    skip_score: HashSet<String>,
}

impl std::fmt::Debug for CycleState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CycleState")
            .field("entries", &self.values.len())
            .field("skip_filter", &self.skip_filter)
            .field("skip_score", &self.skip_score)
            .finish()
    }
}

impl CycleState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `value`, replacing any earlier value of the same type.
    pub fn write<T: Any + Send + Sync>(&mut self, value: T) {
        self.values.insert(TypeId::of::<T>(), Arc::new(value));
    }

    /// Reads the value of type `T`, if one was written this cycle.
    pub fn read<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.values.get(&TypeId::of::<T>()).and_then(|v| v.downcast_ref::<T>())
    }

    /// Removes the value of type `T`.
    pub fn remove<T: Any + Send + Sync>(&mut self) {
        self.values.remove(&TypeId::of::<T>());
    }

    /// Marks a plugin's Filter as skipped for this cycle (its PreFilter returned `Skip`).
    pub fn skip_filter(&mut self, plugin: &str) {
        self.skip_filter.insert(plugin.to_owned());
    }

    /// Whether a plugin's Filter is skipped this cycle.
    pub fn is_filter_skipped(&self, plugin: &str) -> bool {
        !self.skip_filter.is_empty() && self.skip_filter.contains(plugin)
    }

    /// Marks a plugin's Score as skipped for this cycle (its PreScore returned `Skip`).
    pub fn skip_score(&mut self, plugin: &str) {
        self.skip_score.insert(plugin.to_owned());
    }

    /// Whether a plugin's Score is skipped this cycle.
    pub fn is_score_skipped(&self, plugin: &str) -> bool {
        !self.skip_score.is_empty() && self.skip_score.contains(plugin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct A(u32);
    #[derive(Debug, PartialEq)]
    struct B(u32);

    #[test]
    fn values_of_different_types_do_not_collide() {
        let mut s = CycleState::new();
        s.write(A(1));
        s.write(B(2));
        s.write(A(3));
        assert_eq!(s.read::<A>(), Some(&A(3)));
        assert_eq!(s.read::<B>(), Some(&B(2)));
        s.remove::<A>();
        assert_eq!(s.read::<A>(), None);
    }

    #[test]
    fn clone_shares_values_and_keeps_skips() {
        let mut s = CycleState::new();
        s.write(A(7));
        s.skip_filter("X");
        let c = s.clone();
        assert_eq!(c.read::<A>(), Some(&A(7)));
        assert!(c.is_filter_skipped("X") && !c.is_score_skipped("X"));
    }
}
