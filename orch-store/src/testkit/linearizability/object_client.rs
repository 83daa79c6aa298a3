//! The model's operations over any [`ObjectStore`] (the in-process `Registry` or orch-api's
//! HTTP client): each key is a `Lease`, its value the lease's `spec.holderIdentity`.

use std::sync::Arc;

use async_trait::async_trait;
use orch_core::kinds::Lease;
use orch_core::store::{DeleteOptions, DeleteOutcome, ObjectStore, WriteOptions};
use orch_core::{DynamicObject, ObjectMeta, Resource, ResourceType, StoreError};

use super::model::{Input, OpKind, Output};
use super::workload::{Indefinite, ModelStore};

/// An [`ObjectStore`] seen as the register-per-key model: key `k` is the Lease `k` in one
/// namespace (so keys must be valid object names), its value the holder identity.
///
/// | model | object store |
/// |---|---|
/// | get | `get`; `NotFound` is no value |
/// | create | `create`; `AlreadyExists` is "not applied" |
/// | update | `update` without a resourceVersion; `NotFound` is "not applied" |
/// | compare-and-swap | `get`, then `update` carrying the resourceVersion read; a value other than the expected one, `Conflict` or `NotFound` is "not applied" |
/// | delete | `delete`; `NotFound` is "not applied" |
///
/// Puts (create-or-update in one step) have no counterpart and are not issued. A `Conflict` on
/// an update without a resourceVersion (the store gave up among concurrent writers) changed
/// nothing: [`Output::Failed`]. `Unavailable`, `Timeout`, `Internal` and `TooManyRequests` are
/// unknown outcomes.
///
/// ```no_run
/// use std::sync::Arc;
/// use orch_store::testkit::linearizability::{ObjectModelStore, Workload, run_workload};
/// # #[tokio::main] async fn main() {
/// let registry = orch_store::Registry::in_memory().await.unwrap();
/// let store = Arc::new(ObjectModelStore::new(Arc::new(registry), "default"));
/// let (history, _stats) = run_workload(store, &Workload::default()).await;
/// # }
/// ```
pub struct ObjectModelStore {
    store: Arc<dyn ObjectStore>,
    namespace: String,
}

impl ObjectModelStore {
    /// The model over `store`, its Leases in `namespace`.
    pub fn new(store: Arc<dyn ObjectStore>, namespace: impl Into<String>) -> Self {
        ObjectModelStore { store, namespace: namespace.into() }
    }

    fn lease(&self, name: &str, holder: &str, resource_version: Option<String>) -> Result<DynamicObject, Indefinite> {
        let mut lease = Lease { metadata: ObjectMeta::named(name), ..Lease::default() };
        lease.metadata.namespace = Some(self.namespace.clone());
        lease.metadata.resource_version = resource_version;
        lease.spec.holder_identity = Some(holder.to_owned());
        DynamicObject::from_typed(&lease).map_err(|e| Indefinite(format!("encoding a lease: {e}")))
    }

    async fn get(&self, rt: &ResourceType, key: &str) -> Result<Option<DynamicObject>, Indefinite> {
        match self.store.get(rt, Some(&self.namespace), key).await {
            Ok(obj) => Ok(Some(obj)),
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(indefinite(e)),
        }
    }
}

fn holder(obj: &DynamicObject) -> Option<String> {
    obj.field_str("spec.holderIdentity")
}

fn indefinite(e: StoreError) -> Indefinite {
    Indefinite(e.to_string())
}

/// A conditional write's answer: applied, not applied (the store's definite refusals), or unknown.
fn applied<T>(result: Result<T, StoreError>, refusal: impl Fn(&StoreError) -> bool) -> Result<Output, Indefinite> {
    match result {
        Ok(_) => Ok(Output::Applied(true)),
        Err(e) if refusal(&e) => Ok(Output::Applied(false)),
        Err(e) => Err(indefinite(e)),
    }
}

#[async_trait]
impl ModelStore for ObjectModelStore {
    async fn apply(&self, key: &str, input: &Input) -> Result<Output, Indefinite> {
        let rt = Lease::resource_type();
        let opts = WriteOptions::default();
        match input {
            Input::Get => Ok(Output::Value(self.get(&rt, key).await?.as_ref().and_then(holder))),
            Input::Put(_) => Err(Indefinite("an object store has no put".into())),
            Input::Create(v) => {
                let result = self.store.create(&rt, self.lease(key, v, None)?, &opts).await;
                applied(result, |e| matches!(e, StoreError::AlreadyExists { .. }))
            }
            Input::Update(v) => match self.store.update(&rt, self.lease(key, v, None)?, &opts).await {
                Err(StoreError::Conflict { .. }) => Ok(Output::Failed),
                result => applied(result, |e| matches!(e, StoreError::NotFound { .. })),
            },
            Input::Cas { expected, new } => {
                let Some(current) = self.get(&rt, key).await? else { return Ok(Output::Applied(false)) };
                if holder(&current).as_ref() != Some(expected) {
                    return Ok(Output::Applied(false));
                }
                let lease = self.lease(key, new, current.metadata.resource_version.clone())?;
                let result = self.store.update(&rt, lease, &opts).await;
                applied(result, |e| matches!(e, StoreError::Conflict { .. } | StoreError::NotFound { .. }))
            }
            Input::Delete => {
                match self.store.delete(&rt, Some(&self.namespace), key, &DeleteOptions::default()).await {
                    Ok(DeleteOutcome::Deleted(_)) => Ok(Output::Applied(true)),
                    Ok(DeleteOutcome::Pending(_)) => Err(Indefinite("deletion is pending".into())),
                    Err(StoreError::NotFound { .. }) => Ok(Output::Applied(false)),
                    Err(e) => Err(indefinite(e)),
                }
            }
        }
    }

    fn supports(&self, kind: OpKind) -> bool {
        kind != OpKind::Put
    }
}
