//! The search: Wing and Gong's algorithm with Lowe's memoisation (as in porcupine), per key.
//!
//! A history is linearizable when every operation can be given a point between its call and its
//! return such that the operations, run one at a time in that order, answer what they answered.
//! Keys are independent registers, so the history is checked one key at a time
//! (P-compositionality: a history is linearizable iff each key's sub-history is).
//!
//! For one key the calls and returns form one list in time order. The search walks it: at a
//! call, it tries to linearize that operation now (the model accepts its answer in the current
//! state, and the pair (set of linearized operations, state) was not already explored), lifts
//! the call and its return out of the list and starts again from the front; on reaching a
//! return whose call is still in the list, that operation cannot be placed later, so it
//! backtracks. An unknown outcome's return sits at the very end of time, so the operation can
//! take effect at any point after its call, or never (after everything, where nobody sees it).

use std::collections::HashSet;
use std::fmt;

use super::history::Operation;
use super::model::{State, step};

/// Limits of the search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckConfig {
    /// Most search steps per key before the key's verdict is "inconclusive" (the search is
    /// exponential in the worst case).
    pub max_steps_per_key: u64,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig { max_steps_per_key: 20_000_000 }
    }
}

/// One key whose sub-history has no linearization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The key.
    pub key: String,
    /// Its operations, in call order.
    pub operations: Vec<Operation>,
    /// The longest prefix of a linearization the search found (indexes into `operations`).
    pub longest_prefix: Vec<usize>,
}

/// The verdict over a whole history.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Operations checked.
    pub operations: usize,
    /// Of which writes.
    pub writes: usize,
    /// Of which with an unknown outcome.
    pub unknown: usize,
    /// Keys checked.
    pub keys: usize,
    /// Keys without a linearization.
    pub violations: Vec<Violation>,
    /// Keys whose search hit [`CheckConfig::max_steps_per_key`].
    pub inconclusive: Vec<String>,
    /// Search steps over all keys.
    pub steps: u64,
}

impl CheckReport {
    /// Whether every key has a linearization (and none was inconclusive).
    pub fn is_linearizable(&self) -> bool {
        self.violations.is_empty() && self.inconclusive.is_empty()
    }
}

/// Checks a history against the register-per-key model.
///
/// ```
/// use orch_store::testkit::linearizability::{CheckConfig, History, Input, Output, check};
/// let history = History::new();
/// let put = history.invoke(0, "k", Input::Put("v1".into()));
/// history.complete(put, Output::Done);
/// let get = history.invoke(1, "k", Input::Get);
/// history.complete(get, Output::Value(None)); // stale: the put had returned before the get began
/// let report = check(&history.operations(), &CheckConfig::default());
/// assert!(!report.is_linearizable());
/// assert_eq!(report.violations[0].key, "k");
/// ```
pub fn check(operations: &[Operation], config: &CheckConfig) -> CheckReport {
    let mut by_key: std::collections::BTreeMap<&str, Vec<Operation>> = Default::default();
    for op in operations {
        by_key.entry(op.key.as_str()).or_default().push(op.clone());
    }
    let mut report = CheckReport {
        operations: operations.len(),
        writes: operations.iter().filter(|o| o.input.is_write()).count(),
        unknown: operations.iter().filter(|o| o.output.is_none()).count(),
        keys: by_key.len(),
        ..CheckReport::default()
    };
    for (key, mut ops) in by_key {
        ops.sort_by_key(|o| o.call);
        let (outcome, steps) = Search::new(&ops).run(config.max_steps_per_key);
        report.steps += steps;
        match outcome {
            Outcome::Linearizable => {}
            Outcome::Violation { longest_prefix } => {
                report.violations.push(Violation { key: key.to_owned(), operations: ops, longest_prefix })
            }
            Outcome::Inconclusive => report.inconclusive.push(key.to_owned()),
        }
    }
    report
}

enum Outcome {
    Linearizable,
    Violation { longest_prefix: Vec<usize> },
    Inconclusive,
}

/// A fixed-size set of operation indexes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct BitSet(Box<[u64]>);

impl BitSet {
    fn new(n: usize) -> Self {
        BitSet(vec![0; n.div_ceil(64)].into_boxed_slice())
    }
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn clear(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }
}

/// The event list of one key as a doubly linked list over arrays (nodes `2i` and `2i+1` are the
/// call and return of operation `i`; `head` and `tail` are sentinels), so lifting an operation
/// out and putting it back are O(1).
struct Search<'a> {
    ops: &'a [Operation],
    next: Vec<usize>,
    prev: Vec<usize>,
    head: usize,
    tail: usize,
}

