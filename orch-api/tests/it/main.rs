//! orch-api integration tests: the real server on loopback, driven by the HTTP client.

mod contract;
mod python_client;
mod server;
mod support;
