//! `StoreLayer` and `LayeredStore`: middleware in front of an `ObjectStore` (checks, metrics, faults).

use std::sync::Arc;

use async_trait::async_trait;

use super::{
    DeleteOptions, DeleteOutcome, ListParams, ObjectList, ObjectStore, PatchOptions, WatchParams, WatchStream,
    WriteOptions,
};
use crate::kinds::Pod;
use crate::patch::Patch;
use crate::{DynamicObject, Resource, ResourceType, StoreError};

/// Which [`ObjectStore`] method a call is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreOp {
    /// [`ObjectStore::create`].
    Create,
    /// [`ObjectStore::get`].
    Get,
    /// [`ObjectStore::list`].
    List,
    /// [`ObjectStore::update`].
    Update,
    /// [`ObjectStore::update_status`].
    UpdateStatus,
    /// [`ObjectStore::patch`].
    Patch,
    /// [`ObjectStore::delete`].
    Delete,
    /// [`ObjectStore::bind`].
    Bind,
    /// [`ObjectStore::evict`].
    Evict,
    /// [`ObjectStore::watch`].
    Watch,
}

impl StoreOp {
    /// Whether the call may change the store (everything but `Get`, `List` and `Watch`).
    pub fn is_write(self) -> bool {
        !matches!(self, StoreOp::Get | StoreOp::List | StoreOp::Watch)
    }
}

/// One call on the store, as a [`StoreLayer`] sees it before it runs.
#[derive(Clone, Copy, Debug)]
pub struct StoreCall<'a> {
    /// The method called.
    pub op: StoreOp,
    /// The resource type (`pods` for `bind` and `evict`).
    pub resource: &'a ResourceType,
    /// The namespace: `None` for cluster-scoped objects and for lists and watches of all namespaces.
    pub namespace: Option<&'a str>,
    /// The object's name: `None` for lists, watches and a create by `generateName`.
    pub name: Option<&'a str>,
}

/// Middleware for an [`ObjectStore`]: [`admit`](Self::admit) runs before every call, and
/// [`bind`](Self::bind) and [`watch`](Self::watch) run around those calls. Every method has a
/// default that lets the call through, so a layer writes only what it changes.
/// [`LayeredStore`] puts a layer in front of a store.
///
/// # Guarantees
/// [`LayeredStore`] calls `admit` exactly once per call, before anything else; when it fails,
/// its error is the call's answer and the inner store is not called.
///
/// # Example
/// A layer that makes a store read-only:
/// ```
/// use std::sync::Arc;
/// use orch_core::store::{LayeredStore, StoreCall, StoreLayer, StoreOp};
/// use orch_core::{ObjectStore, Resource, StoreError, kinds::Pod};
///
/// struct ReadOnly;
///
/// impl StoreLayer for ReadOnly {
///     fn admit(&self, call: &StoreCall<'_>) -> Result<(), StoreError> {
///         if call.op.is_write() {
///             return Err(StoreError::Forbidden { message: format!("{:?} of {} is not allowed", call.op, call.resource.plural) });
///         }
///         Ok(())
///     }
/// }
///
/// fn read_only(store: Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> {
///     Arc::new(LayeredStore::new(store, ReadOnly))
/// }
///
/// let pods = Pod::resource_type();
/// let delete = StoreCall { op: StoreOp::Delete, resource: &pods, namespace: Some("default"), name: Some("web") };
/// assert!(matches!(ReadOnly.admit(&delete), Err(StoreError::Forbidden { .. })));
/// assert!(ReadOnly.admit(&StoreCall { op: StoreOp::List, name: None, ..delete }).is_ok());
/// ```
#[async_trait]
pub trait StoreLayer: Send + Sync {
    /// Decides whether `call` may run.
    ///
    /// # Errors
    /// Whatever the layer refuses the call with; the inner store is then not called.
    fn admit(&self, call: &StoreCall<'_>) -> Result<(), StoreError> {
        let _ = call;
        Ok(())
    }

    /// Runs an admitted bind; the default asks `inner`. Override it to act around the bind
    /// (delay it, fail it, lose its answer).
    ///
    /// # Errors
    /// Those of [`ObjectStore::bind`], and whatever the layer adds.
    async fn bind(
        &self,
        inner: &dyn ObjectStore,
        namespace: &str,
        pod: &str,
        node_name: &str,
    ) -> Result<DynamicObject, StoreError> {
        inner.bind(namespace, pod, node_name).await
    }

