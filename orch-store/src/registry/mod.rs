//! The object `Registry`: orch-core's `ObjectStore` contract over any `KvStore`.

mod admission;
mod codec;
mod config;
mod core;
mod delete;
mod hub_event;
pub mod keys;
mod object_store;
mod read;
mod service_alloc;
mod service_range;
mod uid;
mod watch;
mod watch_hub;
mod watch_queue;
mod write;

pub use admission::{AdmissionRequest, EvictionGuard, MutatingAdmission, Operation, ValidatingAdmission};
pub use config::RegistryConfig;
pub use core::{Registry, RegistryBuilder};
pub use delete::{FOREGROUND_FINALIZER, ORPHAN_FINALIZER};
pub use service_alloc::{IP_CLAIMS, PORT_CLAIMS};
pub use service_range::ServiceRanges;
pub use uid::UidGenerator;
