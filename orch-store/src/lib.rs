//! # orch-store
//!
//! The cluster's memory, like etcd under Kubernetes: the [`kv::KvStore`] trait with etcd v3
//! semantics (revisions, ranges, transactions, watch, leases, compaction), its backends, and
//! the object `Registry` that implements orch-core's `ObjectStore` contract over any `KvStore`.

pub mod durable;
#[cfg(feature = "etcd")]
pub mod etcd;
pub mod kv;
pub mod mem;
pub mod mvcc;
pub mod registry;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use durable::{DurableKv, DurableKvConfig};
#[cfg(feature = "etcd")]
pub use etcd::{EtcdKv, EtcdKvConfig};
pub use kv::{KvError, KvStore};
pub use mem::{MemKv, MemKvConfig};
pub use registry::{Registry, RegistryConfig};
