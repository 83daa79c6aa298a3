//! Signals to a container's process group (each container leads its own group).
//!
//! A group is signalled only while its id still belongs to the container: either the leader
//! is the recorded process (same start time), or the leader is gone and the group lives on in
//! the processes it left (the kernel does not hand out a pid that is still some group's id).
//! A leader pid that was reused by an unrelated process is never signalled, and nor are the
//! ids 0 and 1, which `kill(2)` reads as "my group" and "every process".

use rustix::process::{Pid, Signal, kill_process_group};

use super::record::process_start_ticks;

/// Whether the group `pgid` may be signalled as the container whose leader started at
/// `leader_start` (clock ticks since boot; `None` when it was never read).
fn owned(pgid: i32, leader_start: Option<u64>) -> bool {
    if pgid <= 1 {
        return false;
    }
    match (process_start_ticks(pgid), leader_start) {
        // The leader is gone (or a zombie): what is left of the group is the container's.
        (None, _) => true,
        (Some(now), Some(then)) => now == then,
        // A live process with that pid, and nothing to tell whether it is ours.
        (Some(_), None) => false,
    }
}

fn send(pgid: i32, leader_start: Option<u64>, signal: Signal) {
    if !owned(pgid, leader_start) {
        return;
    }
    let Some(pid) = Pid::from_raw(pgid) else { return };
    // ESRCH (the group is gone already) is the expected outcome of a final kill.
    if let Err(e) = kill_process_group(pid, signal)
        && e != rustix::io::Errno::SRCH
    {
        tracing::warn!(pgid, error = %e, "signalling process group failed");
    }
}

/// Asks every process of the group to terminate (SIGTERM).
pub(crate) fn term_group(pgid: i32, leader_start: Option<u64>) {
    send(pgid, leader_start, Signal::TERM);
}

/// Kills every process of the group (SIGKILL).
pub(crate) fn kill_group(pgid: i32, leader_start: Option<u64>) {
    send(pgid, leader_start, Signal::KILL);
}

/// Whether a process with this pid exists (it may be a zombie).
pub fn process_exists(pid: i32) -> bool {
    Pid::from_raw(pid).is_some_and(|p| rustix::process::test_kill_process(p).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_kill_reads_as_my_group_or_everyone_are_never_signalled() {
        assert!(!owned(0, None));
        assert!(!owned(1, None));
        assert!(!owned(-1, Some(1)));
    }

    #[test]
    fn a_live_process_is_signalled_only_when_its_start_time_matches() {
        let me = std::process::id() as i32;
        let start = process_start_ticks(me);
        assert!(start.is_some());
        assert!(owned(me, start), "the recorded process itself");
        assert!(!owned(me, start.map(|t| t + 1)), "a reused pid");
        assert!(!owned(me, None), "a live pid with no recorded start time");
    }
}
