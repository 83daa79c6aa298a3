//! The sequential specification the checker holds a history to: one register per key, with
//! get, put, create, update, compare-and-swap and delete.

use std::fmt;

/// What a client asked of one key.
///
/// Values written should be unique across a history (the workload writes `client.seq`): then a
/// compare-and-swap on a resourceVersion is faithfully a compare-and-swap on the value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Input {
    /// Read the value.
    Get,
    /// Write the value, whether or not the key exists.
    Put(String),
    /// Write the value only if the key does not exist.
    Create(String),
    /// Write the value only if the key exists.
    Update(String),
    /// Write `new` only if the value is `expected` (a transaction comparing the value, or an
    /// update carrying the resourceVersion at which `expected` was read).
    Cas {
        /// The value the key must hold.
        expected: String,
        /// The value to write.
        new: String,
    },
    /// Delete the key.
    Delete,
}

/// The kind of an [`Input`], for choosing which operations a workload issues.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// [`Input::Get`].
    Get,
    /// [`Input::Put`].
    Put,
    /// [`Input::Create`].
    Create,
    /// [`Input::Update`].
    Update,
    /// [`Input::Cas`].
    Cas,
    /// [`Input::Delete`].
    Delete,
}

impl Input {
    /// Its kind.
    pub fn kind(&self) -> OpKind {
        match self {
            Input::Get => OpKind::Get,
            Input::Put(_) => OpKind::Put,
            Input::Create(_) => OpKind::Create,
            Input::Update(_) => OpKind::Update,
            Input::Cas { .. } => OpKind::Cas,
            Input::Delete => OpKind::Delete,
        }
    }

    /// Whether it may change the key.
    pub fn is_write(&self) -> bool {
        !matches!(self, Input::Get)
    }
}

/// What the store answered.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Output {
    /// The value a [`Input::Get`] read (`None`: no such key).
    Value(Option<String>),
    /// A [`Input::Put`] was done.
    Done,
    /// Whether a conditional write or a delete took effect (a delete: whether the key existed).
    Applied(bool),
    /// The store refused the request and guarantees it changed nothing (for example a write
    /// that gave up after too many concurrent writers). Fits any state.
    Failed,
}

/// The state of one key: its value, or `None` when it does not exist.
pub type State = Option<String>;

/// Applies `input` to `state` if `output` is what the specification answers there.
///
/// Returns the new state, or `None` when `output` cannot be the answer in `state`. An unknown
/// output (`None`, the call timed out) fits every state and takes effect; an operation that
/// may not have taken effect is linearized after everything else, where its effect is invisible.
///
/// ```
/// use orch_store::testkit::linearizability::{Input, Output, step};
/// let empty = None;
/// let put = step(&empty, &Input::Put("a".into()), Some(&Output::Done)).unwrap();
/// assert_eq!(put.as_deref(), Some("a"));
/// assert_eq!(step(&put, &Input::Get, Some(&Output::Value(None))), None, "a get must see the put");
/// let cas = Input::Cas { expected: "a".into(), new: "b".into() };
/// assert_eq!(step(&put, &cas, Some(&Output::Applied(true))).unwrap().as_deref(), Some("b"));
/// ```
pub fn step(state: &State, input: &Input, output: Option<&Output>) -> Option<State> {
    if output == Some(&Output::Failed) {
        return Some(state.clone());
    }
    let (applies, next) = match input {
        Input::Get => {
            return match output {
                None => Some(state.clone()),
                Some(Output::Value(v)) if v == state => Some(state.clone()),
                Some(_) => None,
            };
        }
        Input::Put(v) => {
            return match output {
                None | Some(Output::Done) => Some(Some(v.clone())),
                Some(_) => None,
            };
        }
        Input::Create(v) => (state.is_none(), Some(v.clone())),
        Input::Update(v) => (state.is_some(), Some(v.clone())),
        Input::Cas { expected, new } => (state.as_ref() == Some(expected), Some(new.clone())),
        Input::Delete => (state.is_some(), None),
    };
    match output {
        Some(Output::Applied(claimed)) if *claimed != applies => None,
        Some(Output::Applied(_)) | None => Some(if applies { next } else { state.clone() }),
        Some(_) => None,
    }
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::Get => write!(f, "get"),
            Input::Put(v) => write!(f, "put {v}"),
            Input::Create(v) => write!(f, "create {v}"),
            Input::Update(v) => write!(f, "update {v}"),
            Input::Cas { expected, new } => write!(f, "cas {expected} -> {new}"),
            Input::Delete => write!(f, "delete"),
        }
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Output::Value(Some(v)) => write!(f, "{v}"),
            Output::Value(None) => write!(f, "(none)"),
            Output::Done => write!(f, "ok"),
            Output::Applied(b) => write!(f, "{b}"),
            Output::Failed => write!(f, "failed, no effect"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> State {
        Some(v.to_owned())
    }

    #[test]
    fn conditional_writes_answer_whether_they_applied() {
        let cases: [(State, Input, Output, Option<State>); 9] = [
            (None, Input::Create("a".into()), Output::Applied(true), Some(s("a"))),
            (s("x"), Input::Create("a".into()), Output::Applied(false), Some(s("x"))),
            (s("x"), Input::Create("a".into()), Output::Applied(true), None),
            (None, Input::Update("a".into()), Output::Applied(false), Some(None)),
            (s("x"), Input::Update("a".into()), Output::Applied(true), Some(s("a"))),
            (s("x"), Input::Cas { expected: "y".into(), new: "a".into() }, Output::Applied(true), None),
            (s("x"), Input::Delete, Output::Applied(true), Some(None)),
            (None, Input::Delete, Output::Applied(true), None),
            (s("x"), Input::Get, Output::Applied(true), None),
        ];
        for (state, input, output, want) in cases {
            assert_eq!(step(&state, &input, Some(&output)), want, "{input} -> {output} in {state:?}");
        }
    }

    #[test]
    fn unknown_outcomes_fit_any_state_and_failures_change_nothing() {
        assert_eq!(step(&s("x"), &Input::Put("a".into()), None), Some(s("a")));
        assert_eq!(step(&s("x"), &Input::Create("a".into()), None), Some(s("x")));
        assert_eq!(step(&s("x"), &Input::Delete, Some(&Output::Failed)), Some(s("x")));
    }
}
