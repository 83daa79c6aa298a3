//! orch-node: the node agent (kubelet) of orch and the container runtimes it drives.
//!
//! - [`runtime`]: the [`ContainerRuntime`](runtime::ContainerRuntime) contract and its
//!   implementations: [`ProcessRuntime`](runtime::ProcessRuntime) (real processes),
//!   [`FakeRuntime`](runtime::FakeRuntime) (scripted, for thousands of simulated nodes).
//! - [`agent`]: the [`NodeAgent`]: node registration and heartbeats, one
//!   worker per pod bound to the node, probes, restart backoff, status, and a log endpoint.
//! - [`probe`]: the pure probe state machine and the probe checks.
//! - [`proxy`]: the service proxy (ClusterIP, NodePort and LoadBalancer addresses to ready
//!   endpoints) behind the [`ProxyBackend`](proxy::ProxyBackend) trait.

pub mod agent;
mod backoff;
pub mod probe;
pub mod proxy;
pub mod runtime;

pub use agent::{AgentConfig, AgentHandle, NodeAgent};
pub use backoff::{
    ANNOTATION_BACKOFF_INITIAL, ANNOTATION_BACKOFF_MAX, ANNOTATION_BACKOFF_RESET, BackoffConfig, CrashBackoff,
};
