//! Integration tests of orch-api (one binary: each concern is a module).

mod orchctl;
