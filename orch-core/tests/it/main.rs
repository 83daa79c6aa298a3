//! Integration tests of orch-core: manifests of every built-in kind, round trips, and bad input.

mod manifest_errors;
mod round_trip;
