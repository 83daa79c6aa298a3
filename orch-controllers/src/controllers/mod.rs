//! The built-in controllers, each a [`Reconciler`](crate::Reconciler) with a pure planning step.

pub mod address_pool;
pub mod deployment;
pub mod endpoints;
pub mod expectations;
pub mod garbage_collector;
pub mod gc_kind;
pub mod load_balancer;
pub mod namespace;
pub mod node_ipam;
pub mod node_lifecycle;
pub mod pod_ranking;
pub mod replica_counts;
pub mod replica_set;
pub mod rollout;
