//! The `Reconciler` trait and the `Action` a reconcile returns.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use orch_core::{Resource, Timestamp};

use super::ObjectKey;

/// What the runtime should do with a key after a successful reconcile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Action {
    requeue_after: Option<Duration>,
}

impl Action {
    /// Reconcile again after `delay` even if nothing changes (also resets the failure backoff).
    pub fn requeue(delay: Duration) -> Self {
        Action { requeue_after: Some(delay) }
    }

    /// Reconcile again only when the object (or something mapped to it) changes.
    pub fn await_change() -> Self {
        Action { requeue_after: None }
    }

    /// The requested delay, if any.
    pub fn requeue_after(&self) -> Option<Duration> {
        self.requeue_after
    }

    /// The sooner of two actions (`await_change` is the latest possible).
    pub fn min(self, other: Action) -> Action {
        match (self.requeue_after, other.requeue_after) {
            (Some(a), Some(b)) => Action::requeue(a.min(b)),
            (Some(_), None) => self,
            _ => other,
        }
    }
}

/// What a reconcile learns about the call besides the object.
#[derive(Clone, Debug)]
pub struct ReconcileContext {
    /// The key being reconciled.
    pub key: ObjectKey,
    /// The time the reconcile started.
    pub now: Timestamp,
    /// Consecutive failures of this key before this attempt.
    pub failures: u32,
}

/// Drives objects of one kind towards their desired state.
///
/// # Contract
/// - `reconcile` is called with the cached state of the object; it must be idempotent (it can
///   run again with the same input at any time) and should compute its decision from the input
///   and caches, then apply it.
/// - Never called for the same key concurrently.
/// - An `Err` re-queues the key with per-key exponential backoff; `Ok` resets the backoff.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use async_trait::async_trait;
/// use orch_controllers::{Action, ReconcileContext, Reconciler};
/// use orch_core::kinds::Pod;
///
/// struct LogUnbound;
///
/// #[async_trait]
/// impl Reconciler for LogUnbound {
///     type Kind = Pod;
///     type Error = std::convert::Infallible;
///     fn name(&self) -> &str { "log-unbound" }
///     async fn reconcile(&self, pod: Arc<Pod>, _ctx: &ReconcileContext) -> Result<Action, Self::Error> {
///         if pod.spec.node_name.is_none() {
///             return Ok(Action::requeue(Duration::from_secs(10))); // look again later
///         }
///         Ok(Action::await_change())
///     }
/// }
/// ```
#[async_trait]
pub trait Reconciler: Send + Sync + 'static {
    /// The kind this reconciler drives.
    type Kind: Resource;
    /// Its error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// A short name for logs, metrics and leases.
    fn name(&self) -> &str;

    /// Reconciles one object present in the cache.
    ///
    /// # Errors
    /// Any failure; the runtime retries with backoff.
    async fn reconcile(&self, obj: Arc<Self::Kind>, ctx: &ReconcileContext) -> Result<Action, Self::Error>;

    /// Called when the key is queued but the object is no longer cached (it was deleted).
    /// The default does nothing.
    ///
    /// # Errors
    /// Any failure; the runtime retries with backoff.
    async fn reconcile_missing(&self, _ctx: &ReconcileContext) -> Result<Action, Self::Error> {
        Ok(Action::await_change())
    }
}

#[allow(dead_code)]
fn _object_safe(_: &dyn Reconciler<Kind = orch_core::kinds::Pod, Error = std::io::Error>) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_prefers_the_sooner_requeue() {
        let a = Action::requeue(Duration::from_secs(5));
        assert_eq!(a.min(Action::requeue(Duration::from_secs(2))), Action::requeue(Duration::from_secs(2)));
        assert_eq!(a.min(Action::await_change()), a);
        assert_eq!(Action::await_change().min(a), a);
    }
}