impl<'a> Search<'a> {
    fn new(ops: &'a [Operation]) -> Self {
        let n = ops.len();
        // Returns of unknown outcomes come last; ties cannot happen on the logical clock.
        let mut events: Vec<(u64, bool, usize)> = Vec::with_capacity(2 * n);
        for (i, op) in ops.iter().enumerate() {
            events.push((op.call, false, 2 * i));
            events.push((op.ret.unwrap_or(u64::MAX), true, 2 * i + 1));
        }
        events.sort();
        let (head, tail) = (2 * n, 2 * n + 1);
        let mut next = vec![tail; 2 * n + 2];
        let mut prev = vec![head; 2 * n + 2];
        let mut last = head;
        for &(_, _, node) in &events {
            next[last] = node;
            prev[node] = last;
            last = node;
        }
        next[last] = tail;
        prev[tail] = last;
        Search { ops, next, prev, head, tail }
    }

    fn unlink(&mut self, node: usize) {
        let (p, n) = (self.prev[node], self.next[node]);
        self.next[p] = n;
        self.prev[n] = p;
    }

    fn relink(&mut self, node: usize) {
        let (p, n) = (self.prev[node], self.next[node]);
        self.next[p] = node;
        self.prev[n] = node;
    }

    fn run(mut self, max_steps: u64) -> (Outcome, u64) {
        let n = self.ops.len();
        let mut state: State = None;
        let mut linearized = BitSet::new(n);
        let mut seen: HashSet<(BitSet, State)> = HashSet::new();
        let mut stack: Vec<(usize, State)> = Vec::new();
        let mut longest: Vec<usize> = Vec::new();
        let mut entry = self.next[self.head];
        let mut steps = 0u64;
        while self.next[self.head] != self.tail {
            steps += 1;
            if steps > max_steps {
                return (Outcome::Inconclusive, steps);
            }
            if entry != self.tail && entry % 2 == 0 {
                let i = entry / 2;
                let op = &self.ops[i];
                if let Some(new_state) = step(&state, &op.input, op.output.as_ref()) {
                    let mut with = linearized.clone();
                    with.set(i);
                    if seen.insert((with.clone(), new_state.clone())) {
                        stack.push((i, std::mem::replace(&mut state, new_state)));
                        linearized = with;
                        self.unlink(2 * i);
                        self.unlink(2 * i + 1);
                        if stack.len() > longest.len() {
                            longest = stack.iter().map(|(i, _)| *i).collect();
                        }
                        entry = self.next[self.head];
                        continue;
                    }
                }
                entry = self.next[entry];
            } else {
                // A return whose call is still pending: undo the last choice.
                let Some((i, old)) = stack.pop() else {
                    return (Outcome::Violation { longest_prefix: longest }, steps);
                };
                state = old;
                linearized.clear(i);
                self.relink(2 * i + 1);
                self.relink(2 * i);
                entry = self.next[2 * i];
            }
        }
        (Outcome::Linearizable, steps)
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let placed: HashSet<usize> = self.longest_prefix.iter().copied().collect();
        writeln!(
            f,
            "key {:?}: no linearization of its {} operations; the longest linearizable prefix:",
            self.key,
            self.operations.len()
        )?;
        for &i in &self.longest_prefix {
            writeln!(f, "  {}", describe(&self.operations[i]))?;
        }
        writeln!(f, "then none of the remaining operations fits next; they are:")?;
        for (i, op) in self.operations.iter().enumerate().filter(|(i, _)| !placed.contains(i)).take(20) {
            writeln!(f, "  [{i}] {}", describe(op))?;
        }
        Ok(())
    }
}

fn describe(op: &Operation) -> String {
    let output = op.output.as_ref().map_or("unknown (timed out)".to_owned(), ToString::to_string);
    let ret = op.ret.map_or("never".to_owned(), |r| r.to_string());
    format!("client {} {} -> {} (called at {}, returned at {ret})", op.client, op.input, output, op.call)
}

#[cfg(test)]
mod tests {
    use super::super::model::{Input, Output};
    use super::*;

    /// An operation on key "k" over `[call, ret]`.
    fn op(call: u64, ret: Option<u64>, input: Input, output: Option<Output>) -> Operation {
        Operation { client: call as usize, key: "k".into(), input, output, call, ret }
    }

    fn put(v: &str) -> Input {
        Input::Put(v.into())
    }

    fn val(v: Option<&str>) -> Option<Output> {
        Some(Output::Value(v.map(str::to_owned)))
    }

    fn linearizable(ops: &[Operation]) -> bool {
        check(ops, &CheckConfig::default()).is_linearizable()
    }

    #[test]
    fn sequential_history_is_linearizable_only_if_reads_see_the_last_write() {
        let good = [op(0, Some(1), put("a"), Some(Output::Done)), op(2, Some(3), Input::Get, val(Some("a")))];
        assert!(linearizable(&good));
        let stale = [op(0, Some(1), put("a"), Some(Output::Done)), op(2, Some(3), Input::Get, val(None))];
        assert!(!linearizable(&stale));
    }

    #[test]
    fn overlapping_operations_may_take_effect_in_either_order() {
        // The get overlaps the put: it may see the old or the new value, never a third.
        for seen in [None, Some("a")] {
            let h = [op(0, Some(3), put("a"), Some(Output::Done)), op(1, Some(2), Input::Get, val(seen))];
            assert!(linearizable(&h), "{seen:?}");
        }
        let h = [op(0, Some(3), put("a"), Some(Output::Done)), op(1, Some(2), Input::Get, val(Some("b")))];
        assert!(!linearizable(&h));
    }

