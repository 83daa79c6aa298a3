//! Cross-crate integration tests (one binary, a module per concern).

mod pod_logs;
mod remote_components;
