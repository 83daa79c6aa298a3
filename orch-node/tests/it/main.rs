//! Integration tests of orch-node: the process runtime with real processes, and node agents
//! against the in-memory Registry.

mod agent_crash;
mod agent_fake;
mod agent_process;
mod common;
#[cfg(feature = "docker")]
mod docker_runtime;
mod flaky_store;
mod probes;
mod process_runtime;
mod proxy;
mod watch_faults;
