//! The finalizer helper: add a finalizer on first sight, clean up on deletion, then remove it.

use std::future::Future;
use std::sync::Arc;

use orch_core::{Api, Resource, StoreError};

use crate::Action;

/// What the wrapped reconcile is asked to do.
#[derive(Debug)]
pub enum FinalizerEvent<K> {
    /// The object is live (and carries the finalizer): bring the world to its desired state.
    Apply(Arc<K>),
    /// The object is being deleted: release whatever it holds. The finalizer is removed after `Ok`.
    Cleanup(Arc<K>),
}

/// Failures of [`finalizer`], with the reconcile's own error as `E`.
#[derive(Debug, thiserror::Error)]
pub enum FinalizerError<E: std::error::Error + 'static> {
    /// The apply step failed.
    #[error("apply failed: {0}")]
    ApplyFailed(#[source] E),
    /// The cleanup step failed; the finalizer stays.
    #[error("cleanup failed: {0}")]
    CleanupFailed(#[source] E),
    /// Writing the added finalizer failed.
    #[error("adding the finalizer failed: {0}")]
    AddFinalizer(#[source] StoreError),
    /// Writing the removed finalizer failed.
    #[error("removing the finalizer failed: {0}")]
    RemoveFinalizer(#[source] StoreError),
}

/// Runs `reconcile` under finalizer `name`:
/// - live object without the finalizer: adds it (the write queues the object again) and returns;
/// - live object with it: `reconcile(Apply)`;
/// - deleting object with it: `reconcile(Cleanup)`, then removes the finalizer;
/// - deleting object without it: nothing to do.
///
/// Writes use the object's resourceVersion, so a stale cache gets `Conflict` (and a retry).
///
/// # Errors
/// See [`FinalizerError`].
///
/// ```
/// use std::sync::Arc;
/// use orch_controllers::finalizer::{finalizer, FinalizerError, FinalizerEvent};
/// use orch_controllers::Action;
/// use orch_core::{Api, kinds::Service};
///
/// async fn reconcile(api: Api<Service>, svc: Arc<Service>) -> Result<Action, FinalizerError<std::io::Error>> {
///     finalizer(&api, "example.com/cleanup", svc, |ev| async move {
///         match ev {
///             FinalizerEvent::Apply(_svc) => Ok(Action::await_change()),
///             FinalizerEvent::Cleanup(_svc) => Ok(Action::await_change()),
///         }
///     })
///     .await
/// }
/// ```
pub async fn finalizer<K, E, F, Fut>(
    api: &Api<K>,
    name: &str,
    obj: Arc<K>,
    reconcile: F,
) -> Result<Action, FinalizerError<E>>
where
    K: Resource,
    E: std::error::Error + 'static,
    F: FnOnce(FinalizerEvent<K>) -> Fut,
    Fut: Future<Output = Result<Action, E>>,
{
    let has = obj.meta().finalizers.iter().any(|f| f == name);
    match (obj.meta().is_deleting(), has) {
        (false, false) => {
            let mut updated = (*obj).clone();
            updated.meta_mut().finalizers.push(name.to_owned());
            api.update(&updated).await.map_err(FinalizerError::AddFinalizer)?;
            Ok(Action::await_change())
        }
        (false, true) => reconcile(FinalizerEvent::Apply(obj)).await.map_err(FinalizerError::ApplyFailed),
        (true, true) => {
            let action =
                reconcile(FinalizerEvent::Cleanup(obj.clone())).await.map_err(FinalizerError::CleanupFailed)?;
            let mut updated = (*obj).clone();
            updated.meta_mut().finalizers.retain(|f| f != name);
            match api.update(&updated).await {
                Ok(_) | Err(StoreError::NotFound { .. }) => Ok(action),
                Err(e) => Err(FinalizerError::RemoveFinalizer(e)),
            }
        }
        (true, false) => Ok(Action::await_change()),
    }
}
