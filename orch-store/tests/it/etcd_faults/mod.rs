//! `EtcdKv` under injected faults on real etcd processes (Debian's etcd-server, installed by
//! scripts/setup), all on 127.0.0.1:
//!
//! - a single etcd SIGKILLed under concurrent writes and restarted on the same data directory
//!   and ports: calls during the outage fail with `Unavailable` or `Timeout` within the request
//!   timeout, the same `EtcdKv` works again afterwards, every acknowledged write is there, and a
//!   watch opened before the outage ends with a clear error from which a resume (what a
//!   reflector does) sees every later change exactly once, in order;
//! - a three-member cluster under concurrent get / put / compare-and-swap / delete clients whose
//!   history is checked for linearizability, while the leader is killed (work goes on after the
//!   election), then a second member (no quorum: calls fail, never answer wrongly), then both
//!   come back (calls succeed again).
//!
//! One trial of each by default; `ORCH_ETCD_FAULT_TRIALS` raises the count (each trial starts
//! fresh etcd processes). Each test prints one JSON line of figures (run with `--nocapture`);
//! RELIABILITY.md holds the full-count ones.

mod cluster;
mod restart;

use std::time::Duration;

use orch_store::etcd::EtcdKvConfig;
use orch_store::kv::KvError;

/// Every `EtcdKv` here gives up on a call after this long.
pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// How much later than the request timeout a failed call may return on a busy machine (the
/// bound proves "no hang", it is not a latency target).
pub(super) const SLACK: Duration = Duration::from_secs(3);

pub(super) fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

pub(super) fn trials() -> u64 {
    env_or("ORCH_ETCD_FAULT_TRIALS", 1)
}

/// Runs a blocking test-kit call (starting, killing or restarting etcd) off the runtime.
pub(super) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

pub(super) fn config(prefix: &str) -> EtcdKvConfig {
    EtcdKvConfig::default()
        .with_key_prefix(prefix.to_owned())
        .with_dial_timeout(REQUEST_TIMEOUT)
        .with_request_timeout(REQUEST_TIMEOUT)
}

/// Whether a failure is one a caller can act on under a fault: the store is unavailable, or the
/// call's outcome is unknown (timeout).
pub(super) fn is_fault_error(e: &KvError) -> bool {
    matches!(e, KvError::Unavailable { .. } | KvError::Timeout { .. })
}
