//! `Status`: the result of a plugin call, whose code keeps "does not fit" apart from "broke".

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// What a plugin call concluded.
///
/// The codes follow Kubernetes' framework: `Unschedulable` means "not here, but maybe after
/// something changes (or preemption)", `UnschedulableAndUnresolvable` means "not here, and
/// preemption would not help", `Error` means the plugin itself failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Code {
    /// The call succeeded (the pod fits, the node is allowed, ...).
    Success,
    /// The plugin failed for a reason unrelated to the pod fitting (a bug, a broken store).
    Error,
    /// The pod does not fit here now; preemption or a cluster change may help.
    Unschedulable,
    /// The pod does not fit here and preemption cannot help (a node selector, a missing label).
    UnschedulableAndUnresolvable,
    /// Permit only: hold the pod until it is allowed, rejected or the timeout passes.
    Wait,
    /// PreFilter and PreScore only: this plugin has nothing to do for this pod; its Filter or
    /// Score is skipped for the whole cycle.
    Skip,
}

/// The result of a plugin call: a [`Code`], the reasons (human-readable, aggregated into the
/// pod's `PodScheduled` message), and the plugin that produced it.
///
/// `Status::success()` allocates nothing, so the hot path (Filter on thousands of nodes) stays cheap.
///
/// ```
/// use orch_sched::{Code, Status};
/// let s = Status::unschedulable("Insufficient cpu").with_plugin("NodeResourcesFit");
/// assert_eq!(s.code(), Code::Unschedulable);
/// assert!(!s.is_success() && s.is_rejected());
/// assert_eq!(s.reasons(), ["Insufficient cpu"]);
/// assert_eq!(s.plugin(), Some("NodeResourcesFit"));
/// assert!(Status::success().is_success());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    code: Code,
    reasons: Vec<Cow<'static, str>>,
    plugin: Option<Arc<str>>,
}

impl Default for Status {
    fn default() -> Self {
        Status::success()
    }
}

impl Status {
    /// A status with a code and reasons (static strings cost no allocation).
    pub fn new(code: Code, reasons: impl IntoIterator<Item = impl Into<Cow<'static, str>>>) -> Self {
        Status { code, reasons: reasons.into_iter().map(Into::into).collect(), plugin: None }
    }

    /// Success.
    pub const fn success() -> Self {
        Status { code: Code::Success, reasons: Vec::new(), plugin: None }
    }

    /// Unschedulable with one reason.
    pub fn unschedulable(reason: impl Into<Cow<'static, str>>) -> Self {
        Status::new(Code::Unschedulable, [reason])
    }

    /// Unschedulable and unresolvable with one reason.
    pub fn unresolvable(reason: impl Into<Cow<'static, str>>) -> Self {
        Status::new(Code::UnschedulableAndUnresolvable, [reason])
    }

    /// An internal error.
    pub fn error(reason: impl Into<Cow<'static, str>>) -> Self {
        Status::new(Code::Error, [reason])
    }

    /// Skip (PreFilter, PreScore).
    pub const fn skip() -> Self {
        Status { code: Code::Skip, reasons: Vec::new(), plugin: None }
    }

    /// Wait (Permit).
    pub fn wait(reason: impl Into<Cow<'static, str>>) -> Self {
        Status::new(Code::Wait, [reason])
    }

    /// Records which plugin produced the status (the framework does this for every plugin call).
    pub fn with_plugin(mut self, plugin: impl Into<Arc<str>>) -> Self {
        self.plugin = Some(plugin.into());
        self
    }

    /// The code.
    pub fn code(&self) -> Code {
        self.code
    }

    /// The reasons.
    pub fn reasons(&self) -> &[Cow<'static, str>] {
        &self.reasons
    }

    /// The plugin that produced this status, if recorded.
    pub fn plugin(&self) -> Option<&str> {
        self.plugin.as_deref()
    }

    /// Whether the code is `Success`.
    pub fn is_success(&self) -> bool {
        self.code == Code::Success
    }

    /// Whether the code is `Skip`.
    pub fn is_skip(&self) -> bool {
        self.code == Code::Skip
    }

    /// Whether the code is `Unschedulable` or `UnschedulableAndUnresolvable`.
    pub fn is_rejected(&self) -> bool {
        matches!(self.code, Code::Unschedulable | Code::UnschedulableAndUnresolvable)
    }

    /// The reasons joined with `", "`.
    pub fn message(&self) -> String {
        self.reasons.join(", ")
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.plugin {
            Some(p) => write!(f, "{:?} ({p}): {}", self.code, self.message()),
            None => write!(f, "{:?}: {}", self.code, self.message()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unschedulable_codes_count_as_rejected() {
        let cases = [
            (Status::success(), false),
            (Status::error("x"), false),
            (Status::unschedulable("x"), true),
            (Status::unresolvable("x"), true),
            (Status::wait("x"), false),
            (Status::skip(), false),
        ];
        for (status, rejected) in cases {
            assert_eq!(status.is_rejected(), rejected, "{status}");
        }
    }

    #[test]
    fn display_names_code_plugin_and_reasons() {
        let s = Status::new(Code::Unschedulable, ["a", "b"]).with_plugin("P");
        assert_eq!(s.to_string(), "Unschedulable (P): a, b");
    }
}
