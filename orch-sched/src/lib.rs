//! orch-sched (under construction).
