//! A store that injects watch faults: it delegates everything to a real store, except the
//! watches its hook decides to replace (with an error, a hang, a `Gone`...).

use std::sync::Arc;

use async_trait::async_trait;
use orch_core::patch::Patch;
use orch_core::store::{
    DeleteOptions, DeleteOutcome, ListParams, ObjectList, PatchOptions, WatchParams, WatchStream, WriteOptions,
};
use orch_core::{DynamicObject, ObjectStore, ResourceType, StoreError};

/// Decides a watch: `Some(stream)` replaces it, `None` lets the real store answer.
pub type WatchHook = Box<dyn Fn(&ResourceType, &WatchParams) -> Option<WatchStream> + Send + Sync>;

/// The real store `inner`, with watches going through `hook` first.
pub struct WatchFaults {
    pub inner: Arc<dyn ObjectStore>,
    pub hook: WatchHook,
}

#[async_trait]
impl ObjectStore for WatchFaults {
    async fn create(&self, rt: &ResourceType, o: DynamicObject, w: &WriteOptions) -> Result<DynamicObject, StoreError> {
        self.inner.create(rt, o, w).await
    }
    async fn get(&self, rt: &ResourceType, ns: Option<&str>, name: &str) -> Result<DynamicObject, StoreError> {
        self.inner.get(rt, ns, name).await
    }
    async fn list(&self, rt: &ResourceType, ns: Option<&str>, p: &ListParams) -> Result<ObjectList, StoreError> {
        self.inner.list(rt, ns, p).await
    }
    async fn update(&self, rt: &ResourceType, o: DynamicObject, w: &WriteOptions) -> Result<DynamicObject, StoreError> {
        self.inner.update(rt, o, w).await
    }
    async fn update_status(
        &self,
        rt: &ResourceType,
        o: DynamicObject,
        w: &WriteOptions,
    ) -> Result<DynamicObject, StoreError> {
        self.inner.update_status(rt, o, w).await
    }
    async fn patch(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        name: &str,
        patch: &Patch,
        o: &PatchOptions,
    ) -> Result<DynamicObject, StoreError> {
        self.inner.patch(rt, ns, name, patch, o).await
    }
    async fn delete(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        name: &str,
        o: &DeleteOptions,
    ) -> Result<DeleteOutcome, StoreError> {
        self.inner.delete(rt, ns, name, o).await
    }
    async fn bind(&self, ns: &str, pod: &str, node: &str) -> Result<DynamicObject, StoreError> {
        self.inner.bind(ns, pod, node).await
    }
    async fn evict(&self, ns: &str, pod: &str, o: &DeleteOptions) -> Result<(), StoreError> {
        self.inner.evict(ns, pod, o).await
    }
    async fn watch(&self, rt: &ResourceType, ns: Option<&str>, p: &WatchParams) -> Result<WatchStream, StoreError> {
        match (self.hook)(rt, p) {
            Some(stream) => Ok(stream),
            None => self.inner.watch(rt, ns, p).await,
        }
    }
}
