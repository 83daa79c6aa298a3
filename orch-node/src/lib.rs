//! orch-node (under construction).
