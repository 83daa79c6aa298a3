//! `DefaultBinder`: binds through the object store's `binding` subresource.

use std::sync::Arc;

use futures::future::BoxFuture;
use orch_core::ObjectStore;

use crate::{BindPlugin, CycleState, Plugin, PodInfo, Status};

/// The plugin's name.
pub const DEFAULT_BINDER: &str = "DefaultBinder";

/// Writes `spec.nodeName` with [`ObjectStore::bind`], which fails with `Conflict` when the pod is
/// already bound, so two schedulers can never bind one pod twice.
#[derive(Clone)]
pub struct DefaultBinder {
    store: Arc<dyn ObjectStore>,
}

impl DefaultBinder {
    /// A binder over `store`.
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        DefaultBinder { store }
    }
}

impl Plugin for DefaultBinder {
    fn name(&self) -> &str {
        DEFAULT_BINDER
    }
}

impl BindPlugin for DefaultBinder {
    fn bind<'a>(&'a self, _: &'a CycleState, pod: &'a PodInfo, node: &'a str) -> BoxFuture<'a, Status> {
        Box::pin(async move {
            let ns = pod.pod.metadata.namespace_str();
            let name = pod.pod.metadata.name_str();
            match self.store.bind(ns, name, node).await {
                Ok(_) => Status::success(),
                Err(e) => Status::error(format!("binding {ns}/{name} to {node}: {e}")),
            }
        })
    }
}
