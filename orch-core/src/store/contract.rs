//! `ObjectStore`: the one contract every component uses to talk to the control plane.

use async_trait::async_trait;

use super::{
    DeleteOptions, DeleteOutcome, ListParams, ObjectList, PatchOptions, WatchParams, WatchStream, WriteOptions,
};
use crate::patch::Patch;
use crate::{DynamicObject, ResourceType, StoreError};

/// CRUD, list and watch over objects of any registered kind, with Kubernetes' semantics.
///
/// Two implementations exist: the in-process `Registry` of orch-store and the HTTP client of
/// orch-api, so a component written against this trait runs beside the store or on another
/// machine unchanged. Most code uses the typed facade [`Api`](crate::store::Api).
///
/// # Guarantees
/// - An object's `resourceVersion` is the store revision that last wrote it; a list's is the
///   revision it was read at. Revisions only grow.
/// - `update`, `update_status` and `delete` with a `resourceVersion` (or precondition) that is no
///   longer current fail with [`StoreError::Conflict`] and change nothing.
/// - `metadata.generation` rises on spec changes only; `update` ignores `status`,
///   `update_status` changes only `status`.
/// - Deleting an object with finalizers sets `deletionTimestamp` and returns
///   [`DeleteOutcome::Pending`]; it is removed once its finalizers are empty.
/// - `watch` with no resourceVersion yields a synthetic `Added` per existing object, then every
///   change; with an exact resourceVersion, every change after it (or `Error(Gone)` if compacted).
///   Objects entering a watch's selectors arrive as `Added`, leaving as `Deleted`. Events of one
///   revision are never split across a resume.
///
/// # Errors
/// Every method returns a [`StoreError`] whose variant says what went wrong; bad input is
/// `BadRequest` or `Invalid` (naming the fields) and changes nothing.
///
/// # Example
/// ```
/// use std::sync::Arc;
/// use orch_core::store::{ListParams, ObjectStore};
/// use orch_core::{Resource, StoreError, kinds::Pod};
///
/// // Any component takes the contract as a trait object and works with any implementation.
/// async fn count_pods_on(store: Arc<dyn ObjectStore>, node: &str) -> Result<usize, StoreError> {
///     let params = ListParams::default().fields(format!("spec.nodeName={node}"));
///     let list = store.list(&Pod::resource_type(), None, &params).await?;
///     Ok(list.items.len())
/// }
/// ```
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// Creates an object; the store assigns uid, resourceVersion, generation and creationTimestamp
    /// (and a name from `generateName`). Fails with `AlreadyExists` if the name is taken.
    async fn create(
        &self,
        rt: &ResourceType,
        obj: DynamicObject,
        opts: &WriteOptions,
    ) -> Result<DynamicObject, StoreError>;

    /// Reads one object. Fails with `NotFound`.
    async fn get(&self, rt: &ResourceType, namespace: Option<&str>, name: &str) -> Result<DynamicObject, StoreError>;

    /// Lists objects in a namespace (or all namespaces with `None`) matching the selectors, at one revision.
    async fn list(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        params: &ListParams,
    ) -> Result<ObjectList, StoreError>;

    /// Replaces an object's spec and metadata; `status` in `obj` is ignored. A set
    /// `metadata.resourceVersion` must be current, else `Conflict`.
    async fn update(
        &self,
        rt: &ResourceType,
        obj: DynamicObject,
        opts: &WriteOptions,
    ) -> Result<DynamicObject, StoreError>;

    /// Replaces an object's status only (the `status` subresource).
    async fn update_status(
        &self,
        rt: &ResourceType,
        obj: DynamicObject,
        opts: &WriteOptions,
    ) -> Result<DynamicObject, StoreError>;

    /// Applies a merge, JSON or strategic merge patch to the object or its status.
    async fn patch(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        name: &str,
        patch: &Patch,
        opts: &PatchOptions,
    ) -> Result<DynamicObject, StoreError>;

    /// Deletes an object, honouring preconditions, finalizers and the propagation policy.
    async fn delete(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<DeleteOutcome, StoreError>;

    /// The `pods/binding` subresource: sets `spec.nodeName` of a pod only if it is empty.
    /// Binding an already bound pod is `Conflict`, so two schedulers can never bind one pod twice.
    async fn bind(&self, namespace: &str, pod: &str, node_name: &str) -> Result<DynamicObject, StoreError>;

    /// The `pods/eviction` subresource: deletes the pod unless a disruption budget forbids it
    /// (`TooManyRequests`).
    async fn evict(&self, namespace: &str, pod: &str, opts: &DeleteOptions) -> Result<(), StoreError>;

    /// Watches objects of one kind in a namespace (or all with `None`) matching the selectors.
    async fn watch(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        params: &WatchParams,
    ) -> Result<WatchStream, StoreError>;
}

#[allow(dead_code)]
fn _object_safe(_: &dyn ObjectStore) {}
