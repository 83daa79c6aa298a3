//! `NamespaceController`: deleting a Namespace deletes everything in it, then the Namespace.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use orch_core::kinds::{Deployment, Endpoints, Event, Lease, Namespace, Pod, ReplicaSet, Service};
use orch_core::store::ListParams;
use orch_core::{Api, ObjectStore, Resource, ResourceType, StoreError};

use crate::{Action, Informers, ReconcileContext, Reconciler};

/// Finalizer holding a Namespace until its content is gone.
pub const NAMESPACE_FINALIZER: &str = "orch.io/namespace-content";

/// The Namespace controller (run with `Controller::new(ns, &informers)`).
///
/// It adds [`NAMESPACE_FINALIZER`] to every Namespace it sees; when one is deleted it deletes the
/// objects of every configured kind in it, waits until they are gone (checking every
/// `recheck` period), then removes the finalizer so the store removes the Namespace.
pub struct NamespaceController {
    store: Arc<dyn ObjectStore>,
    kinds: Vec<ResourceType>,
    recheck: Duration,
}

impl NamespaceController {
    /// A controller cleaning up the built-in namespaced kinds.
    pub fn new(informers: &Informers) -> Self {
        NamespaceController {
            store: informers.object_store(),
            kinds: vec![
                Deployment::resource_type(),
                ReplicaSet::resource_type(),
                Pod::resource_type(),
                Service::resource_type(),
                Endpoints::resource_type(),
                Lease::resource_type(),
                Event::resource_type(),
            ],
            recheck: Duration::from_secs(1),
        }
    }

    /// Also cleans up kind `K`.
    pub fn kind<K: Resource>(mut self) -> Self {
        self.kinds.push(K::resource_type());
        self
    }

    /// Sets how often a terminating Namespace is checked again.
    pub fn recheck(mut self, every: Duration) -> Self {
        self.recheck = every;
        self
    }

    /// Deletes what is left; returns how many objects remain.
    async fn delete_content(&self, ns: &str) -> Result<usize, StoreError> {
        let mut remaining = 0;
        for rt in &self.kinds {
            let list = match self.store.list(rt, Some(ns), &ListParams::default()).await {
                Ok(l) => l,
                Err(StoreError::NotFound { .. }) => continue, // kind not served
                Err(e) => return Err(e),
            };
            remaining += list.items.len();
            for obj in list.items.iter().filter(|o| !o.metadata.is_deleting()) {
                match self.store.delete(rt, Some(ns), obj.name(), &Default::default()).await {
                    Ok(_) | Err(StoreError::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(remaining)
    }
}

#[async_trait]
impl Reconciler for NamespaceController {
    type Kind = Namespace;
    type Error = StoreError;

    fn name(&self) -> &str {
        "namespace"
    }

    async fn reconcile(&self, ns: Arc<Namespace>, _ctx: &ReconcileContext) -> Result<Action, StoreError> {
        let has = ns.metadata.finalizers.iter().any(|f| f == NAMESPACE_FINALIZER);
        let api: Api<Namespace> = Api::all(self.store.clone());
        if !ns.metadata.is_deleting() {
            if !has {
                let mut updated = (*ns).clone();
                updated.metadata.finalizers.push(NAMESPACE_FINALIZER.into());
                api.update(&updated).await?;
            }
            return Ok(Action::await_change());
        }
        if !has {
            return Ok(Action::await_change());
        }
        if ns.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Terminating") {
            let mut updated = (*ns).clone();
            updated.status.get_or_insert_with(Default::default).phase = Some("Terminating".into());
            updated.metadata.resource_version = None;
            let _ = api.update_status(&updated).await;
        }
        if self.delete_content(ns.metadata.name_str()).await? > 0 {
            return Ok(Action::requeue(self.recheck));
        }
        let mut updated = (*ns).clone();
        updated.metadata.finalizers.retain(|f| f != NAMESPACE_FINALIZER);
        match api.update(&updated).await {
            Ok(_) | Err(StoreError::NotFound { .. }) => Ok(Action::await_change()),
            Err(e) => Err(e),
        }
    }
}
