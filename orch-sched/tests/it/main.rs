//! Integration tests of orch-sched: the scheduler against a real in-memory control plane.

mod e2e;
mod framework_semantics;
mod harness;
mod parallel;
mod preemption;
mod property;
