//! orch-store's integration tests: one binary, one module per concern.

#[cfg(feature = "tokio")]
mod durable_bench;
#[cfg(feature = "tokio")]
mod durable_crash;
#[cfg(feature = "tokio")]
mod durable_kv;
#[cfg(all(feature = "etcd", feature = "testkit"))]
mod etcd_faults;
#[cfg(all(feature = "etcd", feature = "testkit"))]
mod etcd_kv;
#[cfg(feature = "testkit")]
mod linearizability;
#[cfg(feature = "testkit")]
mod mem_kv;
#[cfg(feature = "testkit")]
mod registry;
#[cfg(feature = "tokio")]
mod service_alloc;
