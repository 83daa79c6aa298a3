//! `GcKind`: what the garbage collector needs from one kind, object-safe so kinds mix in one graph.

use std::sync::Arc;

use async_trait::async_trait;
use futures::FutureExt;
use futures::future::BoxFuture;
use orch_core::store::{DeleteOptions, PropagationPolicy};
use orch_core::{Api, ObjectMeta, ObjectStore, Resource, ResourceType, Scope, StoreError};

use crate::index::{OWNER_UID_INDEX, by_owner_uid};
use crate::{Change, Informers, ObjectKey, Reflector, Store, Subscription};

/// The metadata of one object in the ownership graph.
#[derive(Clone, Debug)]
pub struct GcNode {
    /// Which kind ([`GcKind::id`]).
    pub kind: String,
    /// Its key.
    pub key: ObjectKey,
    /// Its metadata.
    pub meta: ObjectMeta,
}

/// Called with each changed object of a kind and whether it was deleted.
pub type GcListener = Arc<dyn Fn(&GcNode, bool) + Send + Sync>;

/// One kind in the garbage collector's graph.
///
/// ```
/// use orch_controllers::controllers::gc_kind::{GcKind, TypedGcKind};
/// use orch_controllers::Informers;
/// use orch_core::kinds::Pod;
///
/// fn pods(informers: &Informers) -> Box<dyn GcKind> {
///     Box::new(TypedGcKind::<Pod>::new(informers))
/// }
/// ```
#[async_trait]
pub trait GcKind: Send + Sync {
    /// `apiVersion/Kind`, as owner references name it.
    fn id(&self) -> String;
    /// Its resource type.
    fn resource_type(&self) -> ResourceType;
    /// The cached object.
    fn get(&self, key: &ObjectKey) -> Option<GcNode>;
    /// Every cached object.
    fn list(&self) -> Vec<GcNode>;
    /// Cached objects that list `owner_uid` among their owners.
    fn dependents_of(&self, owner_uid: &str) -> Vec<GcNode>;
    /// Calls `f` with every change of this kind.
    fn subscribe(&self, f: GcListener) -> Subscription;
    /// Completes when the cache has synced.
    fn synced(&self) -> BoxFuture<'static, ()>;
    /// Deletes the object (NotFound is success).
    ///
    /// # Errors
    /// Store failures.
    async fn delete(&self, key: &ObjectKey, policy: PropagationPolicy) -> Result<(), StoreError>;
    /// Removes the owner references with `uid` (guarded by resourceVersion).
    ///
    /// # Errors
    /// Store failures, `Conflict` on a stale cache.
    async fn remove_owner(&self, key: &ObjectKey, uid: &str) -> Result<(), StoreError>;
    /// Removes a finalizer (guarded by resourceVersion).
    ///
    /// # Errors
    /// Store failures, `Conflict` on a stale cache.
    async fn remove_finalizer(&self, key: &ObjectKey, finalizer: &str) -> Result<(), StoreError>;
    /// Whether an object with this key and uid exists in the store (a live read, not the cache).
    ///
    /// # Errors
    /// Store failures other than NotFound.
    async fn exists_live(&self, key: &ObjectKey, uid: &str) -> Result<bool, StoreError>;
}

#[allow(dead_code)]
fn _object_safe(_: &dyn GcKind) {}

/// [`GcKind`] for a typed kind, over the shared reflector of `informers`.
pub struct TypedGcKind<K: Resource> {
    reflector: Arc<Reflector<K>>,
    store: Store<K>,
    api: Api<K>,
    raw: Arc<dyn ObjectStore>,
}

impl<K: Resource> TypedGcKind<K> {
    /// The kind's graph view (adds the owner-uid index).
    pub fn new(informers: &Informers) -> Self {
        let reflector = informers.reflector::<K>();
        let store = reflector.store();
        if !store.has_index(OWNER_UID_INDEX) {
            store.add_index(OWNER_UID_INDEX, by_owner_uid());
        }
        TypedGcKind { reflector, store, api: Api::all(informers.object_store()), raw: informers.object_store() }
    }

    fn node(obj: &K) -> GcNode {
        GcNode { kind: kind_id::<K>(), key: ObjectKey::of(obj), meta: obj.meta().clone() }
    }

