//! The etcd backend: [`EtcdKv`], the `KvStore` contract over a real etcd cluster (feature `etcd`).

mod config;
mod convert;
mod error;
mod namespace;
mod retry;
mod store;
mod watch;

pub use config::EtcdKvConfig;
pub use store::EtcdKv;
