//! Probes: a pure state machine per probe ([`ProbeState`]) and the I/O that takes one result.

mod check;
mod state;

pub use check::{ProbeTarget, run_probe};
pub use state::{ProbeState, ProbeTiming};
