//! orch-api (under construction).
