//! Cross-crate integration tests (one binary, a module per concern).

mod failures;
mod faults_api_restart;
mod faults_common;
mod faults_node_cutoff;
mod fuzz_corpus;
mod pod_logs;
mod procs;
mod remote_components;
mod rollout;
mod services;
mod sim;
