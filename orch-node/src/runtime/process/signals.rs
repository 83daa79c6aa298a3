//! Signals to a container's process group (each container leads its own group).

use rustix::process::{Pid, Signal, kill_process_group};

fn send(pgid: i32, signal: Signal) {
    let Some(pid) = Pid::from_raw(pgid) else { return };
    // ESRCH (the group is gone already) is the expected outcome of a final kill.
    if let Err(e) = kill_process_group(pid, signal)
        && e != rustix::io::Errno::SRCH
    {
        tracing::warn!(pgid, error = %e, "signalling process group failed");
    }
}

/// Asks every process of the group to terminate (SIGTERM).
pub(crate) fn term_group(pgid: i32) {
    send(pgid, Signal::TERM);
}

/// Kills every process of the group (SIGKILL).
pub(crate) fn kill_group(pgid: i32) {
    send(pgid, Signal::KILL);
}

/// Whether a process with this pid exists (it may be a zombie).
pub fn process_exists(pid: i32) -> bool {
    Pid::from_raw(pid).is_some_and(|p| rustix::process::test_kill_process(p).is_ok())
}
