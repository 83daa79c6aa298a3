//! `AgentError`: why a node agent could not start.

use crate::runtime::RuntimeError;
use orch_core::StoreError;

/// An error starting a [`NodeAgent`](super::NodeAgent).
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The control plane refused or failed a call.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The container runtime failed.
    #[error("runtime: {0}")]
    Runtime(#[from] RuntimeError),
    /// The configuration is unusable.
    #[error("invalid agent config: {field}: {reason}")]
    Config {
        /// The field at fault.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The log endpoint could not listen.
    #[error("log endpoint cannot listen on {addr}: {reason}")]
    Listen {
        /// Address asked for.
        addr: String,
        /// The operating system's reason.
        reason: String,
    },
}
