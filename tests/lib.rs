//! Shared helpers for the orch cross-crate tests.
