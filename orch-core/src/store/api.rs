//! `Api<K>`: the typed facade over an `ObjectStore` for one kind and one namespace.

use std::marker::PhantomData;
use std::sync::Arc;

use futures::StreamExt;
use futures::stream::BoxStream;

use super::{
    DeleteOptions, DeleteOutcome, ListParams, ObjectStore, PatchOptions, Subresource, WatchEvent, WatchParams,
    WriteOptions,
};
use crate::kinds::Pod;
use crate::patch::Patch;
use crate::{DynamicObject, Resource, ResourceType, Scope, StoreError};

/// Typed access to objects of kind `K` in one namespace (or cluster-wide / across all namespaces).
///
/// ```
/// use std::sync::Arc;
/// use orch_core::store::{Api, ObjectStore};
/// use orch_core::{ObjectMeta, StoreError, kinds::{Container, Pod}};
///
/// async fn run_one(store: Arc<dyn ObjectStore>) -> Result<Pod, StoreError> {
///     let pods: Api<Pod> = Api::namespaced(store, "default");
///     let mut pod = Pod { metadata: ObjectMeta::named("hello"), ..Default::default() };
///     pod.spec.containers.push(Container { name: "c".into(), image: "busybox".into(), ..Default::default() });
///     let created = pods.create(&pod).await?;
///     pods.bind("hello", "node-1").await?;
///     pods.get(created.metadata.name.as_deref().unwrap_or("hello")).await
/// }
/// ```
pub struct Api<K> {
    store: Arc<dyn ObjectStore>,
    namespace: Option<String>,
    rt: ResourceType,
    _kind: PhantomData<fn() -> K>,
}

impl<K> Clone for Api<K> {
    fn clone(&self) -> Self {
        Api { store: self.store.clone(), namespace: self.namespace.clone(), rt: self.rt.clone(), _kind: PhantomData }
    }
}

/// A typed list: items and the revision they were read at.
#[derive(Clone, Debug, PartialEq)]
pub struct TypedList<K> {
    /// The store revision the list was read at.
    pub resource_version: String,
    /// Token for the next page.
    pub continue_token: Option<String>,
    /// The objects.
    pub items: Vec<K>,
}

/// A typed watch event.
#[derive(Clone, Debug, PartialEq)]
pub enum TypedEvent<K> {
    /// Created, entered the selector, or part of the initial state.
    Added(K),
    /// Changed.
    Modified(K),
    /// Deleted or left the selector.
    Deleted(K),
    /// Progress up to this resource version.
    Bookmark(String),
}

impl<K: Resource> Api<K> {
    /// Objects in one namespace (for cluster-scoped kinds the namespace is ignored).
    pub fn namespaced(store: Arc<dyn ObjectStore>, namespace: &str) -> Self {
        let namespace = (K::SCOPE == Scope::Namespaced).then(|| namespace.to_owned());
        Api { store, namespace, rt: K::resource_type(), _kind: PhantomData }
    }

    /// Objects of a cluster-scoped kind, or of a namespaced kind across all namespaces
    /// (create needs each object's own `metadata.namespace` then).
    pub fn all(store: Arc<dyn ObjectStore>) -> Self {
        Api { store, namespace: None, rt: K::resource_type(), _kind: PhantomData }
    }

