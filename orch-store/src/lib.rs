//! orch-store (under construction).
