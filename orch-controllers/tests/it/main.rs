//! Integration tests of orch-controllers on a ManualClock, a DeterministicExecutor and the in-memory Registry.

mod sim;

mod addresses;
mod deployment;
mod garbage_collector;
mod leader;
mod node_lifecycle;
mod replica_set;
mod runtime;
mod services;
