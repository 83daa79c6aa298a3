//! orch-api integration tests (one binary, a module per concern): the real server on loopback
//! driven by the HTTP client, the Python client and orchctl.

mod contract;
mod hostile;
mod kubectl;
mod linearizability;
mod orchctl;
mod orchctl_binary;
mod python_client;
mod server;
mod support;