    async fn rewrite(&self, key: &ObjectKey, f: impl FnOnce(&mut ObjectMeta) -> bool) -> Result<(), StoreError> {
        let Some(cached) = self.store.get(key) else { return Ok(()) };
        let mut obj = (*cached).clone();
        if !f(obj.meta_mut()) {
            return Ok(());
        }
        match self.api.update(&obj).await {
            Ok(_) | Err(StoreError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Whether an update can change a garbage-collection decision: owners, finalizers or deletion
/// changed, or the object is being deleted. A status write to a live pod cannot, and is not
/// passed on (at 100,000 pods those are most of the changes).
fn graph_changed(old: &ObjectMeta, new: &ObjectMeta) -> bool {
    new.is_deleting()
        || old.uid != new.uid
        || old.owner_references != new.owner_references
        || old.finalizers != new.finalizers
        || old.deletion_timestamp != new.deletion_timestamp
}

/// `apiVersion/Kind` of a typed kind.
pub fn kind_id<K: Resource>() -> String {
    format!("{}/{}", K::api_version(), K::KIND)
}

#[async_trait]
impl<K: Resource> GcKind for TypedGcKind<K> {
    fn id(&self) -> String {
        kind_id::<K>()
    }
    fn resource_type(&self) -> ResourceType {
        K::resource_type()
    }
    fn get(&self, key: &ObjectKey) -> Option<GcNode> {
        let key = if K::SCOPE == Scope::Cluster { ObjectKey::cluster(key.name.clone()) } else { key.clone() };
        self.store.get(&key).map(|o| Self::node(&o))
    }
    fn list(&self) -> Vec<GcNode> {
        self.store.list().iter().map(|o| Self::node(o)).collect()
    }
    fn dependents_of(&self, owner_uid: &str) -> Vec<GcNode> {
        self.store.by_index(OWNER_UID_INDEX, owner_uid).iter().map(|o| Self::node(o)).collect()
    }
    fn subscribe(&self, f: GcListener) -> Subscription {
        self.reflector.subscribe(Arc::new(move |c: &Change<K>| {
            if let Change::Applied { old: Some(old), new } = c
                && !graph_changed(old.meta(), new.meta())
            {
                return;
            }
            f(&Self::node(c.object()), matches!(c, Change::Deleted(_)));
        }))
    }
    fn synced(&self) -> BoxFuture<'static, ()> {
        let store = self.store.clone();
        async move { store.wait_synced().await }.boxed()
    }
    async fn delete(&self, key: &ObjectKey, policy: PropagationPolicy) -> Result<(), StoreError> {
        let opts = DeleteOptions::default().propagation(policy);
        match self.raw.delete(&K::resource_type(), key.namespace.as_deref(), &key.name, &opts).await {
            Ok(_) | Err(StoreError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
    async fn remove_owner(&self, key: &ObjectKey, uid: &str) -> Result<(), StoreError> {
        self.rewrite(key, |m| {
            let before = m.owner_references.len();
            m.owner_references.retain(|o| o.uid != uid);
            m.owner_references.len() != before
        })
        .await
    }
    async fn remove_finalizer(&self, key: &ObjectKey, finalizer: &str) -> Result<(), StoreError> {
        self.rewrite(key, |m| {
            let before = m.finalizers.len();
            m.finalizers.retain(|f| f != finalizer);
            m.finalizers.len() != before
        })
        .await
    }
    async fn exists_live(&self, key: &ObjectKey, uid: &str) -> Result<bool, StoreError> {
        match self.raw.get(&K::resource_type(), key.namespace.as_deref(), &key.name).await {
            Ok(o) => Ok(o.metadata.uid.as_deref() == Some(uid)),
            Err(StoreError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orch_core::{OwnerReference, Timestamp};

    #[test]
    fn only_owner_finalizer_and_deletion_changes_reach_the_graph() {
        let mut old = ObjectMeta::named("p").in_namespace("d");
        old.owner_references.push(OwnerReference::controller_of("apps/v1", "ReplicaSet", "rs", "u1"));
        let relabelled = ObjectMeta { labels: [("a".to_string(), "b".to_string())].into(), ..old.clone() };
        assert!(!graph_changed(&old, &relabelled));
        let released = ObjectMeta { owner_references: vec![], ..old.clone() };
        assert!(graph_changed(&old, &released));
        let finalized = ObjectMeta { finalizers: vec!["orphan".into()], ..old.clone() };
        assert!(graph_changed(&old, &finalized));
        let deleting = ObjectMeta { deletion_timestamp: Some(Timestamp::EPOCH), ..old.clone() };
        assert!(graph_changed(&old, &deleting));
        assert!(graph_changed(&deleting, &deleting));
    }
}
