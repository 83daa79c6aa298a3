//! The MVCC core: an in-memory, single-threaded state machine with etcd v3 semantics (revisions,
//! history, compaction, leases) and no I/O, shared by the embedded backends.
//!
//! `MemKv` wraps [`MvccCore`] in a lock and adds watchers and timers; a durable backend wraps the
//! same core and logs each [`WriteRequest`] before applying it, rebuilding with
//! [`MvccCore::restore`] from a snapshot ([`MvccCore::snapshot`], [`MvccCore::leases`]) and
//! replaying the log.
//!
//! # Memory layout
//! Each version of a key is one [`Arc<[u8]>`](std::sync::Arc) holding key, metadata (varints)
//! and value. The key index is a `BTreeSet` of the latest versions ordered by key; superseded
//! versions of a key sit in a side map only while history keeps them; the revision log (for
//! watch catch-up and compaction) holds the same `Arc`s in revision order. A fresh key thus costs
//! its bytes plus ~40 bytes of index and allocator overhead, and history costs 16 bytes per
//! revision until compaction.

mod change;
mod compaction;
mod config;
mod core;
mod lease;
mod record;
mod write;

#[cfg(test)]
mod tests;

pub use change::{Applied, Change, WriteRequest, WriteResponse};
pub use config::MvccConfig;
pub use core::{ChangeBatch, MvccCore};
pub use lease::LeaseInfo;
