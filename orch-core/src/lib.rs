//! # orch-core
//!
//! The ground every orch block stands on: the object model, quantities, selectors,
//! validation, manifests, patches, and the object-store contract that every component
//! (scheduler, controllers, node agent, proxy) uses to talk to the control plane.
//!
//! Where to start:
//! - [`kinds`] holds the built-in kinds (`Pod`, `Deployment`, `Service`, ...), shaped like
//!   Kubernetes' own so real manifests parse; [`resource!`](macro@resource) makes your own struct a kind.
//! - [`manifest`] parses YAML or JSON manifests into [`DynamicObject`]s or typed kinds.
//! - [`ObjectStore`] is the contract (create/get/list/update/patch/delete/bind/evict/watch)
//!   and [`Api`] its typed facade; orch-store's `Registry` and orch-api's HTTP client
//!   implement it.
//! - [`Clock`] and [`Spawn`] keep the logic crates free of any async runtime; the `tokio`
//!   feature (on by default) adds [`SystemClock`] and [`TokioSpawn`].

pub mod dynamic;
pub mod kind_registry;
pub mod kinds;
pub mod manifest;
pub mod meta;
pub mod patch;
pub mod quantity;
pub mod resource;
pub mod runtime;
pub mod selector;
pub mod store;
pub mod time;
pub mod validation;

pub use dynamic::DynamicObject;
pub use kind_registry::{KindInfo, KindRegistry, KindRegistryError};
pub use manifest::ManifestError;
pub use meta::{ObjectMeta, ObjectRef, OwnerReference, TypeMeta};
pub use patch::{Patch, PatchError};
pub use quantity::{ParsedQuantity, Quantity, QuantityError, QuantityFormat};
pub use resource::{Resource, ResourceType, Scope};
pub use runtime::{Clock, DeterministicExecutor, ManualClock, Spawn};
#[cfg(feature = "tokio")]
pub use runtime::{SystemClock, TokioSpawn};
pub use selector::field::{FieldSelector, FieldSelectorError};
pub use selector::label::{LabelSelector, LabelSelectorError, LabelSelectorRequirement, Selector};
pub use store::error::StoreError;
pub use store::{Api, ObjectStore, WatchEvent};
pub use time::{Timestamp, TimestampError};
pub use validation::field_error::{FieldError, FieldErrorKind, FieldErrors, FieldPath};
pub use validation::kinds::validate_pod_spec;
pub use validation::names::{NameRule, validate_object_meta};