    /// Opens an admitted watch; the default asks `inner`. Override it to wrap the stream (end
    /// it early, delay its events) or to answer in place of `inner`.
    ///
    /// # Errors
    /// Those of [`ObjectStore::watch`], and whatever the layer adds.
    async fn watch(
        &self,
        inner: &dyn ObjectStore,
        rt: &ResourceType,
        namespace: Option<&str>,
        params: &WatchParams,
    ) -> Result<WatchStream, StoreError> {
        inner.watch(rt, namespace, params).await
    }
}

#[allow(dead_code)]
fn _object_safe(_: &dyn StoreLayer) {}

/// An [`ObjectStore`] that runs every call through a [`StoreLayer`] before the inner store.
///
/// Layers stack: the inner store may itself be a `LayeredStore`.
pub struct LayeredStore<L> {
    inner: Arc<dyn ObjectStore>,
    layer: L,
}

impl<L: StoreLayer> LayeredStore<L> {
    /// `inner` behind `layer`.
    pub fn new(inner: Arc<dyn ObjectStore>, layer: L) -> Self {
        LayeredStore { inner, layer }
    }

    /// The layer (to switch its behaviour at run time).
    pub fn layer(&self) -> &L {
        &self.layer
    }

    /// The store behind the layer.
    pub fn inner(&self) -> &Arc<dyn ObjectStore> {
        &self.inner
    }

    fn admit(
        &self,
        op: StoreOp,
        resource: &ResourceType,
        namespace: Option<&str>,
        name: Option<&str>,
    ) -> Result<(), StoreError> {
        self.layer.admit(&StoreCall { op, resource, namespace, name })
    }
}

#[async_trait]
impl<L: StoreLayer> ObjectStore for LayeredStore<L> {
    async fn create(
        &self,
        rt: &ResourceType,
        obj: DynamicObject,
        opts: &WriteOptions,
    ) -> Result<DynamicObject, StoreError> {
        self.admit(StoreOp::Create, rt, obj.metadata.namespace.as_deref(), obj.metadata.name.as_deref())?;
        self.inner.create(rt, obj, opts).await
    }

    async fn get(&self, rt: &ResourceType, namespace: Option<&str>, name: &str) -> Result<DynamicObject, StoreError> {
        self.admit(StoreOp::Get, rt, namespace, Some(name))?;
        self.inner.get(rt, namespace, name).await
    }

    async fn list(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        params: &ListParams,
    ) -> Result<ObjectList, StoreError> {
        self.admit(StoreOp::List, rt, namespace, None)?;
        self.inner.list(rt, namespace, params).await
    }

    async fn update(
        &self,
        rt: &ResourceType,
        obj: DynamicObject,
        opts: &WriteOptions,
    ) -> Result<DynamicObject, StoreError> {
        self.admit(StoreOp::Update, rt, obj.metadata.namespace.as_deref(), obj.metadata.name.as_deref())?;
        self.inner.update(rt, obj, opts).await
    }

    async fn update_status(
        &self,
        rt: &ResourceType,
        obj: DynamicObject,
        opts: &WriteOptions,
    ) -> Result<DynamicObject, StoreError> {
        self.admit(StoreOp::UpdateStatus, rt, obj.metadata.namespace.as_deref(), obj.metadata.name.as_deref())?;
        self.inner.update_status(rt, obj, opts).await
    }

    async fn patch(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        name: &str,
        patch: &Patch,
        opts: &PatchOptions,
    ) -> Result<DynamicObject, StoreError> {
        self.admit(StoreOp::Patch, rt, namespace, Some(name))?;
        self.inner.patch(rt, namespace, name, patch, opts).await
    }

    async fn delete(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<DeleteOutcome, StoreError> {
        self.admit(StoreOp::Delete, rt, namespace, Some(name))?;
        self.inner.delete(rt, namespace, name, opts).await
    }

    async fn bind(&self, namespace: &str, pod: &str, node_name: &str) -> Result<DynamicObject, StoreError> {
        self.admit(StoreOp::Bind, &Pod::resource_type(), Some(namespace), Some(pod))?;
        self.layer.bind(&*self.inner, namespace, pod, node_name).await
    }

    async fn evict(&self, namespace: &str, pod: &str, opts: &DeleteOptions) -> Result<(), StoreError> {
        self.admit(StoreOp::Evict, &Pod::resource_type(), Some(namespace), Some(pod))?;
        self.inner.evict(namespace, pod, opts).await
    }

    async fn watch(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        params: &WatchParams,
    ) -> Result<WatchStream, StoreError> {
        self.admit(StoreOp::Watch, rt, namespace, None)?;
        self.layer.watch(&*self.inner, rt, namespace, params).await
    }
}

#[cfg(test)]
mod tests;
