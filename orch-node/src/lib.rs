//! orch-node (under construction).

pub mod proxy;
