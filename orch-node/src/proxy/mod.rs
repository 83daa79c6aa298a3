//! The service proxy (kube-proxy): Services and Endpoints in, L4 forwarding out.
//!
//! - [`desired_rules`]: the pure decision, a Service and its Endpoints → [`ServicePortRule`]s
//!   (frontends: ClusterIP, NodePort on every node address, load-balancer ingress; backends:
//!   the ready endpoints with their resolved ports).
//! - [`ProxyBackend`]: the data-path contract, programmed one service port at a time;
//!   [`UserspaceBackend`] implements it on tokio (round-robin or ClientIP affinity, splice(2)
//!   for bulk TCP, per-client UDP flows, a bound on file descriptors).
//! - [`ServiceProxy`]: watches both kinds through the `ObjectStore` contract and drives the
//!   backend; [`ProxyMetrics`] counts per service port.
//!
//! Needs no root: the service, node and load-balancer ranges all lie in 127.0.0.0/8.

mod backend;
mod balancer;
mod config;
mod desired;
mod error;
mod metrics;
mod pump;
mod rules;
mod service_proxy;
mod sync;
mod tcp;
mod udp;
mod userspace;
mod watcher;
mod workers;

pub use backend::ProxyBackend;
pub use config::ProxyConfig;
pub use desired::{RuleContext, desired_rules, plan_changes};
pub use error::ProxyError;
pub use metrics::{ProxyMetrics, ServiceCounters};
pub use rules::{Affinity, DEFAULT_AFFINITY_TIMEOUT, Protocol, ServicePortKey, ServicePortRule};
pub use service_proxy::{ProxyHandle, ServiceProxy};
pub use userspace::UserspaceBackend;
