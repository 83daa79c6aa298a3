//! orch-tests: the test harness for users' own controllers and plugins (what envtest is for
//! Kubernetes, without binaries), and the cross-crate and end-to-end tests of orch.
//!
//! [`ControlPlane::start`] gives an in-process control plane with the real store semantics (the
//! `Registry` over the in-memory store), the built-in controllers and the scheduler; add
//! simulated nodes with [`ControlPlane::add_fake_nodes`] and an API server on loopback with
//! [`ControlPlane::serve_api`]; [`wait_for`] polls a condition. Leave out the built-in
//! controllers or scheduler to test your own in their place ([`ControlPlaneConfig`]).
//!
//! [`sim`] runs a whole cluster deterministically from a seed, with faults and invariant checks.

mod control_plane;
#[path = "sim/mod.rs"]
pub mod sim;
mod wait;

pub use control_plane::{ControlPlane, ControlPlaneConfig, HarnessError};
pub use wait::{WaitError, wait_for};
