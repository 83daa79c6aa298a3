//! A linearizability checker for key-value stores, and concurrent workloads that record the
//! histories it checks.
//!
//! Linearizability is what etcd promises and what orch's backends must keep: every operation
//! appears to take effect at one instant between its call and its answer. To test a store,
//! run concurrent clients against it while recording each call and answer in a [`History`],
//! then [`check`] the history: a Wing–Gong search with memoisation of (linearized set, state),
//! one key at a time, after porcupine. Calls that timed out have an unknown outcome: they may
//! take effect at any point after their call, or never.
//!
//! The pieces:
//! - [`model`]'s [`Input`]/[`Output`] and [`step`]: a register per key with get, put, create,
//!   update, compare-and-swap and delete;
//! - [`History`]: the recorder (a logical clock orders calls and answers exactly);
//! - [`check`]: the search, with a [`CheckReport`] naming any key without a linearization;
//! - [`run_workload`]: concurrent clients over any [`ModelStore`], with injected client
//!   timeouts that abandon the call while it keeps running; [`run_workload_until`] runs them
//!   alongside a schedule of faults (a killed etcd member, say) until it is done;
//! - [`KvModelStore`] and [`ObjectModelStore`]: the model over any `KvStore` (MemKv, DurableKv,
//!   EtcdKv, your own) and over any `ObjectStore` (the `Registry`, the HTTP client);
//! - [`check_trials`]: a series of seeded trials, each checked, with summed [`TrialFigures`].
//!
//! # Example: checking your own backend
//! ```
//! use std::sync::Arc;
//! use orch_store::mem::MemKv;
//! use orch_store::testkit::linearizability::{CheckConfig, KvModelStore, Workload, check, run_workload};
//! # #[tokio::main] async fn main() {
//! let kv = Arc::new(MemKv::new()); // your KvStore here
//! let workload = Workload::default().clients(4).ops_per_client(100).keys(3).seed(42);
//! let (history, stats) = run_workload(Arc::new(KvModelStore::new(kv, "lin/")), &workload).await;
//! let report = check(&history.operations(), &CheckConfig::default());
//! assert!(report.is_linearizable(), "{}", report.violations[0]);
//! println!("{} operations, {} writes applied, {} timeouts", stats.operations, stats.writes_applied, stats.injected_timeouts);
//! # }
//! ```

mod checker;
mod history;
mod kv_client;
pub mod model;
mod object_client;
mod trials;
mod workload;

pub use checker::{CheckConfig, CheckReport, Violation, check};
pub use history::{History, Operation, Pending};
pub use kv_client::KvModelStore;
pub use model::{Input, OpKind, Output, State, step};
pub use object_client::ObjectModelStore;
pub use trials::{TrialFigures, check_trials};
pub use workload::{Indefinite, ModelStore, Workload, WorkloadStats, run_workload, run_workload_until};
