//! orch-api: the API server (Kubernetes' REST conventions over an orch-store `Registry`), the
//! HTTP client that implements orch-core's object-store contract, and the `orchctl` CLI.

pub mod client;
pub mod path;
pub mod query;
pub mod server;