    /// The namespace this handle addresses, if any.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// The underlying untyped store.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    fn encode(&self, obj: &K) -> Result<DynamicObject, StoreError> {
        let mut d = DynamicObject::from_typed(obj)
            .map_err(|e| StoreError::bad_request(format!("encoding {}: {e}", K::KIND)))?;
        if let Some(ns) = &self.namespace {
            match d.metadata.namespace.as_deref() {
                None | Some("") => d.metadata.namespace = Some(ns.clone()),
                Some(other) if other != ns => {
                    return Err(StoreError::bad_request(format!(
                        "the namespace of the object ({other}) does not match the namespace of the request ({ns})"
                    )));
                }
                Some(_) => {}
            }
        }
        Ok(d)
    }

    fn ns_of<'a>(&'a self, name_ns: Option<&'a str>) -> Option<&'a str> {
        self.namespace.as_deref().or(name_ns)
    }

    /// Reads one object.
    ///
    /// # Errors
    /// `NotFound`, or whatever the store reports.
    pub async fn get(&self, name: &str) -> Result<K, StoreError> {
        decode(&self.store.get(&self.rt, self.namespace.as_deref(), name).await?)
    }

    /// Reads one object, `None` when it does not exist.
    ///
    /// # Errors
    /// Any store error other than `NotFound`.
    pub async fn get_opt(&self, name: &str) -> Result<Option<K>, StoreError> {
        match self.get(name).await {
            Ok(o) => Ok(Some(o)),
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Lists objects.
    ///
    /// # Errors
    /// `BadRequest` for malformed selectors, or whatever the store reports.
    pub async fn list(&self, params: &ListParams) -> Result<TypedList<K>, StoreError> {
        let l = self.store.list(&self.rt, self.namespace.as_deref(), params).await?;
        let items = l.items.iter().map(decode).collect::<Result<Vec<K>, _>>()?;
        Ok(TypedList { resource_version: l.resource_version, continue_token: l.continue_token, items })
    }

    /// Creates an object (its namespace defaults to this handle's).
    ///
    /// # Errors
    /// `AlreadyExists`, `Invalid`, or whatever the store reports.
    pub async fn create(&self, obj: &K) -> Result<K, StoreError> {
        decode(&self.store.create(&self.rt, self.encode(obj)?, &WriteOptions::default()).await?)
    }

    /// Replaces an object's spec and metadata (optimistic concurrency on `resourceVersion`).
    ///
    /// # Errors
    /// `Conflict` when the object changed since it was read; `NotFound`; `Invalid`.
    pub async fn update(&self, obj: &K) -> Result<K, StoreError> {
        decode(&self.store.update(&self.rt, self.encode(obj)?, &WriteOptions::default()).await?)
    }

    /// Replaces an object's status.
    ///
    /// # Errors
    /// As [`Api::update`].
    pub async fn update_status(&self, obj: &K) -> Result<K, StoreError> {
        decode(&self.store.update_status(&self.rt, self.encode(obj)?, &WriteOptions::default()).await?)
    }

    /// Patches an object.
    ///
    /// # Errors
    /// `BadRequest` for a malformed patch, `NotFound`, `Invalid`, `UnsupportedMediaType`.
    pub async fn patch(&self, name: &str, patch: &Patch) -> Result<K, StoreError> {
        let opts = PatchOptions::default();
        decode(&self.store.patch(&self.rt, self.ns_of(None), name, patch, &opts).await?)
    }

    /// Patches an object's status.
    ///
    /// # Errors
    /// As [`Api::patch`].
    pub async fn patch_status(&self, name: &str, patch: &Patch) -> Result<K, StoreError> {
        let opts = PatchOptions { subresource: Subresource::Status, ..Default::default() };
        decode(&self.store.patch(&self.rt, self.ns_of(None), name, patch, &opts).await?)
    }

    /// Deletes an object; `Ok(None)` when it is gone, `Ok(Some(obj))` while finalizers hold it.
    ///
    /// # Errors
    /// `NotFound`, `Conflict` on a failed precondition.
    pub async fn delete(&self, name: &str, opts: &DeleteOptions) -> Result<Option<K>, StoreError> {
        match self.store.delete(&self.rt, self.namespace.as_deref(), name, opts).await? {
            DeleteOutcome::Deleted(_) => Ok(None),
            DeleteOutcome::Pending(o) => Ok(Some(decode(&o)?)),
        }
    }

    /// Watches objects; error events end the stream with `Err`.
    ///
    /// # Errors
    /// `BadRequest` for malformed selectors, `Gone` for a compacted start.
    pub async fn watch(
        &self,
        params: &WatchParams,
    ) -> Result<BoxStream<'static, Result<TypedEvent<K>, StoreError>>, StoreError> {
        let stream = self.store.watch(&self.rt, self.namespace.as_deref(), params).await?;
        Ok(stream
            .map(|ev| match ev {
                WatchEvent::Added(o) => decode(&o).map(TypedEvent::Added),
                WatchEvent::Modified(o) => decode(&o).map(TypedEvent::Modified),
                WatchEvent::Deleted(o) => decode(&o).map(TypedEvent::Deleted),
                WatchEvent::Bookmark { resource_version } => Ok(TypedEvent::Bookmark(resource_version)),
                WatchEvent::Error(e) => Err(e),
            })
            .boxed())
    }
}

impl Api<Pod> {
    /// Binds a pod to a node (only if it is not bound yet).
    ///
    /// # Errors
    /// `Conflict` when the pod is already bound; `NotFound`.
    pub async fn bind(&self, name: &str, node_name: &str) -> Result<Pod, StoreError> {
        let ns = self.namespace.as_deref().unwrap_or("default");
        decode(&self.store.bind(ns, name, node_name).await?)
    }

    /// Evicts a pod (a delete that respects disruption budgets).
    ///
    /// # Errors
    /// `TooManyRequests` when a budget forbids it; `NotFound`.
    pub async fn evict(&self, name: &str, opts: &DeleteOptions) -> Result<(), StoreError> {
        let ns = self.namespace.as_deref().unwrap_or("default");
        self.store.evict(ns, name, opts).await
    }
}

fn decode<K: Resource>(obj: &DynamicObject) -> Result<K, StoreError> {
    obj.to_typed::<K>().map_err(|e| {
        StoreError::internal(format!("decoding {} {:?} from the store: {e}", K::KIND, obj.metadata.name_str()))
    })
}
