//! `orchctl`: a kubectl-like command-line client over any [`ObjectStore`](orch_core::ObjectStore).
//!
//! The CLI never opens a connection itself: [`run`] parses the arguments, resolves the
//! kubeconfig context ([`ResolvedContext`]) and hands it to a `connect` function the program
//! supplies, which returns a [`Connection`] (the HTTP client in the `orchctl` binary, an
//! in-process `Registry` in tests). Everything after that goes through the store contract.
//!
//! ```
//! use std::sync::Arc;
//! use orch_api::{CliError, Connection, ResolvedContext};
//! use orch_core::ObjectStore;
//!
//! // How a binary wires the CLI to its transport.
//! async fn main_with(store: Arc<dyn ObjectStore>) -> i32 {
//!     let connect = move |_ctx: &ResolvedContext| -> Result<Connection, CliError> { Ok(Connection::new(store.clone())) };
//!     let args: Vec<String> = std::env::args().skip(1).collect();
//!     orch_api::run(args, &connect, &mut std::io::stdout(), &mut std::io::stderr()).await
//! }
//! ```

pub mod api_resources;
pub mod apply;
pub mod args;
pub mod config;
pub mod delete;
pub mod describe;
pub mod describe_kinds;
pub mod duration;
pub mod environment;
pub mod errors;
pub mod get;
pub mod get_many;
pub mod kinds;
pub mod kubeconfig;
pub mod manifests;
pub mod output;
pub mod pod_logs;
pub mod printers;
pub mod rollout;
mod run;
pub mod scale;
pub mod session;
pub mod table;

pub use environment::{Environment, Stdin};
pub use errors::CliError;
pub use kubeconfig::{Kubeconfig, ResolvedContext};
pub use run::{Connect, Connection, run, run_with};
