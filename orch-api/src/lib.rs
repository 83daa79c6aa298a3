//! orch-api: the API server (Kubernetes' REST conventions over an orch-store `Registry`), the
//! HTTP client that implements orch-core's object-store contract and pod logs, and the `orchctl`
//! command-line client.

pub mod cli;
pub mod client;
pub mod logs;
pub mod path;
pub mod query;
pub mod server;

pub use cli::{CliError, Connection, Environment, Kubeconfig, ResolvedContext, run, run_with};
pub use logs::{LogParams, PodLogs};
