//! `Registry`: the object store over any `KvStore`, with its builder and shared helpers.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use orch_core::runtime::{Clock, Spawn};
use orch_core::{DynamicObject, KindInfo, KindRegistry, KindRegistryError, Resource, ResourceType, StoreError};

use super::service_alloc::Claims;
use super::watch_hub::WatchHub;
use super::{
    AdmissionRequest, EvictionGuard, MutatingAdmission, Operation, RegistryConfig, UidGenerator, ValidatingAdmission,
    codec, keys,
};
use crate::kv::{Compare, CompareOp, DeleteRequest, KvStore, PutRequest, RangeRequest, TxnOp, TxnRequest};

/// The object store: orch-core's [`ObjectStore`](orch_core::ObjectStore) contract implemented over
/// any [`KvStore`] (MemKv, DurableKv, a real etcd).
///
/// It assigns uids, creation timestamps and generations, keeps `status` behind its own
/// subresource, runs admission and validation before anything is written, holds deletions for
/// finalizers, and serves watches whose events are decoded once and shared.
///
/// Cloning is cheap (the state is shared).
#[derive(Clone)]
pub struct Registry {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) kv: Arc<dyn KvStore>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) spawn: Arc<dyn Spawn>,
    pub(super) config: RegistryConfig,
    pub(super) kinds: RwLock<KindRegistry>,
    pub(super) mutating: Vec<Arc<dyn MutatingAdmission>>,
    pub(super) validating: Vec<Arc<dyn ValidatingAdmission>>,
    pub(super) eviction: Option<Arc<dyn EvictionGuard>>,
    pub(super) uids: UidGenerator,
    pub(super) hubs: futures::lock::Mutex<HashMap<ResourceType, Arc<WatchHub>>>,
    pub(super) alloc_cursors: super::service_alloc::Cursors,
    /// Watchers currently served from the store's history instead of a hub.
    pub(super) history_watchers: Arc<std::sync::atomic::AtomicUsize>,
}

/// Builds a [`Registry`]: the store, time and executor, then optional kinds and plugins.
///
/// ```no_run
/// # #[cfg(feature = "tokio")]
/// # async fn demo(kv: std::sync::Arc<dyn orch_store::KvStore>) -> Result<(), orch_core::StoreError> {
/// use std::sync::Arc;
/// use orch_core::runtime::{SystemClock, TokioSpawn};
/// use orch_store::registry::{Registry, RegistryConfig};
/// let registry = Registry::builder(kv, Arc::new(SystemClock), Arc::new(TokioSpawn::current()))
///     .config(RegistryConfig::default().uid_seed(7))
///     .build()
///     .await?;
/// # Ok(()) }
/// ```
pub struct RegistryBuilder {
    kv: Arc<dyn KvStore>,
    clock: Arc<dyn Clock>,
    spawn: Arc<dyn Spawn>,
    config: RegistryConfig,
    kinds: KindRegistry,
    mutating: Vec<Arc<dyn MutatingAdmission>>,
    validating: Vec<Arc<dyn ValidatingAdmission>>,
    eviction: Option<Arc<dyn EvictionGuard>>,
}

impl RegistryBuilder {
    /// Replaces the configuration.
    pub fn config(mut self, config: RegistryConfig) -> Self {
        self.config = config;
        self
    }
    /// Replaces the kind registry (the default has the built-in kinds).
    pub fn kinds(mut self, kinds: KindRegistry) -> Self {
        self.kinds = kinds;
        self
    }
    /// Adds a mutating admission plugin (run in the order added).
    pub fn mutating(mut self, plugin: Arc<dyn MutatingAdmission>) -> Self {
        self.mutating.push(plugin);
        self
    }
    /// Adds a validating admission plugin (run in the order added).
    pub fn validating(mut self, plugin: Arc<dyn ValidatingAdmission>) -> Self {
        self.validating.push(plugin);
        self
    }
    /// Sets the eviction guard (disruption budgets); without one every eviction is allowed.
    pub fn eviction_guard(mut self, guard: Arc<dyn EvictionGuard>) -> Self {
        self.eviction = Some(guard);
        self
    }

