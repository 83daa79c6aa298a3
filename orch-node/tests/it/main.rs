//! Integration tests of orch-node.

mod proxy;