    #[test]
    fn reads_cannot_go_back_in_time() {
        // Two reads during one put: once one saw the new value, a later read cannot see the old.
        let h = [
            op(0, Some(9), put("a"), Some(Output::Done)),
            op(1, Some(2), Input::Get, val(Some("a"))),
            op(3, Some(4), Input::Get, val(None)),
        ];
        assert!(!linearizable(&h));
    }

    #[test]
    fn a_timed_out_write_may_take_effect_late_or_never() {
        let timed_out = op(0, None, put("a"), None);
        let later_read_sees_it = [timed_out.clone(), op(5, Some(6), Input::Get, val(Some("a")))];
        assert!(linearizable(&later_read_sees_it));
        let later_read_misses_it = [timed_out.clone(), op(5, Some(6), Input::Get, val(None))];
        assert!(linearizable(&later_read_misses_it));
        // But not before it was called.
        let read_before_call = [op(1, None, put("a"), None), op(0, Some(0), Input::Get, val(Some("a")))];
        assert!(!linearizable(&read_before_call));
        // And once seen, it cannot be unseen.
        let flicker = [timed_out, op(5, Some(6), Input::Get, val(Some("a"))), op(7, Some(8), Input::Get, val(None))];
        assert!(!linearizable(&flicker));
    }

    #[test]
    fn compare_and_swap_must_agree_with_the_value() {
        let cas = |e: &str, n: &str| Input::Cas { expected: e.into(), new: n.into() };
        let h = [
            op(0, Some(1), put("a"), Some(Output::Done)),
            op(2, Some(3), cas("a", "b"), Some(Output::Applied(true))),
            op(4, Some(5), cas("a", "c"), Some(Output::Applied(false))),
            op(6, Some(7), Input::Get, val(Some("b"))),
        ];
        assert!(linearizable(&h));
        // Two concurrent CASes from the same value cannot both succeed.
        let both = [
            op(0, Some(1), put("a"), Some(Output::Done)),
            op(2, Some(5), cas("a", "b"), Some(Output::Applied(true))),
            op(3, Some(6), cas("a", "c"), Some(Output::Applied(true))),
        ];
        assert!(!linearizable(&both));
    }

    #[test]
    fn keys_are_checked_separately_and_the_report_names_the_bad_one() {
        let mut h = vec![op(0, Some(1), put("a"), Some(Output::Done)), op(2, Some(3), Input::Get, val(Some("a")))];
        let mut other = op(4, Some(5), Input::Get, val(Some("ghost")));
        other.key = "other".into();
        h.push(other);
        let report = check(&h, &CheckConfig::default());
        assert_eq!((report.keys, report.operations, report.writes), (2, 3, 1));
        assert_eq!(report.violations.len(), 1);
        let text = report.violations[0].to_string();
        assert!(text.contains("key \"other\"") && text.contains("get -> ghost"), "{text}");
    }

    #[test]
    fn thousands_of_concurrent_operations_check_quickly() {
        // A simulated atomic register per key with 8 overlapping clients: each operation takes
        // effect at a random point of its interval.
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut values: std::collections::HashMap<String, Option<String>> = Default::default();
        let mut ops = Vec::new();
        let mut open: Vec<(u64, Input, String, Option<Output>)> = Vec::new();
        for t in 0..20_000u64 {
            if open.len() < 8 || next() % 3 == 0 {
                let key = format!("k{}", next() % 10);
                let state = values.entry(key.clone()).or_default();
                let input = match next() % 4 {
                    0 => Input::Get,
                    1 => Input::Put(format!("v{t}")),
                    2 => Input::Cas { expected: state.clone().unwrap_or_default(), new: format!("v{t}") },
                    _ => Input::Delete,
                };
                // It takes effect now, at its call's time or later (before its return).
                let output = match &input {
                    Input::Get => Output::Value(state.clone()),
                    Input::Put(v) => {
                        *state = Some(v.clone());
                        Output::Done
                    }
                    Input::Cas { expected, new } => {
                        let hit = state.as_ref() == Some(expected);
                        if hit {
                            *state = Some(new.clone());
                        }
                        Output::Applied(hit)
                    }
                    _ => Output::Applied(state.take().is_some()),
                };
                let output = if next() % 50 == 0 { None } else { Some(output) };
                open.push((t, input, key, output));
            } else {
                let (call, input, key, output) = open.swap_remove((next() % open.len() as u64) as usize);
                let ret = output.as_ref().map(|_| t);
                ops.push(Operation { client: 0, key, input, output, call, ret });
            }
        }
        assert!(ops.len() > 5_000);
        let report = check(&ops, &CheckConfig::default());
        assert!(report.is_linearizable(), "{:?}", report.violations.first().map(ToString::to_string));
    }
}
