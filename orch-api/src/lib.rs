//! # orch-api
//!
//! The API front end of orch: the `orchctl` command-line client ([`cli`]) and the pod-log
//! contract ([`logs`]) that the HTTP client implements. The HTTP server and the HTTP client of
//! the object-store contract live here too.

pub mod cli;
pub mod logs;

pub use cli::{CliError, Connection, Environment, Kubeconfig, ResolvedContext, run, run_with};
pub use logs::{LogParams, PodLogs};
