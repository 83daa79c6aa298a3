//! `MemKv`: the in-memory `KvStore` (the default backend) with its watcher hub, lease expiry and
//! automatic compaction.

mod compactor;
mod config;
mod hub;
mod store;
mod stream;
mod tasks;
mod watch_index;

pub use config::MemKvConfig;
pub use store::{MemKv, MemKvStats};
