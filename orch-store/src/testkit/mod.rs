//! Contract test kits that every backend passes (feature `testkit`).
//!
//! - [`object`]: the object-store contract, over any `Arc<dyn ObjectStore>`.
//! - [`kv`]: the KV contract, over any `Arc<dyn KvStore>`.
//! - [`linearizability`]: a checker of recorded histories and the concurrent workloads that
//!   record them, over any `KvStore` or `ObjectStore`.

pub mod etcd_cluster;
mod etcd_process;
pub mod etcd_server;
pub mod kv;
mod kv_lease;
mod kv_range;
mod kv_txn;
mod kv_watch;
pub mod linearizability;
pub mod object;
