//! Recording a history: every invocation and response of concurrent clients, stamped by one
//! logical clock so that "returned before it was called" is exact.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::model::{Input, Output};

/// One operation of a history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    /// Which client issued it (for reports only).
    pub client: usize,
    /// The key it addressed; operations on different keys are checked separately.
    pub key: String,
    /// What was asked.
    pub input: Input,
    /// What was answered; `None` when the outcome is unknown (the call timed out or failed in a
    /// way that does not say whether it took effect).
    pub output: Option<Output>,
    /// When it was invoked.
    pub call: u64,
    /// When its answer arrived; `None` for an unknown outcome (it may take effect at any time
    /// after `call`).
    pub ret: Option<u64>,
}

/// A call in flight: complete it with [`History::complete`] or [`History::abandon`].
#[derive(Debug)]
#[must_use = "an invocation must be completed or abandoned, or it is missing from the history"]
pub struct Pending {
    client: usize,
    key: String,
    input: Input,
    call: u64,
}

impl Pending {
    /// What was asked.
    pub fn input(&self) -> &Input {
        &self.input
    }
}

/// A history under construction, shared by concurrent clients (wrap it in an `Arc`).
///
/// ```
/// use orch_store::testkit::linearizability::{History, Input, Output};
/// let history = History::new();
/// let put = history.invoke(0, "k", Input::Put("v1".into()));
/// let get = history.invoke(1, "k", Input::Get); // concurrent with the put
/// history.complete(put, Output::Done);
/// history.complete(get, Output::Value(None)); // may have run before the put
/// let lost = history.invoke(0, "k", Input::Delete);
/// history.abandon(lost); // timed out: it may or may not have taken effect
/// assert_eq!(history.operations().len(), 3);
/// ```
#[derive(Debug, Default)]
pub struct History {
    clock: AtomicU64,
    operations: Mutex<Vec<Operation>>,
}

impl History {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `client` invokes `input` on `key`, just before the request is sent.
    pub fn invoke(&self, client: usize, key: impl Into<String>, input: Input) -> Pending {
        let call = self.clock.fetch_add(1, Ordering::SeqCst);
        Pending { client, key: key.into(), input, call }
    }

    /// Records the answer to a call, just after it arrived.
    pub fn complete(&self, pending: Pending, output: Output) {
        let ret = self.clock.fetch_add(1, Ordering::SeqCst);
        self.push(pending, Some(output), Some(ret));
    }

    /// Records that a call's outcome is unknown (timed out, connection lost, ...).
    pub fn abandon(&self, pending: Pending) {
        self.push(pending, None, None);
    }

    fn push(&self, p: Pending, output: Option<Output>, ret: Option<u64>) {
        let op = Operation { client: p.client, key: p.key, input: p.input, output, call: p.call, ret };
        self.operations.lock().unwrap_or_else(|e| e.into_inner()).push(op);
    }

    /// The operations recorded so far, in the order they completed.
    pub fn operations(&self) -> Vec<Operation> {
        self.operations.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
