//! Shared helpers for the orch examples.
