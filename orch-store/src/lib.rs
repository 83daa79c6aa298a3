//! # orch-store
//!
//! The cluster's memory, like etcd under Kubernetes: the [`kv::KvStore`] trait with etcd v3
//! semantics (revisions, ranges, transactions, watch, leases, compaction), its backends, and
//! the object `Registry` that implements orch-core's `ObjectStore` contract over any `KvStore`.

pub mod kv;
pub mod registry;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use kv::{KvError, KvStore};
pub use registry::{Registry, RegistryConfig};
