//! Admission: mutating then validating plugins that see every write before it is stored.

use async_trait::async_trait;
use orch_core::{DynamicObject, ResourceType, StoreError};

/// What a write does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// A create.
    Create,
    /// An update, patch, status write or binding.
    Update,
    /// A delete.
    Delete,
}

/// One write as admission plugins see it.
#[derive(Clone, Copy, Debug)]
pub struct AdmissionRequest<'a> {
    /// The kind written.
    pub resource: &'a ResourceType,
    /// What the write does.
    pub operation: Operation,
    /// The stored object before the write (updates and deletes).
    pub old: Option<&'a DynamicObject>,
    /// Whether the write is a dry run.
    pub dry_run: bool,
}

/// A plugin that may change an object before it is validated and stored (defaults, labels,
/// injected sidecars). Plugins run in registration order.
///
/// ```
/// use orch_store::registry::{AdmissionRequest, MutatingAdmission};
/// use orch_core::{DynamicObject, StoreError};
///
/// /// Labels every object with the team that owns the cluster.
/// struct TeamLabel;
/// impl MutatingAdmission for TeamLabel {
///     fn name(&self) -> &str { "TeamLabel" }
///     fn admit(&self, _req: &AdmissionRequest<'_>, obj: &mut DynamicObject) -> Result<(), StoreError> {
///         obj.metadata.labels.entry("team".into()).or_insert_with(|| "platform".into());
///         Ok(())
///     }
/// }
/// ```
pub trait MutatingAdmission: Send + Sync {
    /// The plugin's name, for errors and logs.
    fn name(&self) -> &str;
    /// Changes `obj` in place, or refuses the write.
    ///
    /// # Errors
    /// Any `StoreError` (typically `Forbidden` or `Invalid`) refuses the write; nothing is stored.
    fn admit(&self, req: &AdmissionRequest<'_>, obj: &mut DynamicObject) -> Result<(), StoreError>;
}

/// A plugin that accepts or refuses an object after mutation and schema validation.
///
/// ```
/// use orch_store::registry::{AdmissionRequest, ValidatingAdmission};
/// use orch_core::{DynamicObject, StoreError};
///
/// /// Refuses objects in the namespace `frozen`.
/// struct Frozen;
/// #[async_trait::async_trait]
/// impl ValidatingAdmission for Frozen {
///     fn name(&self) -> &str { "Frozen" }
///     async fn validate(&self, _req: &AdmissionRequest<'_>, obj: &DynamicObject) -> Result<(), StoreError> {
///         if obj.namespace() == "frozen" {
///             return Err(StoreError::Forbidden { message: "namespace frozen is read-only".into() });
///         }
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait ValidatingAdmission: Send + Sync {
    /// The plugin's name, for errors and logs.
    fn name(&self) -> &str;
    /// Accepts or refuses `obj`.
    ///
    /// # Errors
    /// Any `StoreError` refuses the write; nothing is stored.
    async fn validate(&self, req: &AdmissionRequest<'_>, obj: &DynamicObject) -> Result<(), StoreError>;
}

/// Decides whether a pod may be evicted (the hook where disruption budgets plug in).
///
/// ```
/// use orch_store::registry::EvictionGuard;
/// use orch_core::{DynamicObject, StoreError};
///
/// /// Never evicts pods labelled `critical=true`.
/// struct KeepCritical;
/// #[async_trait::async_trait]
/// impl EvictionGuard for KeepCritical {
///     async fn check(&self, pod: &DynamicObject) -> Result<(), StoreError> {
///         if pod.metadata.labels.get("critical").map(String::as_str) == Some("true") {
///             return Err(StoreError::TooManyRequests { message: "critical pod".into(), retry_after_seconds: None });
///         }
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait EvictionGuard: Send + Sync {
    /// `Ok` to allow the eviction.
    ///
    /// # Errors
    /// `TooManyRequests` when a budget forbids it now.
    async fn check(&self, pod: &DynamicObject) -> Result<(), StoreError>;
}

#[allow(dead_code)]
fn _object_safe(_: &dyn MutatingAdmission, _: &dyn ValidatingAdmission, _: &dyn EvictionGuard) {}