    /// Builds the registry and creates the bootstrap namespaces if missing.
    ///
    /// # Errors
    /// Whatever the store reports while creating the bootstrap namespaces.
    pub async fn build(self) -> Result<Registry, StoreError> {
        let seed = self.config.uid_seed.unwrap_or_else(|| {
            let now = self.clock.now();
            (now.unix_seconds() as u64).wrapping_mul(1_000_000_007) ^ now.subsec_nanos() as u64
        });
        let registry = Registry {
            inner: Arc::new(Inner {
                kv: self.kv,
                clock: self.clock,
                spawn: self.spawn,
                kinds: RwLock::new(self.kinds),
                mutating: self.mutating,
                validating: self.validating,
                eviction: self.eviction,
                uids: UidGenerator::new(seed),
                hubs: futures::lock::Mutex::new(HashMap::new()),
                alloc_cursors: Default::default(),
                history_watchers: Default::default(),
                config: self.config,
            }),
        };
        registry.bootstrap().await?;
        Ok(registry)
    }
}

impl Registry {
    /// Starts building a registry over `kv`.
    pub fn builder(kv: Arc<dyn KvStore>, clock: Arc<dyn Clock>, spawn: Arc<dyn Spawn>) -> RegistryBuilder {
        RegistryBuilder {
            kv,
            clock,
            spawn,
            config: RegistryConfig::default(),
            kinds: KindRegistry::with_builtins(),
            mutating: Vec::new(),
            validating: Vec::new(),
            eviction: None,
        }
    }

