//! orch-controllers (under construction).