    /// A registry over a fresh in-memory store, on the system clock and the current tokio runtime:
    /// the quickest way to an in-process control plane.
    ///
    /// # Errors
    /// Only if the bootstrap namespaces cannot be written (not expected in memory).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use orch_core::{Api, kinds::Namespace};
    /// let registry = orch_store::Registry::in_memory().await.unwrap();
    /// let namespaces: Api<Namespace> = Api::all(std::sync::Arc::new(registry));
    /// assert!(namespaces.get("kube-system").await.is_ok());
    /// # }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn in_memory() -> Result<Registry, StoreError> {
        use orch_core::runtime::{SystemClock, TokioSpawn};
        let kv: Arc<dyn KvStore> = Arc::new(crate::mem::MemKv::new());
        Registry::builder(kv, Arc::new(SystemClock), Arc::new(TokioSpawn::current())).build().await
    }

    /// Registers a typed kind at run time; it is served exactly like the built-ins from then on.
    ///
    /// # Errors
    /// `Duplicate` when the kind or plural is taken.
    pub fn register_kind<K: Resource>(&self) -> Result<Arc<KindInfo>, KindRegistryError> {
        self.register_kind_info(KindInfo::of::<K>())
    }

    /// Registers a kind described at run time.
    ///
    /// # Errors
    /// `Duplicate` or `Invalid`.
    pub fn register_kind_info(&self, info: KindInfo) -> Result<Arc<KindInfo>, KindRegistryError> {
        self.inner.kinds.write().unwrap_or_else(|e| e.into_inner()).register_info(info)
    }

    /// A snapshot of the kinds served.
    pub fn kinds(&self) -> KindRegistry {
        self.inner.kinds.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The kind served at an API path's group, version and plural, without copying the kind table.
    pub fn kind_by_plural(&self, group: &str, version: &str, plural: &str) -> Option<Arc<KindInfo>> {
        self.inner.kinds.read().unwrap_or_else(|e| e.into_inner()).by_plural(group, version, plural).cloned()
    }

    /// The underlying key-value store.
    pub fn kv(&self) -> &Arc<dyn KvStore> {
        &self.inner.kv
    }

    /// The clock the registry stamps objects with.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// How many watchers are being served from the store's history rather than from their
    /// kind's shared hub: those that started before the hub's window and have not caught up
    /// with it yet. Each decodes every change of its kind on its own, so a number that stays
    /// high means `watch_history` is too small for how far behind watchers start.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let registry = orch_store::Registry::in_memory().await.unwrap();
    /// assert_eq!(registry.history_watchers(), 0);
    /// # }
    /// ```
    pub fn history_watchers(&self) -> usize {
        self.inner.history_watchers.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn bootstrap(&self) -> Result<(), StoreError> {
        let rt = orch_core::kinds::Namespace::resource_type();
        for ns in self.inner.config.bootstrap_namespaces.clone() {
            let obj = DynamicObject::new("v1", "Namespace", orch_core::ObjectMeta::named(ns));
            match self.create_object(&rt, obj, false).await {
                Ok(_) | Err(StoreError::AlreadyExists { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Looks up the kind of a resource type.
    pub(super) fn kind(&self, rt: &ResourceType) -> Result<Arc<KindInfo>, StoreError> {
        let kinds = self.inner.kinds.read().unwrap_or_else(|e| e.into_inner());
        kinds.get(rt).cloned().ok_or_else(|| StoreError::NotFound {
            resource: rt.group_resource(),
            name: format!("(the server does not serve {}/{})", rt.api_version(), rt.plural),
        })
    }

    /// Reads one object with its mod revision, `None` when absent.
    pub(super) async fn read(&self, key: &str) -> Result<Option<DynamicObject>, StoreError> {
        let resp = self.inner.kv.range(RangeRequest::key(key.to_owned())).await?;
        resp.kvs.first().map(codec::decode).transpose()
    }

    /// Reads one object or fails with `NotFound`.
    pub(super) async fn read_existing(
        &self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
    ) -> Result<DynamicObject, StoreError> {
        let key = keys::object_key(rt, namespace, name);
        self.read(&key).await?.ok_or_else(|| not_found(rt, namespace, name))
    }

    /// Writes `bytes` at `key` if the key's mod revision is still `expected` (0: absent).
    /// `Ok(None)` when the compare failed.
    pub(super) async fn put_if(
        &self,
        key: &str,
        expected: i64,
        bytes: Vec<u8>,
        claims: &Claims,
    ) -> Result<Option<i64>, StoreError> {
        let key = Bytes::from(key.to_owned());
        let mut txn = TxnRequest {
            compare: vec![Compare::mod_revision(key.clone(), CompareOp::Equal, expected)],
            success: vec![TxnOp::Put(PutRequest::new(key, bytes))],
            failure: vec![],
        };
        add_claims(&mut txn, claims);
        let resp = self.inner.kv.txn(txn).await?;
        Ok(resp.succeeded.then_some(resp.revision))
    }

    /// Deletes `key` if its mod revision is still `expected`. `Ok(None)` when the compare failed.
    pub(super) async fn delete_if(&self, key: &str, expected: i64, claims: &Claims) -> Result<Option<i64>, StoreError> {
        let key = Bytes::from(key.to_owned());
        let mut txn = TxnRequest {
            compare: vec![Compare::mod_revision(key.clone(), CompareOp::Equal, expected)],
            success: vec![TxnOp::Delete(DeleteRequest::key(key))],
            failure: vec![],
        };
        add_claims(&mut txn, claims);
        let resp = self.inner.kv.txn(txn).await?;
        Ok(resp.succeeded.then_some(resp.revision))
    }

    /// Runs mutating admission, kind validation and validating admission on `obj`.
    pub(super) async fn admit(
        &self,
        info: &KindInfo,
        operation: Operation,
        old: Option<&DynamicObject>,
        obj: &mut DynamicObject,
        dry_run: bool,
    ) -> Result<(), StoreError> {
        let req = AdmissionRequest { resource: &info.resource_type, operation, old, dry_run };
        for plugin in &self.inner.mutating {
            plugin.admit(&req, obj)?;
        }
        info.validate(obj).map_err(|errors| StoreError::Invalid {
            kind: info.resource_type.kind.to_string(),
            name: obj.name().to_owned(),
            errors,
        })?;
        for plugin in &self.inner.validating {
            plugin.validate(&req, obj).await?;
        }
        Ok(())
    }

    /// The current time, truncated to whole seconds as `metav1.Time` keeps it.
    pub(super) fn now(&self) -> orch_core::Timestamp {
        self.inner.clock.now().truncate_to_seconds()
    }
}

/// Adds a Service's address claims to its write: each new claim must not exist yet.
fn add_claims(txn: &mut TxnRequest, claims: &Claims) {
    for (key, owner) in &claims.claim {
        let key = Bytes::from(key.clone());
        txn.compare.push(Compare::mod_revision(key.clone(), CompareOp::Equal, 0));
        txn.success.push(TxnOp::Put(PutRequest::new(key, owner.clone().into_bytes())));
    }
    for key in &claims.release {
        txn.success.push(TxnOp::Delete(DeleteRequest::key(Bytes::from(key.clone()))));
    }
}

/// The `NotFound` error for an object.
pub(super) fn not_found(rt: &ResourceType, namespace: &str, name: &str) -> StoreError {
    StoreError::NotFound {
        resource: rt.group_resource(),
        name: if rt.namespaced() && !namespace.is_empty() { format!("{namespace}/{name}") } else { name.to_owned() },
    }
}

/// The mod revision of a decoded object (its resourceVersion).
pub(super) fn mod_revision(obj: &DynamicObject) -> i64 {
    obj.metadata.resource_version.as_deref().and_then(|v| v.parse().ok()).unwrap_or(0)
}
